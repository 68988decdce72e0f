"""``kiosk.sync.pictures.HqPictures`` against a source that plays HQ's answers, and the catalog
check that reads HQ's picture references: the limits of a pass, what it does when HQ goes away or
sends a bad picture, and what it makes of a damaged manifest or half-written files."""

from __future__ import annotations

import hashlib
import io
import json
import logging
from pathlib import Path

import pytest
from PIL import Image

from kiosk.ports import CatalogItem, CatalogUpdate, HqError, PictureRef
from kiosk.sync.hq_client import check_catalog
from kiosk.sync.pictures import HqPictures


def png(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (20, 20), colour).save(out, "PNG")
    return out.getvalue()


def ref(sku: str, data: bytes) -> PictureRef:
    return PictureRef(f"{sku}.png", hashlib.sha256(data).hexdigest(), len(data))


class PlayedHq:
    """Answers ``fetch_picture`` from a dict; an entry may be an HqError to raise instead."""

    def __init__(self, answers: dict[str, bytes | HqError]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    def fetch_picture(self, sku: str, max_bytes: int) -> bytes:
        self.asked.append(sku)
        answer = self.answers[sku]
        if isinstance(answer, HqError):
            raise answer
        return answer


def snapshot(**pictures: bytes) -> CatalogUpdate:
    items = tuple(
        CatalogItem(sku, sku, sku, 100, None, "c", True, ref(sku, data))
        for sku, data in sorted(pictures.items())
    )
    return CatalogUpdate("snapshot", 0, 1, items, {})


def test_a_pass_stays_within_its_byte_budget_and_the_next_pass_takes_the_rest(tmp_path: Path) -> None:
    sent = {sku: png((i, 0, 0)) for i, sku in enumerate(("A1", "B2", "C3"))}
    hq = PlayedHq(dict(sent))
    pics = HqPictures(tmp_path / "images", tmp_path / "m.json", hq, max_bytes=len(sent["A1"]) + 1)
    pics.take(snapshot(**sent))
    first = pics.sync_once()
    assert (first.fetched, first.waiting) == (1, 2)
    assert pics.sync_once().fetched == 1
    assert pics.sync_once().fetched == 1
    assert sorted(p.name for p in (tmp_path / "images").iterdir()) == ["A1.png", "B2.png", "C3.png"]
    assert pics.sync_once() == type(first)()  # nothing left: nothing asked
    assert hq.asked == ["A1", "B2", "C3"]


def test_hq_gone_mid_pass_stops_the_pass_and_a_bad_picture_is_not_asked_for_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    good, bad = png((1, 1, 1)), png((2, 2, 2))
    hq = PlayedHq({"A1": HqError("cannot reach HQ", unreachable=True), "B2": good, "C3": b"not a picture"})
    pics = HqPictures(tmp_path / "images", tmp_path / "m.json", hq)
    pics.take(snapshot(A1=good, B2=good, C3=bad))
    with caplog.at_level(logging.WARNING, logger="kiosk.sync.pictures"):
        first = pics.sync_once()
    assert (first.fetched, first.waiting) == (0, 3)
    assert hq.asked == ["A1"]  # HQ is gone: B2 and C3 wait for the next pass
    hq.answers["A1"] = good
    second = pics.sync_once()
    assert (second.fetched, second.refused) == (2, 1)
    assert any("picture of C3 refused" in r.getMessage() for r in caplog.records)
    pics.sync_once()
    assert hq.asked == ["A1", "A1", "B2", "C3"]  # C3 is not fetched again until HQ's picture changes
    assert not (tmp_path / "images" / "C3.png").exists()


def test_half_written_files_are_tidied_and_a_damaged_manifest_removes_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "images"
    data = png((3, 3, 3))
    pics = HqPictures(folder, tmp_path / "m.json", PlayedHq({"A1": data}))
    pics.take(snapshot(A1=data))
    pics.sync_once()
    (folder / ".part-A1.png.0123456789ab").write_bytes(b"half")
    (tmp_path / "m.json").write_text("{not json")
    again = HqPictures(folder, tmp_path / "m.json", PlayedHq({}))
    with caplog.at_level(logging.WARNING, logger="kiosk.sync.pictures"):
        assert again.needs_snapshot
    assert any("unreadable" in r.getMessage() for r in caplog.records)
    again.take(CatalogUpdate("snapshot", 0, 2, (), {}))  # HQ no longer names A1
    again.sync_once()
    # without the record of what it fetched, the kiosk cannot tell its file from one copied by hand
    assert sorted(p.name for p in folder.iterdir()) == ["A1.png"]
    assert json.loads((tmp_path / "m.json").read_text())["version"] == 1


def test_a_bad_picture_reference_costs_the_picture_not_the_catalog(caplog: pytest.LogCaptureFixture) -> None:
    def product(sku: str, picture: object) -> dict[str, object]:
        return {
            "sku": sku,
            "name_zh": sku,
            "name_en": sku,
            "price_fen": 100,
            "barcode": None,
            "category": "c",
            "active": True,
            "picture": picture,
        }

    digest = "ab" * 32
    reply = {
        "kind": "snapshot",
        "since": 0,
        "version": 3,
        "products": [
            product("A1", {"name": "A1.png", "sha256": digest, "size": 10}),
            product("B2", {"name": "../B2.png", "sha256": digest, "size": 10}),
            product("C3", {"name": "A1.png", "sha256": digest, "size": 10}),
            product("D4", {"name": "D4.png", "sha256": "nothex", "size": 10}),
            product("E5", None),
        ],
    }
    with caplog.at_level(logging.WARNING, logger="kiosk.sync.hq_client"):
        update = check_catalog(reply)
    assert [item.picture for item in update.products] == [
        PictureRef("A1.png", digest, 10),
        None,
        None,
        None,
        None,
    ]
    assert len([r for r in caplog.records if "picture of" in r.getMessage()]) == 3
