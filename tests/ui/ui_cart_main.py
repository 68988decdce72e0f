"""Child-process entry point of the cart screen's UI tests: the real KioskApp, the FakeController,
and a customer's fingers (touch events through Kivy's input, as in ``ui_maint_main.py``, whose
runner this reuses).

Run as ``python tests/ui/ui_cart_main.py OUT_DIR --script reset|fit|cancel|empty
[--width W --height H]`` with ``KIVY_NO_ARGS=1``, ``KIVY_HOME`` and a ``DISPLAY`` (Xvfb). Prints one
JSON line: what the script observed (``obs``) and a failure, if any.

A drag is pressed and moved past Kivy's scroll distance in one step (no frame in between), so the
ScrollView takes it as a scroll however slow the machine is; a mouse wheel is a ``MouseMotionEvent``
with a ``scroll*`` button, pressed and released at once, as Kivy's mouse provider sends it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fake_controller import FakeController
from ui_maint_main import (
    QUIET_FRAMES,
    SCRIPT_LIMIT_S,
    Do,
    Fingers,
    Frames,
    Shot,
    Step,
    Tap,
    Until,
    run_script,
)

from kiosk.core import checkout as co
from kiosk.core.checkout import Phase
from kiosk.settings import KioskSection, UiSection
from kiosk.ui.kivy_config import configure_kivy

_wheel_ids = iter(range(1000, 2000))


def cart_screen(f: Fingers) -> Any:
    return f.app.sm.get_screen("cart")


def _named(viewclass: Any) -> str:
    return viewclass if isinstance(viewclass, str) else str(getattr(viewclass, "__name__", ""))


def _recycle_view(f: Fingers, viewclass: str) -> Any:
    # by name: kv's factory loads kivy.uix.recycleview as a second module object, so isinstance fails
    return next(
        w
        for w in cart_screen(f).walk(restrict=True)
        if type(w).__name__ == "RecycleView" and _named(w.viewclass) == viewclass
    )


def grid(f: Fingers) -> Any:
    return _recycle_view(f, "ProductTile")


def cart_list(f: Fingers) -> Any:
    return _recycle_view(f, "CartRow")


def tabs(f: Fingers) -> list[Any]:
    from kiosk.ui.widgets import CategoryTab

    return [w for w in cart_screen(f).walk(restrict=True) if isinstance(w, CategoryTab)]


def tab_bar(f: Fingers) -> Any:
    from kivy.uix.scrollview import ScrollView

    w = tabs(f)[0]
    while not isinstance(w, ScrollView):
        w = w.parent
    return w


def tab(f: Fingers, code: str) -> Any:
    found = next((w for w in tabs(f) if w.code == code), None)
    return found if found is not None and f.visible(found) else None


def button(f: Fingers, *texts: str) -> Any:
    """The enabled, visible button on the current screen whose text is one of ``texts``."""
    from kiosk.ui.widgets import KButton

    for w in f.screen.walk(restrict=True):
        if (
            isinstance(w, KButton)
            and w.text in texts
            and not w.disabled
            and w.opacity > 0
            and w.get_root_window() is not None
            and f.visible(w)
        ):
            return w
    return None


def pay_button(f: Fingers) -> Any:
    from kiosk.ui.widgets import PrimaryButton

    return next(
        (w for w in cart_screen(f).walk(restrict=True) if isinstance(w, PrimaryButton) and not w.disabled),
        None,
    )


def cancel_button(f: Fingers) -> Any:
    from kiosk.ui.widgets import DangerButton

    return next((w for w in cart_screen(f).walk(restrict=True) if isinstance(w, DangerButton)), None)


def first_tile(f: Fingers) -> Any:
    from kiosk.ui.widgets import ProductTile

    tiles = [w for w in grid(f).walk(restrict=True) if isinstance(w, ProductTile) and w.sku]
    return next((w for w in tiles if f.visible(w)), None)


def drag(w: Any, dx: float, dy: float) -> Any:
    """Press on ``w`` and move by (dx, dy) at once: returns the touch, still down."""
    from kivy.tests.common import UnitTestTouch

    x, y = w.to_window(*w.center)
    touch = UnitTestTouch(x, y)
    touch.touch_down()
    for i in range(1, 6):
        touch.touch_move(x + dx * i / 5, y + dy * i / 5)
    return touch


def wheel(w: Any, button_name: str) -> None:
    """One notch of a mouse wheel over ``w``, as Kivy's mouse provider sends it (down, then up)."""
    from kivy.base import EventLoop
    from kivy.input.providers.mouse import MouseMotionEvent

    win = EventLoop.window
    x, y = w.to_window(*w.center)
    args = [x / (win.width - 1.0), y / (win.height - 1.0), button_name]
    touch = MouseMotionEvent("mouse", next(_wheel_ids), args, is_touch=True, type_id="touch")
    EventLoop.post_dispatch_input("begin", touch)
    EventLoop.post_dispatch_input("end", touch)


def grid_state(f: Fingers) -> dict[str, Any]:
    """The grid's scroll position, and whether the catalog's first tile is drawn with its top showing."""
    g = grid(f)
    sku0 = f.app.vm.product_tiles[0]["sku"] if f.app.vm.product_tiles else ""
    shown = [w for w in g.layout_manager.children if getattr(w, "sku", "") == sku0]
    top_visible = False
    if shown:
        w = shown[0]
        _, top = w.to_window(w.x, w.top)
        _, gy = g.to_window(g.x, g.y)
        top_visible = gy <= top <= gy + g.height + 0.5
    return {"scroll_y": round(float(g.scroll_y), 3), "first_row_visible": top_visible}


def tab_state(f: Fingers) -> dict[str, Any]:
    bar = tab_bar(f)
    first = tabs(f)[0]
    x0, _ = first.to_window(first.x, first.y)
    bx, _ = bar.to_window(bar.x, bar.y)
    return {
        "scroll_x": round(float(bar.scroll_x), 3),
        "selected": [w.code for w in tabs(f) if w.selected],
        "category": f.app.vm.category,
        "first_tab_left_in_bar": x0 >= bx - 0.5,
    }


def reset(f: Fingers, c: FakeController, obs: dict[str, Any], _clock: list[float]) -> Iterator[Step]:
    """The first customer scrolls the grid and pays; the second one finds the grid at its first row,
    scrolls the tab bar, picks the last category and walks away; the third finds the first tab."""
    held: list[Any] = []
    yield Until(lambda: f.showing("attract"), "attract")
    yield Tap(lambda: tuple(f.app.sm.get_screen("attract").center), "start")
    yield Until(lambda: f.showing("cart"), "cart")
    yield Do(lambda: obs.__setitem__("fresh_grid", grid_state(f)), "note")
    yield Do(lambda: obs.__setitem__("fresh_tabs", tab_state(f)), "note")
    # scroll the grid down with a finger, buy the first product shown, pay, finish
    yield Do(lambda: held.append(drag(grid(f), 0, 220)), "drag the grid up")
    yield Frames(2, "frames")
    yield Do(lambda: held.pop().touch_up(), "lift")
    yield Until(lambda: grid(f).scroll_y < 0.9, "grid scrolled")
    yield Until(lambda: not grid(f).effect_y.velocity, "grid at rest")
    yield Do(lambda: obs.__setitem__("used_grid", grid_state(f)), "note")
    yield Tap(lambda: first_tile(f), "a product")
    yield Until(lambda: c.state.cart.item_count == 1, "in the cart")
    yield Tap(lambda: pay_button(f), "pay")
    yield Until(lambda: f.showing("pay"), "pay screen")
    yield Do(lambda: c.hold_up_sample("wechat_ok"), "hold up a code")
    yield Until(lambda: f.showing("done"), "done")
    yield Tap(lambda: button(f, "完成", "Done"), "done button")
    yield Until(lambda: f.showing("attract"), "attract again")
    # the second customer
    yield Tap(lambda: tuple(f.app.sm.get_screen("attract").center), "start again")
    yield Until(lambda: f.showing("cart"), "cart again")
    yield Frames(QUIET_FRAMES, "frames")
    yield Do(lambda: obs.__setitem__("next_grid", grid_state(f)), "note")
    yield Shot("cart_next")
    # scroll the tab bar with a finger to its end, and pick the last category
    yield Do(lambda: held.append(drag(tabs(f)[1], -400, 0)), "drag the tab bar left")
    yield Frames(2, "frames")
    yield Do(lambda: held.pop().touch_up(), "lift")
    yield Until(lambda: tab_bar(f).scroll_x > 0.1, "tab bar scrolled")
    yield Until(lambda: not tab_bar(f).effect_x.velocity, "tab bar at rest")
    last = f.app.vm.categories[-1] if f.app.vm.categories else "daily"
    yield Tap(lambda: tab(f, last), "last category")
    yield Until(lambda: f.app.vm.category == last, "category picked")
    yield Do(lambda: obs.__setitem__("used_tabs", tab_state(f)), "note")
    yield Shot("cart_used_tabs")
    yield Do(lambda: c.dispatch(co.TimedOut()), "walks away: the idle timer")
    yield Until(lambda: f.showing("attract"), "attract a third time")
    # the third customer
    yield Tap(lambda: tuple(f.app.sm.get_screen("attract").center), "start a third time")
    yield Until(lambda: f.showing("cart"), "cart a third time")
    yield Frames(QUIET_FRAMES, "frames")
    yield Do(lambda: obs.__setitem__("third_tabs", tab_state(f)), "note")
    yield Do(lambda: obs.__setitem__("third_first_tab_fits", _tab_fit(f)[0]), "note")
    yield Shot("cart_third")
    # the third customer flings the tab bar past its end and leaves at once, and the fourth starts
    # while the bar still springs back from that end: the spring must not carry the new customer's
    # bar back there (seen on a busy machine, once in twelve runs, before the reset stopped it)
    yield Do(lambda: held.append(drag(tabs(f)[1], -400, 0)), "fling the tab bar past its end")
    yield Frames(2, "frames")

    def leave_and_next() -> None:
        held.pop().touch_up()
        obs["fourth_spring"] = round(float(tab_bar(f).effect_x.overscroll), 2)
        c.dispatch(co.TimedOut())
        c.dispatch(co.StartTapped())

    yield Do(leave_and_next, "lift, walk away, the next customer at once")
    yield Until(lambda: f.showing("cart"), "cart a fourth time")
    yield Frames(QUIET_FRAMES, "frames")
    yield Do(lambda: obs.__setitem__("fourth_tabs", tab_state(f)), "note")


def fit(f: Fingers, c: FakeController, obs: dict[str, Any], _clock: list[float]) -> Iterator[Step]:
    """Every category tab's label fits inside it (one line, not clipped), in both languages; the
    tab bar scrolls with the mouse wheel when the tabs do not fit."""
    yield Until(lambda: f.showing("attract"), "attract")
    yield Tap(lambda: tuple(f.app.sm.get_screen("attract").center), "start")
    yield Until(lambda: f.showing("cart"), "cart")
    for lang in ("zh_CN", "en"):
        yield Do(lambda lang=lang: f.app.vm.set_language(lang), lang)
        yield Frames(QUIET_FRAMES, "frames")
        yield Do(lambda lang=lang: obs.__setitem__(f"tabs_{lang}", _tab_fit(f)), "note")
        yield Do(lambda lang=lang: obs.__setitem__(f"first_row_{lang}", grid_state(f)), "note")
        yield Shot(f"tabs_{lang}")
    # the wheel: each notch moves the bar, both the vertical wheel and a horizontal (tilt) wheel
    yield Do(lambda: obs.__setitem__("bar_overflows", _overflows(f)), "note")
    yield Do(lambda: setattr(tab_bar(f), "scroll_x", 0), "bar to the start")
    yield Frames(2, "frames")
    yield Do(lambda: wheel(tab_bar(f), "scrollup"), "wheel down (Kivy: scrollup)")
    yield Frames(QUIET_FRAMES, "frames")
    yield Do(lambda: obs.__setitem__("after_wheel_down", round(float(tab_bar(f).scroll_x), 3)), "note")
    yield Do(lambda: wheel(tab_bar(f), "scrolldown"), "wheel up (Kivy: scrolldown)")
    yield Frames(QUIET_FRAMES, "frames")
    yield Do(lambda: obs.__setitem__("after_wheel_up", round(float(tab_bar(f).scroll_x), 3)), "note")
    yield Do(lambda: wheel(tab_bar(f), "scrollleft"), "tilt wheel")
    yield Frames(QUIET_FRAMES, "frames")
    yield Do(lambda: obs.__setitem__("after_tilt", round(float(tab_bar(f).scroll_x), 3)), "note")
    for _ in range(30):
        yield Do(lambda: wheel(tab_bar(f), "scrollup"), "wheel down")
    yield Frames(QUIET_FRAMES, "frames")
    yield Do(lambda: obs.__setitem__("after_many", round(float(tab_bar(f).scroll_x), 3)), "note")
    yield Do(lambda: obs.__setitem__("last_tab_visible", f.visible(tabs(f)[-1])), "note")


def _overflows(f: Fingers) -> bool:
    bar = tab_bar(f)
    return bool(bar.children[0].width > bar.width)


def _tab_fit(f: Fingers) -> list[dict[str, Any]]:
    """Per tab: its text, its size and the size its text needs on one line (measured unconstrained)."""
    from kivy.core.text import Label as CoreLabel

    rows = []
    for w in tabs(f):
        core = CoreLabel(text=w.text, font_size=w.font_size, bold=True, font_name=w.font_name)
        core.refresh()
        need_w, need_h = core.texture.size
        rows.append(
            {
                "text": w.text,
                "width": round(w.width, 1),
                "height": round(w.height, 1),
                "need": [need_w, need_h],
                "texture": list(w.texture_size),
                "fits": bool(need_w <= w.width - 8 and need_h <= w.height and w.texture_size[1] <= w.height)
                and w.texture_size[0] >= need_w - 1,
            }
        )
    return rows


def cancel(f: Fingers, c: FakeController, obs: dict[str, Any], _clock: list[float]) -> Iterator[Step]:
    """Cancel asks first; keep keeps the cart; empty empties it and goes back to the start."""
    yield Until(lambda: f.showing("attract"), "attract")
    yield Tap(lambda: tuple(f.app.sm.get_screen("attract").center), "start")
    yield Until(lambda: f.showing("cart"), "cart")
    yield Tap(lambda: first_tile(f), "a product")
    yield Until(lambda: c.state.cart.item_count == 1, "in the cart")
    yield Do(lambda: obs.__setitem__("gap_cancel_pay_px", _gap(cancel_button(f), pay_button(f))), "note")
    yield Tap(lambda: cancel_button(f), "cancel")
    yield Frames(QUIET_FRAMES, "frames")
    yield Do(lambda: obs.__setitem__("after_cancel", [c.state.phase.value, c.state.cart.item_count]), "note")
    yield Do(lambda: obs.__setitem__("question_zh", _question(f)), "note")
    yield Shot("confirm_zh")
    yield Do(lambda: f.app.vm.set_language("en"), "english")
    yield Frames(QUIET_FRAMES, "frames")
    yield Do(lambda: obs.__setitem__("question_en", _question(f)), "note")
    yield Shot("confirm_en")
    # while asking, the cart underneath takes no touch
    yield Tap(lambda: tuple(pay_button(f).to_window(*pay_button(f).center)), "pay, under the question")
    yield Frames(QUIET_FRAMES, "frames")
    yield Do(lambda: obs.__setitem__("phase_after_pay_under", c.state.phase.value), "note")
    yield Tap(lambda: button(f, "Keep shopping"), "keep")
    yield Frames(QUIET_FRAMES, "frames")
    yield Do(lambda: obs.__setitem__("after_keep", [c.state.phase.value, c.state.cart.item_count]), "note")
    yield Do(lambda: obs.__setitem__("question_after_keep", _question(f)), "note")
    yield Tap(lambda: cancel_button(f), "cancel again")
    yield Tap(lambda: button(f, "Empty cart"), "empty")
    yield Until(lambda: f.showing("attract"), "attract")
    yield Do(lambda: obs.__setitem__("after_empty", [c.state.phase.value, c.state.cart.item_count]), "note")
    # an empty cart has nothing to lose: cancel goes straight back
    yield Tap(lambda: tuple(f.app.sm.get_screen("attract").center), "start")
    yield Until(lambda: f.showing("cart"), "cart")
    yield Do(lambda: obs.__setitem__("question_on_fresh_cart", _question(f)), "note")
    yield Tap(lambda: cancel_button(f), "cancel an empty cart")
    yield Until(lambda: f.showing("attract"), "attract")
    yield Do(lambda: obs.__setitem__("after_empty_cancel", c.state.phase.value), "note")


def _gap(a: Any, b: Any) -> float:
    ax, _ = a.to_window(a.x, a.y)
    bx, by = b.to_window(b.x, b.y)
    _, ay = a.to_window(a.x, a.y)
    dx = max(0.0, bx - (ax + a.width), ax - (bx + b.width))
    dy = max(0.0, by - (ay + a.height), ay - (by + b.height))
    return round(max(dx, dy), 1)


def _question(f: Fingers) -> str:
    """The confirm question's text, when it is on screen ("" otherwise)."""
    ids = cart_screen(f).ids
    overlay = ids.get("confirm")
    if overlay is None or not overlay.shown:
        return ""
    return str(ids.question.text)


def empty(f: Fingers, c: FakeController, obs: dict[str, Any], _clock: list[float]) -> Iterator[Step]:
    """No products: the attract screen says so, and no touch starts a sale."""
    from kivy.uix.label import Label

    def texts() -> list[str]:
        return [w.text for w in f.app.sm.get_screen("attract").walk(restrict=True) if isinstance(w, Label)]

    yield Until(lambda: f.showing("attract"), "attract")
    yield Frames(QUIET_FRAMES, "frames")
    yield Do(lambda: obs.__setitem__("texts_zh", texts()), "note")
    yield Shot("empty_zh")
    yield Tap(lambda: tuple(f.app.sm.get_screen("attract").center), "tap the middle")
    yield Tap(lambda: (f.app.sm.get_screen("attract").center_x, 40), "tap near the bottom")
    yield Frames(QUIET_FRAMES, "frames")
    yield Do(lambda: obs.__setitem__("phase_after_taps", [c.state.phase.value, f.app.sm.current]), "note")
    yield Do(lambda: f.app.vm.set_language("en"), "english")
    yield Frames(QUIET_FRAMES, "frames")
    yield Do(lambda: obs.__setitem__("texts_en", texts()), "note")
    yield Shot("empty_en")
    # products arrive (a sync): the next tap starts a sale
    yield Do(lambda: setattr(c, "_catalog", list(_full_catalog())), "the catalog arrives")
    yield Tap(lambda: tuple(f.app.sm.get_screen("attract").center), "tap again")
    yield Until(lambda: c.state.phase is Phase.CART, "a sale started")


def _full_catalog() -> Any:
    from fake_controller import CATALOG

    return CATALOG


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--script", choices=("reset", "fit", "cancel", "empty"), required=True)
    parser.add_argument("--width", type=int, default=800)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--timeout", type=float, default=SCRIPT_LIMIT_S)
    args = parser.parse_args()
    ui = UiSection(fullscreen=False, width=args.width, height=args.height)
    configure_kivy(ui, fullscreen=False)
    from kiosk.ui.app import KioskApp

    controller = (
        FakeController(answer_delay_s=0.05, catalog=())
        if args.script == "empty"
        else FakeController(answer_delay_s=0.05)
    )
    app = KioskApp(
        controller, ui, fullscreen=False, kiosk_settings=KioskSection(store_name="便利店 Corner Shop")
    )
    obs: dict[str, Any] = {}
    clock = [1000.0]
    script = {"reset": reset, "fit": fit, "cancel": cancel, "empty": empty}[args.script]
    return run_script(
        app,
        args.out,
        args.timeout,
        lambda f: script(f, controller, obs, clock),
        clock=clock,
        report=lambda: {"obs": obs},
    )


if __name__ == "__main__":
    sys.exit(main())
