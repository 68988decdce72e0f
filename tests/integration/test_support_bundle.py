"""The support bundle holds what support needs and none of the kiosk's secrets; it reaches a USB
folder 0600 or a real HQ on 127.0.0.1, which keeps it 0600 after checking its digest. Store backups
go to HQ the same way."""

from __future__ import annotations

import io
import json
import stat
import tarfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from hq_fixtures import LiveHq, running_hq, sqlite_url
from kiosk_enrolment import enrol_kiosk

from kiosk.bootstrap import build_hq_client
from kiosk.core.cart import Cart, Product
from kiosk.maintenance.backup import BackupError
from kiosk.maintenance.bundle import BundleSources, build_bundle, write_bundle
from kiosk.maintenance.upload import backup_to_hq, upload_to_hq
from kiosk.settings import Settings, load_settings
from kiosk.store.db import open_store
from kiosk.store.sales import SaleStore
from kiosk.sync.credentials import load_credentials

KIOSK = "kiosk-001"
NOW = datetime(2026, 12, 2, 3, 0, 0, tzinfo=UTC)
PAYMENT_CODE = "134567890123456789"
WECHAT_KEY = "Zx81QmT4pL0aWc7vRb2nK9sD3fG6hJ5y"
PIN = "482913"
PHONE = "13812345678"


def settings_for(data_dir: Path, hq_url: str) -> Settings:
    return load_settings(
        environ={},
        overrides={
            "kiosk": {"id": KIOSK, "data_dir": str(data_dir), "language": "en"},
            "hq": {"url": hq_url},
            "payments": {
                "gateway": "wechat",
                "wechat": {
                    "gateway_url": "http://127.0.0.1:9",
                    "appid": "wx0000000000000001",
                    "mch_id": "1900000001",
                    "api_key": WECHAT_KEY,
                },
            },
        },
    )


@pytest.fixture
def hq(tmp_path: Path) -> Iterator[LiveHq]:
    with running_hq(sqlite_url(tmp_path / "hq" / "hq.sqlite3")) as live:
        yield live


@pytest.fixture
def kiosk(tmp_path: Path, hq: LiveHq) -> Settings:
    """An enrolled kiosk with a sale, and an audit row and log lines that hold every kind of secret."""
    data = tmp_path / "data"
    data.mkdir()
    enrol_kiosk(hq, data, KIOSK)
    s = settings_for(data, hq.url)
    db = open_store(s.store_path)
    store = SaleStore(db, KIOSK)
    order_id = store.open_order(Cart().add(Product("SKU1", "水", "Water", 300, None, "drink")))
    payment = store.begin_payment(order_id, "wechat", "sim", PAYMENT_CODE)
    store.record_paid(payment.out_trade_no, "T1")
    store.audit("manager", "maintenance_unlock", f"manager PIN {PIN} accepted, callback {PHONE}")
    db.close()
    return s


def secrets_of(s: Settings) -> list[str]:
    creds_secret = load_credentials(s.hq_credentials_path).secret.hex()
    return [PAYMENT_CODE, WECHAT_KEY, PIN, PHONE, creds_secret, creds_secret.upper()]


def sources(s: Settings) -> BundleSources:
    secret = load_credentials(s.hq_credentials_path).secret.hex()
    log = "\n".join(
        [
            f"2026-12-02T02:00:00Z INFO charging code {PAYMENT_CODE} for order K2026120202ABCDEF0001",
            "2026-12-02T02:00:01Z DEBUG Authorization: Kiosk-HMAC-SHA256 kiosk=kiosk-001, ts=1, nonce=n, sig=ab12",
            f"2026-12-02T02:00:02Z DEBUG signing with secret={secret}",
            f"2026-12-02T02:00:03Z DEBUG wechat key {WECHAT_KEY} loaded",
            f"2026-12-02T02:00:04Z INFO staff pin: {PIN}",
            f"2026-12-02T02:00:05Z INFO {secret.upper()} in upper case",
        ]
    )
    doctor = json.dumps({"ok": True, "checks": [{"name": "HQ", "detail": f"secret {secret}"}]})
    return BundleSources(s, "9.9.9", logs=lambda: log, doctor=lambda: doctor)


def unpack(data: bytes) -> dict[str, str]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        out = {}
        for member in tar.getmembers():
            f = tar.extractfile(member)
            assert f is not None
            out[member.name.split("/", 1)[1]] = f.read().decode("utf-8")
        return out


def test_no_seeded_secret_appears_anywhere_in_the_bundle(kiosk: Settings) -> None:
    data = build_bundle(sources(kiosk), NOW)
    files = unpack(data)
    assert set(files) >= {
        "logs.txt",
        "config.json",
        "doctor.json",
        "events.json",
        "outbox.json",
        "versions.json",
    }
    everything = "\n".join(files.values())
    for secret in secrets_of(kiosk):
        assert secret not in everything, secret
        assert secret.encode() not in data  # not in the names or headers of the archive either
    # what support needs is still there
    assert "K2026120202ABCDEF0001" in files["logs.txt"]
    assert "1345**********6789" in files["logs.txt"]
    assert "maintenance_unlock" in files["events.json"]
    assert json.loads(files["config.json"])["payments"]["wechat"]["api_key"] == "[removed]"
    assert json.loads(files["config.json"])["kiosk"]["id"] == KIOSK
    assert json.loads(files["versions.json"])["app"] == "9.9.9"
    counts = json.loads(files["outbox.json"])["counts"]
    assert {"kind": "sale", "state": "pending", "count": 1} in counts


def test_the_bundle_is_written_0600_and_never_over_a_file(kiosk: Settings, tmp_path: Path) -> None:
    usb = tmp_path / "usb"
    usb.mkdir()
    data = build_bundle(sources(kiosk), NOW)
    first = write_bundle(data, usb, KIOSK, NOW)
    second = write_bundle(data, usb, KIOSK, NOW)
    assert first != second
    for path in (first, second):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.read_bytes() == data
    with pytest.raises(BackupError):
        write_bundle(data, tmp_path / "not-mounted", KIOSK, NOW)


def test_a_bundle_uploads_to_hq_and_is_kept_private_there(kiosk: Settings, hq: LiveHq) -> None:
    data = build_bundle(sources(kiosk), NOW)
    client = build_hq_client(kiosk)
    try:
        done = upload_to_hq(client, "bundle", data)
    finally:
        client.close()
    stored = hq.identity_file.parent / "kiosk-uploads" / KIOSK / done.name
    assert stored.read_bytes() == data
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert stat.S_IMODE(stored.parent.stat().st_mode) == 0o700
    assert done.name.startswith("bundle-") and done.name.endswith(".tar.gz")


def test_hq_refuses_an_unsigned_upload_and_a_wrong_digest(kiosk: Settings, hq: LiveHq) -> None:
    url = f"{hq.url}/api/v1/support/bundle"
    unsigned = requests.post(url, data=b"x", headers={"X-Content-SHA256": "0" * 64}, timeout=10)
    assert unsigned.status_code == 401
    session = hq.session(hq.enrol("kiosk-002"))
    wrong = session.post(url, data=b"hello", headers={"X-Content-SHA256": "0" * 64}, timeout=10)
    assert wrong.status_code == 422 and "damaged" in wrong.json()["error"]
    not_hex = session.post(url, data=b"hello", headers={"X-Content-SHA256": "zz"}, timeout=10)
    assert not_hex.status_code == 422
    folder = hq.identity_file.parent / "kiosk-uploads" / "kiosk-002"
    assert not folder.exists() or not any(folder.iterdir())


def test_a_store_backup_uploads_to_hq_verified(kiosk: Settings, hq: LiveHq) -> None:
    client = build_hq_client(kiosk)
    try:
        uploaded, manifest = backup_to_hq(kiosk.store_path, KIOSK, "9.9.9", client)
    finally:
        client.close()
    stored = hq.identity_file.parent / "kiosk-uploads" / KIOSK / uploaded.name
    assert uploaded.sha256 == manifest.sha256 and stored.stat().st_size == manifest.size
    assert manifest.counts.paid == 1 and stored.name.endswith(".sqlite3")


def test_an_unreachable_hq_is_said_in_both_languages(kiosk: Settings, tmp_path: Path) -> None:
    from hq_fixtures import closed_port

    s = settings_for(kiosk.kiosk.data_dir, f"http://127.0.0.1:{closed_port()}")
    creds = json.loads(s.hq_credentials_path.read_text("utf-8"))
    creds["hq_url"] = s.hq.url
    s.hq_credentials_path.write_text(json.dumps(creds), "utf-8")
    client = build_hq_client(s, 2.0)
    try:
        with pytest.raises(BackupError) as caught:
            upload_to_hq(client, "bundle", b"data")
    finally:
        client.close()
    assert "HQ did not take the upload" in caught.value.en and "总部" in caught.value.zh


def test_cli_writes_a_bundle_whose_doctor_report_is_real(kiosk: Settings, tmp_path: Path) -> None:
    """``kiosk support bundle --to DIR`` with the real doctor run in a child process."""
    import argparse

    from kiosk.commands import support

    config = tmp_path / "kiosk.toml"
    config.write_text(
        f'[kiosk]\nid = "{KIOSK}"\ndata_dir = "{kiosk.kiosk.data_dir}"\nlanguage = "en"\n\n'
        f'[hq]\nurl = "{kiosk.hq.url}"\n\n[printer]\ntransport = "none"\n\n[camera]\nsource = "{tmp_path / "none"}"\n'
        f'\n[payments]\ngateway = "wechat"\n\n[payments.wechat]\ngateway_url = "http://127.0.0.1:9"\n'
        f'appid = "wx0000000000000001"\nmch_id = "1900000001"\napi_key = "{WECHAT_KEY}"\n',
        "utf-8",
    )
    config.chmod(0o600)
    usb = tmp_path / "usb"
    usb.mkdir()
    parser = argparse.ArgumentParser()
    support.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["support", "bundle", "--to", str(usb), "--config", str(config)])
    out, err = io.StringIO(), io.StringIO()
    assert support.run(args, out, err) == 0, err.getvalue()
    written = Path(json.loads(out.getvalue())["written"])
    assert "support bundle written" in err.getvalue()
    files = unpack(written.read_bytes())
    doctor = json.loads(files["doctor.json"])
    assert {c["name"] for c in doctor["checks"]} >= {"store", "HQ", "payment gateway"}
    everything = "\n".join(files.values())
    for secret in secrets_of(kiosk):
        assert secret not in everything, secret


def test_hq_refuses_an_upload_over_its_size_limit(hq: LiveHq) -> None:
    """A body that says it is bigger than HQ takes is refused before it is read or stored."""
    from hq.api_support import MAX_UPLOAD_BYTES

    with requests.Session() as session:
        request = requests.Request(
            "POST", f"{hq.url}/api/v1/support/backup", headers={"X-Content-SHA256": "0" * 64}, data=b"x"
        )
        prepared = session.prepare_request(request)
        prepared.headers["Content-Length"] = str(MAX_UPLOAD_BYTES + 1)
        answer = session.send(prepared, timeout=10)
    assert answer.status_code == 413
    assert not (hq.identity_file.parent / "kiosk-uploads").exists()
