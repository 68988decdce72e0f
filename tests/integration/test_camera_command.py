"""``kiosk camera test``: live statistics over a real source, payment codes masked, exit status by frames."""

from __future__ import annotations

import argparse
import io
import json
import shutil
from pathlib import Path

from kiosk.cli import build_parser
from kiosk.commands import camera
from kiosk.samples import SAMPLES_DIR


def args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["camera", "test", *argv])


def test_statistics_lines_with_masked_codes(tmp_path: Path) -> None:
    folder = tmp_path / "view"
    folder.mkdir()
    shutil.copy(SAMPLES_DIR / "wechat_ok.png", folder / "a.png")
    out = io.StringIO()
    assert camera.run(args("--source", str(folder), "--seconds", "1.2", "--json"), out) == 0
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("camera test: source")
    stats = [json.loads(line) for line in lines[1:]]
    assert stats, out.getvalue()
    last = stats[-1]
    assert last["frames_read"] >= 1
    assert last["frames_decoded"] >= 1
    assert last["codes"] == ["Code128 1345**********0000 (wechat)"] or last["codes"] == [
        "QRCode 1345**********0000 (wechat)"
    ]
    assert "134567890123450000" not in out.getvalue()


def test_text_lines_and_backend_choice(tmp_path: Path) -> None:
    folder = tmp_path / "view"
    folder.mkdir()
    shutil.copy(SAMPLES_DIR / "product_4006381333931.png", folder / "a.png")
    out = io.StringIO()
    assert camera.run(args("--source", str(folder), "--seconds", "1.1", "--backend", "pyzbar"), out) == 0
    text = out.getvalue()
    assert "decoder pyzbar" in text
    assert "fps" in text and "decode" in text
    assert "4006381333931 (product)" in text


def test_a_source_that_does_not_exist_is_a_clear_error(tmp_path: Path) -> None:
    out = io.StringIO()
    assert camera.run(args("--source", str(tmp_path / "nothing.avi"), "--seconds", "0.1"), out) == 2


def test_a_camera_without_frames_exits_1_with_advice() -> None:
    out = io.StringIO()
    assert camera.run(args("--source", "97", "--seconds", "0.3"), out) == 1
    assert "no frames from the camera" in out.getvalue()
