"""Product pictures from ``hq catalog image set`` to the kiosk's ``<data_dir>/images``, against the
real HQ on 127.0.0.1 (SQLite and PostgreSQL) and a real kiosk store, client and puller.

GIVEN HQ with the demo catalog and an enrolled kiosk with its own store and pictures folder
WHEN  an admin sets, replaces and removes pictures, and the kiosk pulls the catalog
THEN  the kiosk writes each picture HQ names with HQ's SHA-256, removes only what it fetched,
      keeps files copied in by hand, refuses bytes that do not match, and its catalog sync never
      fails because of a picture.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from hq_fixtures import LiveHq, running_hq
from kiosk_enrolment import enrol_kiosk
from PIL import Image
from sync_helpers import TIMEOUT

from hq.catalog import seed_demo
from hq.cli import main
from hq.db import connected
from hq.models import ProductPicture
from kiosk.store.db import open_store
from kiosk.store.sales import SaleStore
from kiosk.sync.credentials import load_credentials
from kiosk.sync.hq_client import HttpHqClient
from kiosk.sync.pictures import MANIFEST_NAME, HqPictures
from kiosk.sync.pusher import CatalogPuller
from kiosk.sync.signed import HqSigner

KIOSK = "kiosk-pic"
PICTURES = "/api/v1/sync/pictures"


@pytest.fixture
def hq(hq_db_url: str) -> Iterator[LiveHq]:
    with running_hq(hq_db_url) as live:
        with connected():
            seed_demo()
        yield live


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")


def picture(
    kind: str = "PNG", size: tuple[int, int] = (40, 30), colour: tuple[int, int, int] = (200, 30, 30)
) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, kind)
    return out.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def cli(hq: LiveHq, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main([*argv, "--db", hq.db_url])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def set_picture(
    hq: LiveHq, capsys: pytest.CaptureFixture[str], tmp_path: Path, sku: str, data: bytes
) -> None:
    path = tmp_path / f"upload-{sha(data)[:8]}.bin"
    path.write_bytes(data)
    code, out, err = cli(hq, capsys, "catalog", "image", "set", sku, str(path))
    assert code == 0, err
    assert f"set for {sku}" in out


class Kiosk:
    """A kiosk's store, its signed client and its puller with HQ's pictures, in ``data_dir``."""

    def __init__(self, hq: LiveHq, data_dir: Path, **limits: int) -> None:
        creds = load_credentials(enrol_kiosk(hq, data_dir, KIOSK))
        self.client = HttpHqClient(hq.url, HqSigner(creds.kiosk_id, creds.secret), timeout_s=5)
        self.store = SaleStore(open_store(data_dir / "kiosk.sqlite3"), KIOSK)
        self.folder = data_dir / "images"
        self.manifest = data_dir / MANIFEST_NAME
        self.changes = 0
        self.pictures = HqPictures(self.folder, self.manifest, self.client, self._changed, **limits)
        self.puller = CatalogPuller(self.store, self.client, pictures=self.pictures)

    def _changed(self) -> None:
        self.changes += 1

    def pull(self) -> None:
        report = self.puller.pull_once()
        assert report.error == "", report.error

    def files(self) -> dict[str, str]:
        if not self.folder.exists():
            return {}
        return {p.name: sha(p.read_bytes()) for p in sorted(self.folder.iterdir())}

    def close(self) -> None:
        self.client.close()
        self.store.db.close()


@pytest.fixture
def kiosk(hq: LiveHq, tmp_path: Path) -> Iterator[Kiosk]:
    k = Kiosk(hq, tmp_path / "kiosk")
    yield k
    k.close()


def test_a_picture_set_at_hq_reaches_the_kiosk_is_replaced_and_removed(
    hq: LiveHq, kiosk: Kiosk, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    png = picture()
    set_picture(hq, capsys, tmp_path, "D001", png)
    code, out, _ = cli(hq, capsys, "catalog", "image", "list")
    assert code == 0 and out.startswith(f"D001\tD001.png\t40x30\t{len(png)}\t{sha(png)}\t")

    kiosk.pull()
    assert kiosk.files() == {"D001.png": sha(png)}
    assert kiosk.changes == 1
    held = json.loads(kiosk.manifest.read_text())
    assert held["fetched"] == {"D001.png": sha(png)}
    assert held["wanted"]["D001"] == {"name": "D001.png", "sha256": sha(png), "size": len(png)}

    # the same bytes again change nothing at HQ; a pull with nothing new fetches nothing
    code, out, _ = cli(
        hq, capsys, "catalog", "image", "set", "D001", str(tmp_path / f"upload-{sha(png)[:8]}.bin")
    )
    assert code == 0 and "already has this picture" in out
    kiosk.pull()
    assert kiosk.changes == 1

    # a JPEG replaces the PNG: the kiosk writes D001.jpg, then removes the D001.png it fetched
    jpeg = picture("JPEG", (64, 64), (20, 160, 20))
    set_picture(hq, capsys, tmp_path, "D001", jpeg)
    kiosk.pull()
    assert kiosk.files() == {"D001.jpg": sha(jpeg)}

    code, out, err = cli(hq, capsys, "catalog", "image", "rm", "D001")
    assert code == 0 and "removed" in out, err
    kiosk.pull()
    assert kiosk.files() == {}
    assert json.loads(kiosk.manifest.read_text())["fetched"] == {}
    code, _, err = cli(hq, capsys, "catalog", "image", "rm", "D001")
    assert code == 2 and "D001 has no picture" in err


def test_a_file_copied_in_by_hand_is_never_overwritten_or_removed(
    hq: LiveHq,
    kiosk: Kiosk,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    hand = picture(colour=(1, 2, 3))
    kiosk.folder.mkdir(parents=True)
    (kiosk.folder / "D002.png").write_bytes(hand)
    set_picture(hq, capsys, tmp_path, "D002", picture(colour=(9, 9, 9)))
    # a picture the kiosk fetched, then someone replaced by hand
    fetched = picture(colour=(50, 60, 70))
    set_picture(hq, capsys, tmp_path, "D003", fetched)
    with caplog.at_level(logging.WARNING, logger="kiosk.sync.pictures"):
        kiosk.pull()
    assert kiosk.files() == {"D002.png": sha(hand), "D003.png": sha(fetched)}
    assert any("D002.png was put there by hand and is kept" in r.getMessage() for r in caplog.records)
    replaced = picture(colour=(70, 60, 50))
    (kiosk.folder / "D003.png").write_bytes(replaced)

    assert cli(hq, capsys, "catalog", "image", "rm", "D002")[0] == 0
    assert cli(hq, capsys, "catalog", "image", "rm", "D003")[0] == 0
    kiosk.pull()
    assert kiosk.files() == {"D002.png": sha(hand), "D003.png": sha(replaced)}


def test_bytes_that_do_not_match_the_catalog_are_refused_and_the_catalog_still_syncs(
    hq: LiveHq,
    kiosk: Kiosk,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    good = picture(colour=(10, 10, 200))
    set_picture(hq, capsys, tmp_path, "D001", good)
    set_picture(hq, capsys, tmp_path, "D002", picture(colour=(10, 200, 10)))
    # the bytes HQ serves for D002 are no longer those its catalog names (damaged, or replaced on the way)
    with connected():
        ProductPicture.update(data=picture(colour=(66, 66, 66))).where(
            ProductPicture.product == "D002"
        ).execute()
    with caplog.at_level(logging.WARNING, logger="kiosk.sync.pictures"):
        report = kiosk.puller.pull_once()
    assert report.error == "" and report.pulled > 0
    assert kiosk.store.catalog_version() == report.version
    assert kiosk.files() == {"D001.png": sha(good)}
    assert any(
        "picture of D002 refused" in r.getMessage() and "does not match its SHA-256" in r.getMessage()
        for r in caplog.records
    )


def test_a_pass_fetches_a_bounded_number_and_the_rest_follows_without_a_catalog_change(
    hq: LiveHq, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    skus = ("D001", "D002", "D003")
    sent = {sku: picture(colour=(i * 40, 0, 0)) for i, sku in enumerate(skus)}
    for sku, data in sent.items():
        set_picture(hq, capsys, tmp_path, sku, data)
    kiosk = Kiosk(hq, tmp_path / "kiosk", max_count=2)
    try:
        kiosk.pull()
        assert len(kiosk.files()) == 2
        version = kiosk.store.catalog_version()
        kiosk.pull()  # HQ answers 304: the pictures still waiting are fetched all the same
        assert kiosk.store.catalog_version() == version
        assert kiosk.files() == {f"{sku}.png": sha(data) for sku, data in sent.items()}
    finally:
        kiosk.close()


def test_a_kiosk_that_synced_before_it_knew_pictures_asks_for_the_whole_catalog_once(
    hq: LiveHq, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kiosk = Kiosk(hq, tmp_path / "kiosk")
    try:
        older = CatalogPuller(kiosk.store, kiosk.client)  # a release without pictures
        assert older.pull_once().error == ""
        png = picture()
        set_picture(hq, capsys, tmp_path, "D004", png)
        assert older.pull_once().pulled == 1  # the delta named the picture; that release ignored it
        assert not kiosk.manifest.exists()
        kiosk.pull()
        assert kiosk.files() == {"D004.png": sha(png)}
        assert kiosk.manifest.exists()
    finally:
        kiosk.close()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"GIF89a" + b"\0" * 100, "neither a PNG nor a JPEG"),
        (b"", "the picture file is empty"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * (512 * 1024), "at most 512 KB"),
        (None, "at most 2048 on a side"),
    ],
    ids=["gif", "empty", "oversize", "too-many-pixels"],
)
def test_an_upload_that_is_not_a_picture_a_kiosk_would_show_is_refused_with_the_reason(
    hq: LiveHq, tmp_path: Path, capsys: pytest.CaptureFixture[str], data: bytes | None, expected: str
) -> None:
    if data is None:
        data = picture("PNG", (2049, 8))
    path = tmp_path / "upload.png"
    path.write_bytes(data)
    code, out, err = cli(hq, capsys, "catalog", "image", "set", "D001", str(path))
    assert code == 2 and out == ""
    assert err.startswith("picture for D001 not saved: ") and expected in err
    with connected():
        assert ProductPicture.select().count() == 0


def test_an_upload_for_a_product_hq_does_not_have_or_a_missing_file_is_refused(
    hq: LiveHq, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "ok.png"
    path.write_bytes(picture())
    code, _, err = cli(hq, capsys, "catalog", "image", "set", "NOPE1", str(path))
    assert code == 2 and "HQ has no product NOPE1" in err
    code, _, err = cli(hq, capsys, "catalog", "image", "set", "../D001", str(path))
    assert code == 2 and "'../D001' cannot name a picture file" in err
    code, _, err = cli(hq, capsys, "catalog", "image", "set", "D001", str(tmp_path / "missing.png"))
    assert code == 2 and "cannot read" in err and "missing.png" in err
    code, out, _ = cli(hq, capsys, "catalog", "image", "list")
    assert code == 0 and out.strip() == "no product has a picture"


def test_the_picture_endpoint_serves_signed_kiosks_only(
    hq: LiveHq, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    jpeg = picture("JPEG")
    set_picture(hq, capsys, tmp_path, "D001", jpeg)
    unsigned = requests.get(f"{hq.url}{PICTURES}/D001", timeout=TIMEOUT)
    assert unsigned.status_code == 401
    session = hq.session(hq.enrol("k-pic"))
    answer = session.get(f"{hq.url}{PICTURES}/D001", timeout=TIMEOUT)
    assert answer.status_code == 200 and answer.content == jpeg
    assert answer.headers["Content-Type"] == "image/jpeg" and answer.headers["ETag"] == f'"{sha(jpeg)}"'
    missing = session.get(f"{hq.url}{PICTURES}/D002", timeout=TIMEOUT)
    assert missing.status_code == 404 and "D002 has no picture" in missing.json()["error"]
    assert session.get(f"{hq.url}{PICTURES}/..%2Fetc", timeout=TIMEOUT).status_code in (404, 422)
