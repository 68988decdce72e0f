"""Child-process entry point of the pay-screen UI tests: the real KioskApp, the FakeController, and a
customer's fingers (touch events through Kivy's input, the runner of ``ui_maint_main``).

Run as ``python tests/ui/ui_pay_main.py OUT_DIR --script password|decline|still|preview [--width W --height H]``
with ``KIVY_NO_ARGS=1``, ``KIVY_HOME`` and a ``DISPLAY`` (Xvfb). Prints one JSON line: what the script
observed (``obs``) and a failure, if any. Time is driven, never waited for: the idle and done timers
read an injected clock, and the password payment is approved when the script opens a gate.
"""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from fake_controller import FakeController
from ui_maint_main import SCRIPT_LIMIT_S, Do, Fingers, Shot, Step, Tap, Until, run_script

from kiosk.core import checkout as co
from kiosk.settings import KioskSection, UiSection
from kiosk.ui.kivy_config import configure_kivy


def _find(f: Fingers, cls: str, text: str | None = None, *, root: Any = None) -> Any:
    """The first enabled widget of class ``cls`` (and ``text``) on the screen showing, or None."""
    for w in (root or f.screen).walk(restrict=True):
        if type(w).__name__ != cls or w.disabled or w.get_root_window() is None:
            continue
        if text is None or w.text == text:
            return w if f.visible(w) else None
    return None


def _sample(f: Fingers, name: str) -> Any:
    """The demo button that holds up the sample code ``name``."""
    for w in f.screen.walk(restrict=True):
        if type(w).__name__ == "SampleButton" and w.sample == name and f.visible(w):
            return w
    return None


def _t(key: str, f: Fingers, **fields: object) -> str:
    from kiosk.i18n import t

    return t(key, f.app.vm.language, **fields)


def to_pay(f: Fingers, c: FakeController, english: bool) -> Iterator[Step]:
    """Start, one product, English if asked, pay: every step a touch on the screen."""
    yield Until(lambda: f.showing("attract"), "attract")
    yield Tap(lambda: _find(f, "PrimaryButton"), "start")
    yield Until(lambda: f.showing("cart"), "cart")
    if english:
        yield Tap(lambda: _find(f, "KButton", "EN"), "english")
        yield Until(lambda: f.app.vm.language == "en", "in English")
    yield Tap(lambda: _find(f, "ProductTile"), "a product")
    yield Until(lambda: c.state.cart.item_count == 1, "in the cart")
    yield Tap(lambda: _find(f, "PrimaryButton", _t("cart.pay", f, total=f.app.vm.total_text)), "pay")
    yield Until(lambda: f.showing("pay") and c.state.order_id is not None, "pay screen")


def _fits(label: Any) -> dict[str, Any]:
    """Whether a label shows all of its text: its texture within its box, no line dropped or shortened."""
    tw, th = label.texture_size
    lines = getattr(label._label, "_cached_lines", [])
    drawn = "".join(word.text for line in lines for word in line.words)
    wanted = "".join(label.text.split())
    return {
        "text": label.text,
        "texture": [tw, th],
        "size": [label.width, label.height],
        "fits": tw <= label.width + 0.5 and th <= label.height + 0.5,
        "whole": "".join(drawn.split()) == wanted,
        "on_screen": label.y >= 0 and label.top <= label.get_root_window().height + 0.5,
    }


def password(f: Fingers, c: FakeController, obs: dict[str, Any], clock: list[float]) -> Iterator[Step]:
    """Password payment: the prompt in both languages while "user paying"; then the done screen fades
    out without ever showing an empty sale."""
    gate = c.password_gate
    assert gate is not None
    yield from to_pay(f, c, english=False)
    yield Tap(lambda: _sample(f, "wechat_password"), "password code")
    yield Until(lambda: c.state.pay_stage is co.PayStage.USER_PAYING, "gateway: user paying")
    yield Until(lambda: f.screen.ids.pay_title.text == _t("pay.enter_password", f), "prompt shown")
    yield Do(
        lambda: obs.__setitem__("zh", [f.screen.ids.pay_title.text, f.screen.ids.pay_body.text]), "note zh"
    )
    yield Shot("pay_password_zh")
    yield Tap(lambda: _find(f, "KButton", "EN"), "english")
    yield Until(
        lambda: f.screen.ids.pay_title.text == "Enter your password on your phone", "prompt in English"
    )
    yield Do(
        lambda: obs.__setitem__("en", [f.screen.ids.pay_title.text, f.screen.ids.pay_body.text]), "note en"
    )
    yield Do(
        lambda: obs.__setitem__("en_fit", [_fits(f.screen.ids.pay_title), _fits(f.screen.ids.pay_body)]),
        "fit",
    )
    yield Shot("pay_password_en")
    yield Do(gate.set, "the customer types the password")
    yield Until(lambda: f.showing("done"), "done screen")
    done = f.app.sm.get_screen("done")
    seen: list[tuple[str, bool]] = []

    def sample(_dt: float) -> bool | None:
        """Every frame of the fade: what the leaving done screen shows."""
        if f.app.sm.current == "done":
            return None
        if f.app.sm.transition.is_active:
            seen.append((done.ids.paid.text, done.has_receipt))
            return None
        return False

    yield Do(lambda: obs.__setitem__("done_before", [done.ids.paid.text, done.has_receipt]), "note done")
    yield Do(lambda: _schedule(sample), "watch the fade")
    yield Do(lambda: _advance(c, clock, c.done_timeout_s + 1), "done timer runs out")
    yield Until(lambda: f.showing("attract"), "attract again")
    yield Do(lambda: obs.__setitem__("fade", seen), "note fade")
    yield Do(lambda: obs.__setitem__("done_after", [done.ids.paid.text, done.has_receipt]), "note after")


def decline(f: Fingers, c: FakeController, obs: dict[str, Any], clock: list[float]) -> Iterator[Step]:
    """A declined payment in English: the notice shows whole, inside its box, on screen."""
    yield from to_pay(f, c, english=True)
    yield Tap(lambda: _sample(f, "wechat_declined"), "declined code")
    yield Until(lambda: c.state.notice is co.Notice.PAYMENT_DECLINED, "declined")
    yield Until(
        lambda: (
            _find(f, "NoticeBar") is not None
            and _find(f, "NoticeBar").text == _t("notice.payment_declined", f)
        ),
        "notice shown",
    )
    yield Shot("pay_declined_en")
    yield Do(lambda: obs.__setitem__("notice", _fits(_find(f, "NoticeBar"))), "measure")


def still(f: Fingers, c: FakeController, obs: dict[str, Any], clock: list[float]) -> Iterator[Step]:
    """The cart asks "still there?", "continue" keeps it, no answer clears it; an unpaid pay screen
    asks too and then cancels its order; a payment in flight is never asked."""
    dialog = f.app.still_there
    yield Until(lambda: f.showing("attract"), "attract")
    yield Tap(lambda: _find(f, "PrimaryButton"), "start")
    yield Until(lambda: f.showing("cart"), "cart")
    yield Tap(lambda: _find(f, "ProductTile"), "a product")
    yield Until(lambda: c.state.cart.item_count == 1, "in the cart")
    yield Do(lambda: _advance(c, clock, c.idle_timeout_s + 1), "a quiet minute")
    yield Until(lambda: dialog.showing, "asked")
    yield Do(
        lambda: obs.__setitem__("cart_question", [dialog.ids.title.text, dialog.ids.countdown.text]), "note"
    )
    yield Shot("still_there_cart")
    yield Tap(lambda: dialog.ids.keep_going, "continue")
    yield Until(lambda: not dialog.showing, "answered")
    yield Do(lambda: obs.__setitem__("kept", [c.state.phase.value, c.state.cart.item_count]), "note kept")
    yield Do(lambda: _advance(c, clock, c.idle_timeout_s + 1), "another quiet minute")
    yield Until(lambda: dialog.showing, "asked again")
    yield Do(lambda: _advance(c, clock, c.still_there_s), "no answer")
    yield Until(lambda: f.showing("attract") and not dialog.showing, "cleared")
    yield Do(
        lambda: obs.__setitem__("cleared", [c.state.phase.value, c.state.cart.item_count]), "note cleared"
    )
    # the pay screen, before any code is shown
    yield from to_pay(f, c, english=True)
    order_id = c.state.order_id
    yield Do(lambda: _advance(c, clock, c.idle_timeout_s + 1), "quiet on the pay screen")
    yield Until(lambda: dialog.showing, "asked on the pay screen")
    yield Do(
        lambda: obs.__setitem__("pay_question", [dialog.ids.title.text, dialog.ids.countdown.text]), "note"
    )
    yield Shot("still_there_pay_en")
    yield Do(lambda: _advance(c, clock, c.still_there_s), "no answer")
    yield Until(lambda: f.showing("attract") and not dialog.showing, "cancelled")
    yield Do(
        lambda: obs.__setitem__(
            "cancelled", any(isinstance(e, co.CancelOrder) and e.order_id == order_id for e in c.effects)
        ),
        "note cancelled",
    )
    # a payment in flight (the phone waits for the password) is never asked
    yield from to_pay(f, c, english=False)
    yield Tap(lambda: _sample(f, "wechat_password"), "password code")
    yield Until(lambda: c.state.pay_stage is co.PayStage.USER_PAYING, "user paying")
    yield Do(lambda: _advance(c, clock, 10 * (c.idle_timeout_s + c.still_there_s)), "a long wait")
    yield Do(
        lambda: obs.__setitem__("in_flight", [c.state.phase.value, c.state.charging, dialog.showing]), "note"
    )
    yield Do(lambda: c.password_gate.set() if c.password_gate else None, "typed")
    yield Until(lambda: f.showing("done"), "paid")


def preview(f: Fingers, c: FakeController, obs: dict[str, Any], clock: list[float]) -> Iterator[Step]:
    """The preview times the redraws it causes and sets its rate from them: slow redraws (software
    GL) slow it to 2 frames a second, fast ones (a GPU) keep it at 10. The costs are put in by the
    script, so nothing depends on how fast this machine draws."""
    yield from to_pay(f, c, english=False)
    pay = f.app.sm.get_screen("pay")
    yield Until(lambda: pay.has_frame and len(pay.redraw_s) >= 2, "redraws timed")
    yield Do(lambda: obs.__setitem__("timed", [s > 0 for s in pay.redraw_s]), "note timed")
    yield from _redraws_cost(pay, obs, "slow", 0.3)
    yield from _redraws_cost(pay, obs, "fast", 0.001)


def _redraws_cost(pay: Any, obs: dict[str, Any], name: str, cost: float) -> Iterator[Step]:
    """Make the last redraws cost ``cost`` seconds each; note the wait chosen at the next frame."""
    shown = [0]

    def costs() -> None:
        pay.redraw_s.extend([cost] * (pay.redraw_s.maxlen or 5))
        shown[0] = pay.frames_shown

    yield Do(costs, f"{name} redraws")
    yield Until(lambda: pay.frames_shown > shown[0], f"a frame after the {name} redraws")
    yield Do(lambda: obs.__setitem__(name, pay.next_frame_s), f"note {name}")


def _advance(c: FakeController, clock: list[float], seconds: float) -> None:
    clock[0] += seconds
    c.tick(clock[0])


def _schedule(fn: Callable[[float], bool | None]) -> None:
    from kivy.clock import Clock

    Clock.schedule_interval(fn, 0)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--script", choices=("password", "decline", "still", "preview"), required=True)
    parser.add_argument("--width", type=int, default=1024)
    parser.add_argument("--height", type=int, default=600)
    parser.add_argument("--timeout", type=float, default=SCRIPT_LIMIT_S)
    args = parser.parse_args()
    ui = UiSection(fullscreen=False, width=args.width, height=args.height)
    configure_kivy(ui, fullscreen=False)
    from kiosk.ui.app import KioskApp

    clock = [1000.0]
    controller = FakeController(
        answer_delay_s=0.05, clock=lambda: clock[0], password_gate=threading.Event(), done_timeout_s=6.0
    )
    app = KioskApp(
        controller, ui, fullscreen=False, kiosk_settings=KioskSection(store_name="便利店 Corner Shop")
    )
    obs: dict[str, Any] = {}
    script = {"password": password, "decline": decline, "still": still, "preview": preview}[args.script]
    return run_script(
        app, args.out, args.timeout, lambda f: script(f, controller, obs, clock), report=lambda: {"obs": obs}
    )


if __name__ == "__main__":
    sys.exit(main())
