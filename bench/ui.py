"""The touch UI's figures (issue 12, "Responsive"): start-up, frame time while decoding, tap to response.

* start-up: from the process start (taken by this parent just before it starts the child) to the
  first frame drawn with the attract screen showing; median of ``--runs`` runs;
* frame time on the pay screen while the REAL decoder (zxing) decodes, in the scanner's own thread, a
  stream of images from kiosk/samples (payment codes) at the camera's 15 fps: the gaps between Kivy
  clock ticks, median and p95, frames drawn a second and what each redraw costs; then "back to
  cart" tapped there ``--taps`` times, by a finger landing at a random moment. In one run, in turns:
  with the preview at its old fixed 10 frames a second (before) and at the rate it now chooses
  from what its redraws cost (``kiosk.ui.present.preview_interval``), ``--pairs`` times each;
* tap to visible response: a touch (Kivy's input, as a finger; timed from its release, on which
  buttons act) to the first frame drawn (``Window.on_flip``) showing the response; median and p95
  over ``--taps`` taps, for "start" on the attract screen (the cart screen's fade has begun, and
  the fade is over) and for a product tile on the cart (its badge and its cart line show the new
  quantity). Each tap waits for the screen to settle first (the ScreenManager drops touches during
  a transition) and every wait is bounded.

The UI runs on the test controller (tests/ui/fake_controller.py), with the real scanner feeding the
preview. Nothing asserts: it prints. Needs a display; without one it runs itself under xvfb-run.

    .venv/bin/python bench/ui.py [--runs 5] [--taps 20] [--frames 300] [--pairs 2]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


#: the most clock ticks a tap waits for its response, or for the screen to settle, before the run fails
TAP_FRAMES_MAX = 600


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
            elif mode.startswith("frames"):
                if mode == "frames_fixed":  # the preview before issue 12's fix: always 10 a second
                    from kiosk.ui import pay_screen

                    pay_screen.preview_interval = lambda _redraw_s: 0.1
                start_camera()
            else:
                tap_loop()

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
        since = [0.0]
        drawn = [0]
        redraws: list[float] = []
        from kivy.core.window import Window

        def flipped(*_a: Any) -> None:
            drawn[0] += 1

        Window.bind(on_flip=flipped)

        def frame(_dt: float) -> bool:
            now = time.perf_counter()
            if app.sm.current == "pay" and not app.sm.transition.is_active:
                if last[0]:
                    gaps.append((now - last[0]) * 1000)
                else:
                    since[0], drawn[0] = now, 0
                last[0] = now
                pay = app.sm.current_screen
                if pay.redraw_s and (not redraws or redraws[-1] != pay.redraw_s[-1]):
                    redraws.append(pay.redraw_s[-1])
            if len(gaps) >= frames:
                assert scanner is not None
                stats = scanner.stats()
                # the raw samples: the parent pools them over the runs of each variant
                out.update(
                    gaps_ms=gaps,
                    drawn=drawn[0],
                    seconds=now - since[0],
                    redraws_ms=[r * 1000 for r in redraws],
                    decoded=stats.frames_decoded,
                    decode_ms_median=stats.decode_ms_median,
                )
                Window.unbind(on_flip=flipped)
                pay_taps()
                return False
            return True

        Clock.schedule_interval(frame, 0)

    def pay_taps() -> None:
        """ "Back to cart" on the pay screen while the preview and the decoder run, ``taps`` times.

        A finger lands whenever it likes, possibly while a redraw is being swapped: the touch is
        stamped by a timer thread at a random moment and handed to the UI thread through the clock
        (as Kivy's input would be at its next loop), so waiting for a redraw in progress counts.
        """
        from kivy.core.window import Window

        times: list[float] = []
        pending: list[float] = []  # the touch's moment, while its response is awaited
        state = {"ticks": 0, "step": "tap"}
        rng = random.Random(12)

        def press(_dt: float) -> None:
            button = next(w for w in app.sm.current_screen.walk() if type(w).__name__ == "DangerButton")
            x, y = button.to_window(*button.center)
            touch = UnitTestTouch(x, y)
            touch.touch_down()
            touch.touch_up()

        def land() -> None:
            pending.append(time.perf_counter())
            Clock.schedule_once(press, 0)

        def flipped(*_a: Any) -> None:
            if pending and app.sm.current == "cart":
                times.append((time.perf_counter() - pending.pop()) * 1000)

        def step(_dt: float) -> bool:
            state["ticks"] += 1
            if state["ticks"] > TAP_FRAMES_MAX:
                out["tap_error"] = (
                    f"pay screen: no response within {TAP_FRAMES_MAX} clock ticks ({state['step']})"
                )
            elif len(times) >= taps:
                out.update(pay_taps_ms=times)
            elif pending or state["step"] == "landing":
                if not pending and state["step"] == "landing" and app.sm.current == "cart":
                    state["ticks"], state["step"] = 0, "back"
                return True
            elif state["step"] == "back" and settled("cart"):
                c.dispatch(PayTapped())
                state["ticks"], state["step"] = 0, "tap"
                return True
            elif state["step"] == "tap" and settled("pay") and app.sm.current_screen.has_frame:
                state["ticks"], state["step"] = 0, "landing"
                threading.Timer(rng.uniform(0.2, 0.6), land).start()
                return True
            else:
                return True
            assert scanner is not None
            scanner.stop()
            Window.unbind(on_flip=flipped)
            done()
            return False

        Window.bind(on_flip=flipped)
        Clock.schedule_interval(step, 0)

    # Taps: a state machine driven by the frames Kivy draws. A tap is made only once the screen has
    # settled (no transition running: the ScreenManager drops every touch during one, which is why a
    # tap at a fixed delay after the last one could land in a fade, hit nothing and wait forever);
    # its response is the first frame drawn (Window.on_flip, after on_draw) in which the awaited
    # change is on screen. Every wait is bounded in frames, so a tap that misses ends the run with a
    # message instead of hanging until the parent cuts it off.
    from kivy.core.window import Window

    results: dict[str, list[float]] = {"start": [], "start_shown": [], "add": []}
    #: what the next frame is awaited for: (figure, condition, started)
    awaiting: list[tuple[str, Any, float]] = []
    #: frames_waited: clock ticks since the last step was taken (the bound)
    state = {"frames_waited": 0, "round": 0, "step": "start"}

    def fail(why: str) -> None:
        out["tap_error"] = why
        done()

    def first_tile() -> Any:
        return next(
            w
            for w in app.sm.get_screen("cart").walk()
            if type(w).__name__ == "ProductTile" and not w.sold_out
        )

    def shown(viewclass: str, sku: str, qty: int) -> bool:
        # RecycleView views are made and reused as the data changes: look for the one drawn now
        cart = app.sm.get_screen("cart")
        return any(type(w).__name__ == viewclass and w.sku == sku and w.qty == qty for w in cart.walk())

    def tile_shows(sku: str, qty: int) -> bool:
        # the tile's badge and the cart's line for it both say the new quantity
        return shown("ProductTile", sku, qty) and shown("CartRow", sku, qty)

    def tap(widget: Any) -> float:
        x, y = widget.to_window(*widget.center)
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        started = time.perf_counter()  # from the release: buttons and tiles act on it
        touch.touch_up()
        return started

    def flipped(*_a: Any) -> None:
        if not awaiting:
            return
        now = time.perf_counter()
        for item in list(awaiting):
            figure, condition, started = item
            if condition():
                results[figure].append((now - started) * 1000)
                awaiting.remove(item)

    def settled(screen: str) -> bool:
        sm = app.sm
        return bool(sm.current == screen and not sm.transition.is_active)

    def step(_dt: float) -> bool:
        sm = app.sm
        if "tap_error" in out:
            return False
        state["frames_waited"] += 1
        if state["frames_waited"] > TAP_FRAMES_MAX:
            why = "no response to the last tap" if awaiting else "the screen did not settle"
            fail(f"{why} within {TAP_FRAMES_MAX} clock ticks (before the {state['step']} step)")
            return False
        if awaiting:
            return True
        if state["step"] == "start" and settled("attract"):
            if state["round"] >= taps:
                for figure, values in results.items():
                    out[f"tap_{figure}_ms_median"] = statistics.median(values)
                    out[f"tap_{figure}_ms_p95"] = _p95(values)
                out["taps"] = taps
                done()
                return False
            button = next(w for w in sm.current_screen.walk() if type(w).__name__ == "PrimaryButton")
            started = tap(button)
            state["frames_waited"], state["step"] = 0, "add"
            awaiting.append(("start", lambda: sm.current == "cart", started))
            awaiting.append(("start_shown", lambda: settled("cart"), started))
        elif state["step"] == "add" and settled("cart"):
            tile = first_tile()
            qty = int(tile.qty) + 1
            started = tap(tile)
            state["frames_waited"], state["step"] = 0, "back"
            sku = tile.sku
            awaiting.append(("add", lambda: tile_shows(sku, qty), started))
        elif state["step"] == "back" and settled("cart"):
            # not measured: the cart's "cancel" asks first, so go back through the controller
            c.dispatch(CancelTapped())
            state["frames_waited"], state["step"] = 0, "start"
            state["round"] += 1
        return True

    def tap_loop() -> None:
        Window.bind(on_flip=flipped)
        Clock.schedule_interval(step, 0)

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
    parser.add_argument("--pairs", type=int, default=2, help="runs of the pay screen, before and after each")
    parser.add_argument("--child", choices=("startup", "frames", "frames_fixed", "taps"))
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
            if out:  # a failed run said why on stderr
                startups.append((out["attract_at"] - started) * 1000)
        # before and after in the same run: the preview at its old fixed 10 frames a second, and at
        # the rate it now chooses from what its redraws cost (kiosk.ui.present.preview_interval),
        # taken in turns (ABAB...) so a change in the machine's load falls on both
        runs: dict[str, list[dict[str, Any]]] = {"frames_fixed": [], "frames": []}
        for _ in range(args.pairs):
            for mode, results in runs.items():
                results.append(run_child(mode, args, Path(home))[1])
        _, taps = run_child("taps", args, Path(home))
    if startups:
        print(
            f"start-up to the attract screen: median {statistics.median(startups):.0f} ms "
            f"over {len(startups)} runs"
        )
    else:
        print("start-up to the attract screen: not measured (every run failed)")
    failed = False
    for label, mode in (
        ("the preview at a fixed 10 fps (before)", "frames_fixed"),
        ("the preview's rate from its redraws' cost (after)", "frames"),
    ):
        done = [r for r in runs[mode] if r and "tap_error" not in r]
        for r in runs[mode]:
            if not r or "tap_error" in r:
                failed = True
                print(f"pay screen, {label}: a run failed ({r.get('tap_error', 'see above')})")
        if not done:
            continue
        gaps = [g for r in done for g in r["gaps_ms"]]
        redraws = [g for r in done for g in r["redraws_ms"]]
        drawn_per_s = sum(r["drawn"] for r in done) / sum(r["seconds"] for r in done)
        redraw_ms = statistics.median(redraws) if redraws else 0.0
        pay_taps = [t for r in done for t in r["pay_taps_ms"]]
        print(
            f"pay screen while decoding, {label}, {len(done)} runs: clock ticks median "
            f"{statistics.median(gaps):.1f} ms, p95 {_p95(gaps):.1f} ms; {drawn_per_s:.1f} frames drawn a "
            f"second, {redraw_ms:.0f} ms each (UI thread {drawn_per_s * redraw_ms / 10:.0f} % drawing); "
            f"{sum(r['decoded'] for r in done)} camera frames decoded, "
            f"{statistics.median(r['decode_ms_median'] for r in done):.1f} ms each"
        )
        print(
            f'  tap "back to cart" there (a finger landing at a random moment) to the first frame of the '
            f"cart screen: median {statistics.median(pay_taps):.0f} ms, p95 {_p95(pay_taps):.0f} ms "
            f"over {len(pay_taps)} taps"
        )
    # every figure measured, or the bench fails (make bench stops on it): a silent gap is no figure
    failed = failed or not startups
    if not taps or "tap_error" in taps:
        print(
            f"tap to visible response: not measured ({taps.get('tap_error', 'the tap run did not finish')})"
        )
        return 1
    for figure, what in (
        ("start", '"start" on the attract screen to the first frame of the cart screen (fade begun)'),
        ("start_shown", '"start" to the first frame with the cart screen fully shown (fade over)'),
        ("add", "a product tile on the cart to the first frame with its badge and cart line"),
    ):
        print(
            f"tap to visible response, {what}: median {taps[f'tap_{figure}_ms_median']:.0f} ms, "
            f"p95 {taps[f'tap_{figure}_ms_p95']:.0f} ms over {taps['taps']} taps"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
