"""The touch UI's figures (issue 12, "Responsive"): start-up, frame time while decoding, tap to response.

* start-up: from the process start (taken by this parent just before it starts the child) to the
  first frame drawn with the attract screen showing; median of ``--runs`` runs;
* frame time on the pay screen while the REAL decoder (zxing) decodes, in the scanner's own thread, a
  stream of images from kiosk/samples (payment codes) at the camera's 15 fps: the gaps between Kivy
  frames, median and p95;
* tap to visible response: a touch on "start" / "back" (Kivy's input, as a finger) to the first frame
  drawn with the new screen showing; median and p95 over ``--taps`` taps.

The UI runs on the test controller (tests/ui/fake_controller.py), with the real scanner feeding the
preview. Nothing asserts: it prints. Needs a display; without one it runs itself under xvfb-run.

    .venv/bin/python bench/ui.py [--runs 5] [--taps 20] [--frames 300]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]


def child(mode: str, frames: int, taps: int) -> None:
    sys.path.insert(0, str(REPO / "tests" / "ui"))
    sys.path.insert(0, str(REPO))
    from fake_controller import FakeController

    from kiosk.settings import KioskSection, UiSection
    from kiosk.ui.kivy_config import configure_kivy

    ui = UiSection(fullscreen=False, width=1024, height=600)
    configure_kivy(ui, fullscreen=False)
    from kivy.clock import Clock
    from kivy.tests.common import UnitTestTouch

    from drivers.camera.decoders import make_decoder
    from drivers.camera.scanner import CameraScanner
    from drivers.camera.sources import ImageFolderSource
    from kiosk.core.checkout import CancelTapped, PayTapped, ProductTapped, StartTapped
    from kiosk.ui.app import KioskApp

    scanner: CameraScanner | None = None

    class CameraController(FakeController):
        def latest_frame(self) -> Any:
            return None if scanner is None else scanner.latest_frame()

    c = CameraController()
    app = KioskApp(c, ui, fullscreen=False, kiosk_settings=KioskSection(store_name="便利店"))
    out: dict[str, Any] = {}

    def done() -> None:
        print(json.dumps(out), flush=True)
        app.stop()

    def first_frame(*_a: Any) -> None:
        def drawn(_dt: float) -> None:
            out["attract_at"] = time.time()
            if mode == "startup":
                done()
            elif mode == "frames":
                start_camera()
            else:
                Clock.schedule_once(lambda _dt: tap_loop([], None), 0.3)

        Clock.schedule_once(drawn, 0)

    def start_camera() -> None:
        nonlocal scanner
        scanner = CameraScanner(
            ImageFolderSource(REPO / "kiosk" / "samples", loop=True),
            make_decoder("zxing"),
            lambda codes: None,
        )
        scanner.start()
        c.dispatch(StartTapped())
        c.dispatch(ProductTapped(c.catalog()[0]))
        c.dispatch(PayTapped())
        gaps: list[float] = []
        last = [0.0]

        def frame(_dt: float) -> bool:
            now = time.perf_counter()
            if app.sm.current == "pay" and not app.sm.transition.is_active:
                if last[0]:
                    gaps.append((now - last[0]) * 1000)
                last[0] = now
            if len(gaps) >= frames:
                assert scanner is not None
                stats = scanner.stats()
                scanner.stop()
                out.update(
                    frame_ms_median=statistics.median(gaps),
                    frame_ms_p95=_p95(gaps),
                    decoded=stats.frames_decoded,
                    decode_ms_median=stats.decode_ms_median,
                )
                done()
                return False
            return True

        Clock.schedule_interval(frame, 0)

    def tap_loop(times: list[float], pending: tuple[str, float] | None) -> None:
        if len(times) >= taps:
            out.update(tap_ms_median=statistics.median(times), tap_ms_p95=_p95(times), taps=len(times))
            done()
            return
        sm = app.sm
        target = "cart" if sm.current == "attract" else "attract"
        if sm.current == "cart":  # the cart's "back" is a question first: go back directly
            c.dispatch(CancelTapped())
            Clock.schedule_once(lambda _dt: tap_loop(times, None), 0.3)
            return
        button = next(w for w in sm.current_screen.walk() if type(w).__name__ == "PrimaryButton")
        x, y = button.to_window(*button.center)
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        started = time.perf_counter()
        touch.touch_up()

        def check(_dt: float) -> bool:
            if sm.current == target:
                times.append((time.perf_counter() - started) * 1000)
                Clock.schedule_once(lambda _dt: tap_loop(times, None), 0.3)
                return False
            return True

        Clock.schedule_interval(check, 0)

    app.bind(on_start=first_frame)
    app.run()


def run_child(mode: str, args: argparse.Namespace, home: Path) -> tuple[float, dict[str, Any]]:
    env = {**os.environ, "KIVY_NO_ARGS": "1", "KIVY_HOME": str(home), "KIVY_NO_CONSOLELOG": "1"}
    cmd = [sys.executable, __file__, "--child", mode, "--frames", str(args.frames), "--taps", str(args.taps)]
    started = time.time()
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, check=False)
    except subprocess.TimeoutExpired:
        return started, {}
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        print(f"bench/ui.py: the {mode} run failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
        return started, {}
    return started, json.loads(lines[-1])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--taps", type=int, default=20)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--child", choices=("startup", "frames", "taps"))
    args = parser.parse_args()
    if args.child:
        child(args.child, args.frames, args.taps)
        return 0
    if not os.environ.get("DISPLAY"):
        xvfb = shutil.which("xvfb-run")
        if xvfb is None:
            print("bench/ui.py: no display and no xvfb-run; install xvfb (make deps does)", file=sys.stderr)
            return 2
        argv = [xvfb, "-a", "-s", "-screen 0 1280x720x24 +extension GLX", sys.executable, __file__]
        return subprocess.call([*argv, *sys.argv[1:]])
    with tempfile.TemporaryDirectory() as home:
        startups = []
        for _ in range(args.runs):
            started, out = run_child("startup", args, Path(home))
            startups.append((out["attract_at"] - started) * 1000)
        _, frames = run_child("frames", args, Path(home))
        _, taps = run_child("taps", args, Path(home))
    print(
        f"start-up to the attract screen: median {statistics.median(startups):.0f} ms over {args.runs} runs"
    )
    print(
        f"frame time on the pay screen while decoding: median {frames['frame_ms_median']:.1f} ms, "
        f"p95 {frames['frame_ms_p95']:.1f} ms ({args.frames} frames; {frames['decoded']} camera frames "
        f"decoded meanwhile, {frames['decode_ms_median']:.0f} ms each)"
    )
    if not taps:
        print("tap to visible response: not measured (the tap run did not finish; see bench/README.md)")
        return 1
    print(
        f"tap to visible response: median {taps['tap_ms_median']:.0f} ms, p95 {taps['tap_ms_p95']:.0f} ms "
        f"over {taps['taps']} taps"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
