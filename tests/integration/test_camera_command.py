"""``kiosk camera test``: live statistics over a real source, payment codes masked, exit status by frames.

The runs end on what the output shows, not after so many seconds: the command's clock stands still
until the line the test waits for has been printed (``UntilShown``).
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from kiosk.cli import build_parser
from kiosk.commands import camera
from kiosk.samples import SAMPLES_DIR
from tests.fakes.camera import BOUND_S


def args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["camera", "test", *argv])


class UntilShown:
    """The command's clock and sleep: its time stands still until ``shown(output)`` holds, then jumps
    past the end of the run. Each pause is a short real one, so the scanner's threads get on; after
    ``BOUND_S`` of them in all the run ends anyway, and the test's assertions say what was missing."""

    POLL_S = 0.05

    def __init__(self, out: io.StringIO, shown: Callable[[str], bool]) -> None:
        self.out = out
        self.shown = shown
        self.now = 0.0
        self.pauses = 0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        if self.shown(self.out.getvalue()) or self.pauses * self.POLL_S >= BOUND_S:
            self.now += 10**6
            return
        self.pauses += 1
        time.sleep(self.POLL_S)  # a poll interval: the run ends on the output, never on this pause

    def run(self, argv: argparse.Namespace) -> int:
        return camera.run(argv, self.out, sleep=self.sleep, clock=self.clock)


def last_json(text: str) -> dict[str, object]:
    lines = [line for line in text.splitlines() if line.startswith("{")]
    return json.loads(lines[-1]) if lines else {}


def test_statistics_lines_with_masked_codes(tmp_path: Path) -> None:
    folder = tmp_path / "view"
    folder.mkdir()
    shutil.copy(SAMPLES_DIR / "wechat_ok.png", folder / "a.png")
    out = io.StringIO()
    run = UntilShown(out, lambda text: bool(last_json(text).get("codes")))
    assert run.run(args("--source", str(folder), "--seconds", "10", "--json")) == 0
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
    run = UntilShown(out, lambda text: "4006381333931 (product)" in text)
    assert run.run(args("--source", str(folder), "--seconds", "10", "--backend", "pyzbar")) == 0
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
