"""Child-process entry point of the promotion and member UI tests: the real KioskApp, the
FakeController with promotions (and, for ``member``, a fake member directory), and a customer's
fingers (touch events, through ``ui_maint_main.run_script``).

Run as ``python tests/ui/ui_promo_main.py OUT_DIR --script discounts|member|member_qr|hidden
[--width W --height H]`` with ``KIVY_NO_ARGS=1``, ``KIVY_HOME`` and a ``DISPLAY`` (Xvfb). Prints one
JSON line: what the script observed (``obs``) and a failure, if any.
"""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from fake_controller import PROMO_NOW, FakeController
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
from kiosk.core.pricing import PromoKind, Promotion
from kiosk.settings import KioskSection, UiSection
from kiosk.ui.kivy_config import configure_kivy
from kiosk_common.codes import member_code
from tests.fakes.members import FakeMemberDirectory

START = datetime(2026, 11, 1, tzinfo=PROMO_NOW.tzinfo)
PROMOTIONS = (
    Promotion(
        "water3",
        PromoKind.MULTI_BUY,
        "农夫山泉 三瓶5元",
        "3 Nongfu waters for ¥5",
        START,
        sku="W550",
        qty=3,
        price_fen=500,
    ),
    Promotion(
        "off1", PromoKind.SPEND_OFF, "满10元减1元", "¥1 off ¥10", START, threshold_fen=1000, off_fen=100
    ),
    # the member price hook (kiosk.core.pricing): shows only once a member has signed in
    Promotion(
        "chips-m",
        PromoKind.PERCENT_OFF,
        "会员 薯片9折",
        "Members: chips 10% off",
        START,
        sku="CHIPS",
        percent=10,
        members_only=True,
    ),
)
PHONE = "13812345678"


def cart(f: Fingers) -> Any:
    return f.app.sm.get_screen("cart")


def tile(f: Fingers, sku: str) -> Any:
    from kiosk.ui.widgets import ProductTile

    found = [w for w in cart(f).walk(restrict=True) if isinstance(w, ProductTile) and w.sku == sku]
    return next((w for w in found if f.visible(w)), None)


def pay_button(f: Fingers) -> Any:
    return cart(f).ids.pay if not cart(f).ids.pay.disabled else None


def fits(label: Any) -> bool:
    """The label's whole text fits its width on one line (measured unconstrained, as the tab test does)."""
    from kivy.core.text import Label as CoreLabel

    core = CoreLabel(text=label.text, font_size=label.font_size, bold=label.bold, font_name=label.font_name)
    core.refresh()
    need_w, need_h = core.texture.size
    return bool(need_w <= label.width + 0.5 and need_h <= label.height + 0.5)


def shown_whole(label: Any) -> bool:
    """A label that may wrap shows all its text: what it drew fits inside it, and nothing was cut."""
    tw, th = label.texture_size
    return bool(tw <= label.width + 0.5 and th <= label.height + 0.5 and not label.shorten)


def discount_rows(f: Fingers) -> list[dict[str, Any]]:
    from kivy.uix.label import Label

    from kiosk.ui.widgets import DiscountRow

    rows = []
    for row in cart(f).ids.discounts.children[::-1]:
        assert isinstance(row, DiscountRow)
        labels = [w for w in row.children[::-1] if isinstance(w, Label)]
        rows.append(
            {
                "name": labels[0].text,
                "amount": labels[1].text,
                "fits": all(shown_whole(w) for w in labels),
                "on_screen": row.height > 0 and row.get_root_window() is not None and row.opacity > 0,
            }
        )
    return rows


def cart_view(f: Fingers) -> dict[str, Any]:
    saved = cart(f).ids.saved
    return {
        "rows": discount_rows(f),
        "saved": saved.text,
        "saved_fits": fits(saved) if saved.text else True,
        "total": f.app.vm.total_text,
        "pay": cart(f).ids.pay.text,
    }


def start_and_fill(f: Fingers, c: FakeController, skus: tuple[str, ...]) -> Iterator[Step]:
    yield Until(lambda: f.showing("attract"), "attract")
    yield Tap(lambda: tuple(f.app.sm.get_screen("attract").center), "start")
    yield Until(lambda: f.showing("cart"), "cart")
    for n, sku in enumerate(skus, start=1):
        yield Tap(lambda sku=sku: tile(f, sku), f"tap {sku}")
        yield Until(lambda n=n: c.state.cart.item_count == n, f"{n} in the cart")


def discounts(f: Fingers, c: FakeController, obs: dict[str, Any], _clock: list[float]) -> Iterator[Step]:
    """Three waters and chips: the multi-buy and the spend-off show as lines, in both languages, and
    the pay screen asks for the total after them."""
    yield from start_and_fill(f, c, ("W550", "W550", "W550", "CHIPS"))
    for lang in ("zh_CN", "en"):
        yield Do(lambda lang=lang: f.app.vm.set_language(lang), lang)
        yield Frames(QUIET_FRAMES, "frames")
        yield Do(lambda lang=lang: obs.__setitem__(f"cart_{lang}", cart_view(f)), "note")
        yield Shot(f"promo_cart_{lang}")
    yield Tap(lambda: pay_button(f), "pay")
    yield Until(lambda: f.showing("pay"), "pay screen")
    yield Do(lambda: obs.__setitem__("pay_total", f.app.vm.pay_total_text), "note")
    yield Do(lambda: obs.__setitem__("order_total_fen", c.state.sale_total_fen), "note")
    yield Do(lambda: c.hold_up_sample("wechat_ok"), "hold up a code")
    yield Until(lambda: f.showing("done"), "done")
    yield Do(lambda: obs.__setitem__("done_total", f.app.vm.done_total_text), "note")


def member_button(f: Fingers) -> Any:
    b = cart(f).ids.member_button
    return b if not b.disabled and b.opacity > 0 else None


def member_screen(f: Fingers) -> Any:
    return f.app.sm.get_screen("member")


def key(f: Fingers, text: str) -> Any:
    from kiosk.ui.widgets import KButton

    keypad = member_screen(f).ids.keypad
    return next((w for w in keypad.walk(restrict=True) if isinstance(w, KButton) and w.text == text), None)


def type_number(f: Fingers, digits: str) -> Iterator[Step]:
    for d in digits:
        yield Tap(lambda d=d: key(f, d), f"key {d}")


def sign_in_button(f: Fingers) -> Any:
    b = member_screen(f).ids.sign_in
    return None if b.disabled else b


def screen_view(f: Fingers) -> dict[str, Any]:
    m = member_screen(f)
    return {
        "showing": f.showing("member"),
        "display": m.ids.display.text,
        "display_fits": fits(m.ids.display),
        "notice": m.ids.notice.text,
        "sign_in_enabled": not m.ids.sign_in.disabled,
        "keys_min_h": min(w.height for w in m.ids.keypad.children),
    }


def open_member(f: Fingers) -> Iterator[Step]:
    yield Tap(lambda: member_button(f), "member")
    yield Until(lambda: f.showing("member"), "member screen")


def leave_and_come_back(f: Fingers, c: FakeController) -> Iterator[Step]:
    """The customer leaves (Cancel, then empty) and the next one starts."""
    yield Tap(lambda: cart(f).ids.cancel, "cancel")
    yield Until(lambda: f.app.vm.confirming_cancel, "asked")
    yield Tap(
        lambda: next(
            w
            for w in cart(f).ids.confirm.walk(restrict=True)
            if getattr(w, "text", "") in ("Empty cart", "清空")
        ),
        "empty",
    )
    yield Until(lambda: f.showing("attract"), "attract")
    yield Tap(lambda: tuple(f.app.sm.get_screen("attract").center), "next customer")
    yield Until(lambda: f.showing("cart"), "cart again")
    yield Frames(QUIET_FRAMES, "frames")


def member(f: Fingers, c: FakeController, obs: dict[str, Any], _clock: list[float]) -> Iterator[Step]:
    """The member screen by its keypad: an unknown number says so; the member's number signs in,
    masked on screen; the cart comes back with the member's masked name and the member price; the
    next customer starts signed out."""
    yield from start_and_fill(f, c, ("CHIPS",))
    yield Do(lambda: obs.__setitem__("before", cart_view(f)), "note")
    yield from open_member(f)
    yield Until(lambda: member_screen(f).has_frame, "the camera's picture")
    yield Frames(QUIET_FRAMES, "frames")
    yield Do(lambda: obs.__setitem__("opened", screen_view(f)), "note")
    yield Shot("member_screen_zh")
    yield from type_number(f, "13900000000")
    yield Tap(lambda: sign_in_button(f), "sign in")
    yield Until(lambda: bool(member_screen(f).ids.notice.text), "an answer")
    yield Do(lambda: obs.__setitem__("unknown", screen_view(f)), "note")
    yield Tap(lambda: key(f, "清除"), "clear")
    yield from type_number(f, PHONE[:10])
    yield Do(lambda: obs.__setitem__("ten_digits", screen_view(f)), "note")
    yield from type_number(f, PHONE[10:])
    yield Frames(QUIET_FRAMES, "frames")
    yield Do(lambda: obs.__setitem__("eleven_digits", screen_view(f)), "note")
    yield Shot("member_typed_zh")
    hq_answers = threading.Event()  # HQ is slow this time: the screen says it is checking
    yield Do(lambda: setattr(directory, "answer_when", hq_answers), "slow HQ")
    yield Tap(lambda: sign_in_button(f), "sign in")
    yield Until(lambda: f.app.vm.member_checking, "checking")
    yield Frames(QUIET_FRAMES, "frames")
    yield Do(
        lambda: obs.__setitem__(
            "checking",
            {
                **screen_view(f),
                "hint": member_screen(f).ids.qr_hint.text,
                "spinner": bool(f.app.spinner.active) and f.app.spinner.opacity > 0,
            },
        ),
        "note",
    )
    yield Shot("member_checking_zh")
    yield Do(hq_answers.set, "HQ answers")
    yield Until(lambda: c.state.member is not None, "signed in")
    yield Until(lambda: f.showing("cart"), "the cart again")
    yield Frames(QUIET_FRAMES, "frames")
    yield Do(
        lambda: obs.__setitem__(
            "signed_in",
            {
                "items_line": cart(f).ids.items_line.text,
                "button": member_button(f) is not None,
                "cart": cart_view(f),
                "display_after": member_screen(f).ids.display.text,
            },
        ),
        "note",
    )
    yield Shot("member_signed_in_zh")
    yield Do(lambda: f.app.vm.set_language("en"), "english")
    yield Frames(QUIET_FRAMES, "frames")
    yield Do(lambda: obs.__setitem__("items_line_en", cart(f).ids.items_line.text), "note")
    yield from leave_and_come_back(f, c)
    yield Do(
        lambda: obs.__setitem__(
            "next_customer",
            {
                "member": c.state.member is not None,
                "member_text": f.app.vm.member_text,
                "button": member_button(f) is not None,
            },
        ),
        "note",
    )
    yield Do(lambda: obs.__setitem__("asked", list(directory.asked)), "note")


def member_qr(f: Fingers, c: FakeController, obs: dict[str, Any], clock: list[float]) -> Iterator[Step]:
    """The member screen's other ways: Back keeps the cart and forgets the digits; a payment code
    shown to its camera is refused as not a member code; the member QR signs in; "still there?"
    asks over it, and no answer ends the sale; the next customer's member screen starts empty."""
    yield from start_and_fill(f, c, ("CHIPS", "W550"))
    yield from open_member(f)
    yield from type_number(f, "138")
    yield Tap(lambda: member_screen(f).ids.back, "back")
    yield Until(lambda: f.showing("cart"), "the cart")
    yield Do(
        lambda: obs.__setitem__(
            "back", {"items": c.state.cart.item_count, "member": c.state.member is not None}
        ),
        "note",
    )
    yield from open_member(f)
    yield Do(lambda: obs.__setitem__("reopened_display", member_screen(f).ids.display.text), "note")
    yield Do(lambda: c.show_code(WECHAT_CODE), "a payment code to the camera")
    yield Until(lambda: c.state.notice is co.Notice.NOT_A_MEMBER_CODE, "refused")
    yield Frames(QUIET_FRAMES, "frames")
    yield Do(
        lambda: obs.__setitem__(
            "payment_code", {"view": screen_view(f), "order": c.state.order_id, "phase": c.state.phase.value}
        ),
        "note",
    )
    yield Shot("member_not_a_member_code_zh")
    yield Do(lambda: c.show_code(MEMBER_CODE), "the member QR to the camera")
    yield Until(lambda: c.state.member is not None and f.showing("cart"), "signed in, on the cart")
    yield Frames(QUIET_FRAMES, "frames")
    yield Do(lambda: obs.__setitem__("qr_signed_in", cart(f).ids.items_line.text), "note")
    # a new customer: the member screen, quiet for a minute
    yield from leave_and_come_back(f, c)
    yield Tap(lambda: tile(f, "CHIPS"), "tap CHIPS")
    yield Until(lambda: c.state.cart.item_count == 1, "in the cart")
    yield from open_member(f)
    yield from type_number(f, "1391")
    dialog = f.app.still_there
    yield Do(lambda: advance(c, clock, c.idle_timeout_s + 1), "a quiet minute")
    yield Until(lambda: dialog.showing, "asked")
    yield Shot("member_still_there_zh")
    yield Tap(lambda: dialog.ids.keep_going, "continue")
    yield Until(lambda: not dialog.showing, "answered")
    yield Do(lambda: obs.__setitem__("kept", [f.showing("member"), member_screen(f).digits]), "note")
    yield Do(lambda: advance(c, clock, c.idle_timeout_s + 1), "another quiet minute")
    yield Until(lambda: dialog.showing, "asked again")
    yield Do(lambda: advance(c, clock, c.still_there_s), "no answer")
    yield Until(lambda: f.showing("attract") and not dialog.showing, "the sale ended")
    yield Do(
        lambda: obs.__setitem__(
            "timed_out", {"state": c.state == co.Checkout(), "digits": member_screen(f).digits}
        ),
        "note",
    )
    yield Tap(lambda: tuple(f.app.sm.get_screen("attract").center), "next customer")
    yield Until(lambda: f.showing("cart"), "cart")
    yield Tap(lambda: tile(f, "CHIPS"), "tap CHIPS")
    yield Until(lambda: c.state.cart.item_count == 1, "in the cart")
    yield from open_member(f)
    yield Do(
        lambda: obs.__setitem__(
            "next_customer",
            {"display": member_screen(f).ids.display.text, "notice": screen_view(f)["notice"]},
        ),
        "note",
    )
    yield Do(lambda: obs.__setitem__("asked", list(directory.asked)), "note")


def advance(c: FakeController, clock: list[float], seconds: float) -> None:
    clock[0] += seconds
    c.tick(clock[0])


def hidden(f: Fingers, c: FakeController, obs: dict[str, Any], _clock: list[float]) -> Iterator[Step]:
    """A kiosk without ``[members] enabled``: no member button on the cart."""
    yield from start_and_fill(f, c, ("CHIPS",))
    yield Frames(QUIET_FRAMES, "frames")
    yield Do(lambda: obs.__setitem__("button", member_button(f) is not None), "note")


MEMBER_CODE = member_code("00000012345")
WECHAT_CODE = "134567890123456789"
directory = FakeMemberDirectory({PHONE: "王小明"}, {MEMBER_CODE: "王小明"})


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--script", choices=("discounts", "member", "member_qr", "hidden"), required=True)
    parser.add_argument("--width", type=int, default=800)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--timeout", type=float, default=SCRIPT_LIMIT_S)
    args = parser.parse_args()
    ui = UiSection(fullscreen=False, width=args.width, height=args.height)
    configure_kivy(ui, fullscreen=False)
    from kiosk.ui.app import KioskApp

    clock = [1000.0]
    controller = FakeController(
        answer_delay_s=0.05,
        promotions=PROMOTIONS,
        members=directory if args.script.startswith("member") else None,
        clock=lambda: clock[0],
    )
    app = KioskApp(
        controller, ui, fullscreen=False, kiosk_settings=KioskSection(store_name="便利店 Corner Shop")
    )
    obs: dict[str, Any] = {}
    script = {"discounts": discounts, "member": member, "member_qr": member_qr, "hidden": hidden}[args.script]
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
