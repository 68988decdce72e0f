"""Child-process entry point of the lock-down tests: the real KioskApp in FULL SCREEN under an Xvfb
with no window manager, the FakeController, and a customer (or a prankster) at the keyboard and
the glass: escape keys and multi-finger gestures go through the window's own events, touches
through Kivy's input (``UnitTestTouch``), as a keyboard or touchscreen would deliver them.

Run as ``python tests/ui/ui_lock_main.py OUT_DIR --script fit|keys`` with ``KIVY_HOME`` and a
``DISPLAY`` (Xvfb). ``--hostile`` first writes a Kivy config file that turns on the inspector and
friends and Escape-to-exit, drops ``KIVY_NO_ARGS`` from the environment and puts Kivy options on
``sys.argv``: the kiosk's configuration must win over all of them. Prints one JSON line: what the
script observed (``obs``) and a failure, if any.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fake_controller import FakeController
from ui_maint_main import SCRIPT_LIMIT_S, Do, Fingers, Frames, Runner, Step, Tap, Until

from kiosk.core.checkout import Phase
from kiosk.settings import KioskSection, UiSection
from kiosk.ui.kivy_config import configure_kivy

QUIET_FRAMES = 10

#: what a stray ~/.kivy/config.ini (or a curious technician) could switch on
HOSTILE_CONFIG = """\
[kivy]
exit_on_escape = 1
desktop = 1

[graphics]
fullscreen = 0
width = 640
height = 400
show_cursor = 1

[modules]
inspector =
monitor =
touchring =
screen =
keybinding =
console =
showborder =
"""
#: Kivy's own command line: the inspector and monitor modules, fake full screen, a window size
HOSTILE_ARGV = ["-m", "inspector", "-m", "monitor", "-k", "--size=640x400", "-a"]

#: (label, key code, modifiers): every way out a keyboard offers (SDL key codes as Kivy sees them)
ESCAPE_KEYS: tuple[tuple[str, int, list[str]], ...] = (
    ("esc", 27, []),
    ("f1", 282, []),
    ("ctrl_e", 101, ["ctrl"]),
    ("alt_f4", 285, ["alt"]),
    ("ctrl_q", 113, ["ctrl"]),
    ("ctrl_w", 119, ["ctrl"]),
    ("f11", 292, []),
    ("shift_f11", 292, ["shift"]),
    ("f12", 293, []),
    ("ctrl_p", 112, ["ctrl"]),
    ("android_back", 1001, []),
)


def press(key: int, modifiers: list[str]) -> None:
    """A key as SDL's event loop delivers it: key down, then on_keyboard unless taken, then key up."""
    from kivy.core.window import Window

    codepoint = chr(key) if 32 <= key < 127 else None
    if not Window.dispatch("on_key_down", key, 0, codepoint, modifiers):
        Window.dispatch("on_keyboard", key, 0, codepoint, modifiers)
    Window.dispatch("on_key_up", key, 0)


def window_state(f: Fingers) -> dict[str, Any]:
    """What a way out would change: the running loop, the screen, what sits on the window."""
    from kivy.base import EventLoop
    from kivy.core.window import Window
    from kivy.modules import Modules

    return {
        "loop": EventLoop.status,
        "screen": f.app.sm.current,
        "window_children": [type(w).__name__ for w in Window.children],
        # the app's own: its root and the busy spinner over it; anything else (an inspector, a
        # settings panel, a popup of Kivy's) came from a way out
        "root_alone": [w for w in Window.children if w is not f.app.root and w is not f.app.spinner] == []
        and f.app.root in Window.children,
        "settings_panel": f.app._app_settings is not None,
        "modules_active": sorted(n for n, m in Modules.list().items() if m.get("activated")),
    }


def multi_touch(f: Fingers, fingers: int, obs: dict[str, Any], label: str) -> Iterator[Step]:
    """``fingers`` touches down together in the header, moved together (a pinch or a swipe), lifted."""
    from kivy.core.window import Window
    from kivy.tests.common import UnitTestTouch

    touches: list[Any] = []

    def down() -> None:
        # the header's title, left of the language toggle: nothing there takes a touch
        y = Window.height - 30
        for i in range(fingers):
            t = UnitTestTouch(Window.width * (0.25 + 0.08 * i), y)
            t.touch_down()
            touches.append(t)

    def move(step: int) -> None:
        for i, t in enumerate(touches):
            # fingers spread apart (pinch out) and slide down (a swipe): every gesture at once
            t.touch_move(t.x + (i - fingers / 2) * 20 * step, t.y - 40 * step)

    def up() -> None:
        for t in touches:
            t.touch_up()
        touches.clear()

    yield Do(down, f"{label}: {fingers} fingers down")
    for step in (1, 2, 3):
        yield Do(lambda s=step: move(s), f"{label}: move {step}")
    yield Do(up, f"{label}: lift")
    yield Frames(QUIET_FRAMES, f"{label}: frames after")
    yield Do(lambda: obs.__setitem__(label, window_state(f)), "note")


def keys(f: Fingers, c: FakeController, obs: dict[str, Any]) -> Iterator[Step]:
    from kivy.core.window import Window

    yield Until(lambda: f.showing("attract"), "attract")
    yield Do(lambda: obs.__setitem__("start", window_state(f)), "note")
    yield Do(lambda: obs.__setitem__("window_size", list(Window.size)), "note")
    # on the attract screen, then in the middle of a sale (the screen a prankster would try)
    for where in ("attract", "cart"):
        if where == "cart":
            yield Tap(lambda: _start_button(f), "start")
            yield Until(lambda: f.showing("cart") and c.state.phase is Phase.CART, "cart")
            yield Tap(lambda: _first_tile(f), "a product")
            yield Until(lambda: len(c.state.cart.lines) == 1, "one line")
        for label, key, mods in ESCAPE_KEYS:
            yield Do(lambda k=key, m=mods: press(k, m), f"{where}: {label}")
            yield Frames(QUIET_FRAMES, f"{where}: frames after {label}")
            yield Do(lambda w=where, n=label: obs.__setitem__(f"{w}:{n}", window_state(f)), "note")
        # the window manager's (or SDL's) close request: Alt+F4 with a WM, or SDL_QUIT
        yield Do(
            lambda w=where: obs.__setitem__(
                f"{w}:close_request_refused", bool(Window.dispatch("on_request_close", source="keyboard"))
            ),
            f"{where}: close request",
        )
        yield Frames(QUIET_FRAMES, f"{where}: frames after the close request")
        yield Do(lambda w=where: obs.__setitem__(f"{w}:close_request", window_state(f)), "note")
    yield from multi_touch(f, 2, obs, "cart:two_fingers")
    yield from multi_touch(f, 3, obs, "cart:three_fingers")
    yield Do(lambda: obs.__setitem__("cart_lines_after", len(c.state.cart.lines)), "note")


def fit(f: Fingers, c: FakeController, obs: dict[str, Any], out: Path) -> Iterator[Step]:
    """The window is the screen: what X shows is exactly what Kivy laid out, nothing outside."""
    yield Until(lambda: f.showing("attract"), "attract")
    yield Frames(QUIET_FRAMES, "drawn")
    yield Do(lambda: obs.update(_fit_report(f, out)), "compare the X screen with the layout")


def _fit_report(f: Fingers, out: Path) -> dict[str, Any]:
    from kivy.core.window import Window
    from PIL import Image, ImageChops, ImageGrab

    drawn = f.app.screenshot(out / "drawn.png")
    # what the X server shows: the whole screen, as a photo of the kiosk would
    shown = ImageGrab.grab(xdisplay=os.environ["DISPLAY"]).convert("RGB")
    shown.save(out / "screen.png")
    with Image.open(drawn) as img:
        layout = img.convert("RGB")
    same_size = shown.size == layout.size
    differing = 1.0
    if same_size:
        diff = ImageChops.difference(shown, layout).convert("L").point(lambda v: 255 if v > 24 else 0)
        differing = sum(1 for v in diff.getdata() if v) / (shown.size[0] * shown.size[1])
    outside = []
    for w in f.screen.walk(restrict=True):
        x, y = w.to_window(w.x, w.y)
        if x < -0.5 or y < -0.5 or x + w.width > Window.width + 0.5 or y + w.height > Window.height + 0.5:
            outside.append(f"{type(w).__name__} {getattr(w, 'text', '')!r} at {x:.0f},{y:.0f} {w.size}")
    return {
        "screen_size": list(shown.size),
        "window_size": list(Window.size),
        "drawn_size": list(layout.size),
        "differing_fraction": differing,
        "outside": outside,
    }


def _start_button(f: Fingers) -> Any:
    from kiosk.ui.widgets import PrimaryButton

    for w in f.screen.walk(restrict=True):
        if isinstance(w, PrimaryButton):
            return w
    return None


def _first_tile(f: Fingers) -> Any:
    from kiosk.ui.widgets import ProductTile

    for w in f.screen.walk(restrict=True):
        if isinstance(w, ProductTile) and f.visible(w):
            return w
    return None


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--script", choices=("fit", "keys"), required=True)
    parser.add_argument("--hostile", action="store_true")
    parser.add_argument("--timeout", type=float, default=SCRIPT_LIMIT_S)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.hostile:
        home = Path(os.environ["KIVY_HOME"])
        home.mkdir(parents=True, exist_ok=True)
        (home / "config.ini").write_text(HOSTILE_CONFIG, encoding="utf-8")
        os.environ.pop("KIVY_NO_ARGS", None)
        sys.argv = [sys.argv[0], *HOSTILE_ARGV]
    ui = UiSection(fullscreen=True, width=1024, height=600)
    configure_kivy(ui)
    from kiosk.ui.app import KioskApp

    controller = FakeController(answer_delay_s=0.05)
    app = KioskApp(controller, ui, kiosk_settings=KioskSection(store_name="便利店 Corner Shop"))
    obs: dict[str, Any] = {"argv": sys.argv[1:]}
    f = Fingers(app)
    script = keys(f, controller, obs) if args.script == "keys" else fit(f, controller, obs, args.out)
    runner = Runner(app, script, args.out, args.timeout)
    app.bind(on_start=runner.start)
    app.run()
    print(json.dumps({"failure": runner.failure, "obs": obs, "exit_code": app.exit_code}, ensure_ascii=False))
    return 1 if runner.failure else 0


if __name__ == "__main__":
    sys.exit(main())
