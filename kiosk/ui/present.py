"""Turning checkout state into what the screens show: pure functions, no Kivy, testable anywhere.

The view-model copies these values into Kivy properties; keeping the wording and arithmetic here
means a unit test can check a Chinese cart line or a sample-button label without a window.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from kiosk.core.cart import Cart, Product
from kiosk.core.checkout import Checkout, Notice, PayStage, Phase
from kiosk.core.money import format_count, format_money, format_yuan
from kiosk.i18n import has_text, notice_text, t

#: the screen that shows each phase (printing is the pay screen in its "paid, printing" state)
SCREEN_FOR_PHASE: dict[Phase, str] = {
    Phase.ATTRACT: "attract",
    Phase.CART: "cart",
    Phase.PAYING: "pay",
    Phase.PRINTING: "pay",
    Phase.DONE: "done",
    Phase.NEEDS_HELP: "help",
    Phase.RECOVERING: "recovering",
}

SCREENS: tuple[str, ...] = ("attract", "cart", "pay", "done", "help", "recovering")
#: the member sign-in screen: in the cart's phase, while ``Checkout.member_screen`` is set
MEMBER_SCREEN = "member"


def amount_text(fen: int, language: str) -> str:
    """Every amount a customer reads goes through here (one place to change how money is written)."""
    return format_money(fen, language)


def count_text(count: int, language: str) -> str:
    """Every item count a customer reads: "3 件", "1 item", "3 items"."""
    return format_count(count, language)


def screen_for(phase: Phase) -> str:
    return SCREEN_FOR_PHASE[phase]


def category_label(category: str, language: str) -> str:
    """A known category code in the customer's language; anything else as the catalog spells it."""
    code = category.strip() or "other"
    key = f"category.{code.lower()}"
    return t(key, language) if has_text(key) else code


def categories(products: Iterable[Product]) -> list[str]:
    """Category codes in catalog order, each once; products without one fall under "other"."""
    seen: dict[str, None] = {}
    for p in products:
        seen.setdefault(p.category.strip() or "other", None)
    return list(seen)


def in_category(product: Product, category: str) -> bool:
    """``category`` "" means every product."""
    return not category or (product.category.strip() or "other") == category


def product_tiles(
    products: Iterable[Product], category: str, cart: Cart, language: str
) -> list[dict[str, Any]]:
    """RecycleView rows for the catalog grid: name, price and how many are already in the cart; a
    product staff marked out of stock stays on the grid, "sold out" where its price would be (a
    customer who looks for it learns why it is not there)."""
    return [
        {
            "sku": p.sku,
            "name": p.name(language),
            "price_text": t("cart.sold_out", language) if p.sold_out else amount_text(p.price_fen, language),
            "qty": cart.qty_of(p.sku),
            "sold_out": p.sold_out,
        }
        for p in products
        if in_category(p, category)
    ]


def cart_rows(cart: Cart, language: str) -> list[dict[str, Any]]:
    """RecycleView rows for the cart list, newest line last (the order the customer added them)."""
    return [
        {
            "sku": line.product.sku,
            "name": line.product.name(language),
            "qty": line.qty,
            "unit_text": t("cart.each", language, price=amount_text(line.product.price_fen, language)),
            "total_text": amount_text(line.total_fen, language),
        }
        for line in cart.lines
    ]


def order_no(state: Checkout) -> str:
    """The short order number staff read aloud, as the receipt prints it."""
    return state.order_id.split("-")[0].upper() if state.order_id else ""


def notice_for(state: Checkout, language: str) -> str:
    return notice_text(state.notice, language)


@dataclass(frozen=True, slots=True)
class PayPrompt:
    """The pay screen's heading and the line under it: what the customer must do now."""

    title: str
    body: str


def pay_prompt(state: Checkout, language: str) -> PayPrompt:
    """What the pay screen asks of the customer, from the phase and what the gateway last said.

    A password-required payment must say "enter your password on your phone" (the customer is
    looking at the kiosk, waiting, while the phone waits for them); an unknown outcome must say
    "do not pay again" (a second code could charge twice). Neither may keep "show your code".
    """
    if state.phase is Phase.PRINTING:
        keys = ("pay.paid", "pay.printing")
    elif state.charging and state.pay_stage is PayStage.USER_PAYING:
        keys = ("pay.enter_password", "pay.enter_password_how")
    elif state.charging and state.pay_stage is PayStage.CHECKING:
        keys = ("pay.checking", "pay.checking_how")
    elif state.charging:
        keys = ("pay.show_code", "pay.charging")
    else:
        keys = ("pay.show_code", "pay.how")
    return PayPrompt(t(keys[0], language), t(keys[1], language))


def still_there_text(state: Checkout, language: str) -> str:
    """The "still there?" countdown line ("" when not asking): an unpaid order says it is cancelled."""
    if state.still_there_s <= 0:
        return ""
    key = "still.pay" if state.phase is Phase.PAYING else "still.cart"
    return t(key, language, seconds=state.still_there_s)


@dataclass(frozen=True, slots=True)
class SaleShown:
    """What a screen about one sale shows (its total, its receipt), kept while the screen fades out.

    The checkout has already moved on to the next customer (an empty cart) when the thank-you screen
    starts to fade: a screen that read the live state would flash "Paid ¥0.00" and "no receipt".
    """

    total_text: str = format_yuan(0)
    receipt_text: str = ""


def done_shown(state: Checkout, previous: SaleShown, receipt_text: str, language: str) -> SaleShown:
    """The done screen's sale: the sale just paid while in DONE, otherwise what it showed last."""
    if state.phase is Phase.DONE:
        return SaleShown(amount_text(state.sale_total_fen, language), receipt_text)
    return previous


def pay_shown(state: Checkout, previous: SaleShown, language: str) -> SaleShown:
    """The pay screen's amount: the live one while paying or printing, otherwise the last shown."""
    if state.phase in (Phase.PAYING, Phase.PRINTING):
        return SaleShown(amount_text(state.sale_total_fen, language))
    return previous


def sample_label(name: str, language: str) -> str:
    """Label of a demo button: "微信 付款成功" for ``wechat_ok``; an unknown name is shown as it is."""
    channel, _, outcome = name.partition("_")
    ck, ok = f"sample.channel.{channel}", f"sample.outcome.{outcome}"
    if has_text(ck) and has_text(ok):
        return f"{t(ck, language)}  {t(ok, language)}"
    return name


def preferred_sample(names: list[str]) -> str | None:
    """The sample a scripted customer holds up: an approved WeChat code if there is one."""
    if not names:
        return None
    for wanted in ("wechat_ok", "alipay_ok"):
        if wanted in names:
            return wanted
    return next((n for n in names if n.endswith("_ok")), names[0])


class FrameError(ValueError):
    """A camera frame the preview cannot show (wrong type, shape or depth)."""


def frame_to_rgb(frame: Any) -> tuple[np.ndarray[Any, np.dtype[np.uint8]], int, int, str]:
    """A BGR or grey uint8 frame as bottom-up RGB(A) bytes for an OpenGL texture.

    OpenGL puts row 0 at the bottom and the camera at the top, so rows are flipped here rather than
    flipping the texture (a texture flip is state that every later blit would have to remember).
    Rows whose byte length is not a multiple of 4 get an alpha channel, because OpenGL's default
    row alignment would otherwise shear odd-width frames.
    Returns (pixels, width, height, colorfmt).
    """
    if not isinstance(frame, np.ndarray):
        raise FrameError(f"frame must be a numpy array, got {type(frame).__name__}")
    if frame.dtype != np.uint8:
        raise FrameError(f"frame must be uint8, got {frame.dtype}")
    if frame.ndim == 2:
        frame = np.repeat(frame[:, :, None], 3, axis=2)
    elif frame.ndim == 3 and frame.shape[2] == 4:
        frame = frame[:, :, :3]
    elif not (frame.ndim == 3 and frame.shape[2] == 3):
        raise FrameError(f"frame must be H x W (grey) or H x W x 3 (BGR), got shape {frame.shape}")
    height, width = frame.shape[:2]
    if width == 0 or height == 0:
        raise FrameError("frame is empty")
    rgb = frame[::-1, :, ::-1]
    if (width * 3) % 4:
        alpha = np.full((height, width, 1), 255, dtype=np.uint8)
        return np.ascontiguousarray(np.concatenate([rgb, alpha], axis=2)), width, height, "rgba"
    return np.ascontiguousarray(rgb), width, height, "rgb"


#: the camera preview's fastest rate (10 frames a second) and its slowest (2), seconds between frames
PREVIEW_INTERVAL_MIN_S = 0.1
PREVIEW_INTERVAL_MAX_S = 0.5
#: the share of the UI thread the preview's redraws may take; the rest stays free for touches
PREVIEW_DRAW_SHARE = 1 / 3


def preview_interval(redraw_s: Iterable[float]) -> float:
    """Seconds until the next preview frame, from what the last redraws cost (seconds each).

    Every preview frame redraws the whole window. With a GPU that is a few ms and the preview runs
    at its full 10 frames a second; with software GL (llvmpipe) on a busy 2-core machine a redraw
    took about 60 ms, so 10 a second kept the UI thread busy most of the time and a tap waited for
    the redraw in progress. So the preview slows down until its redraws take at most
    ``PREVIEW_DRAW_SHARE`` of the time, never below 2 frames a second: the customer still sees the
    phone move. The median of the samples, so one slow frame (a garbage collection) does not count.
    """
    costs = [c for c in redraw_s if math.isfinite(c) and c >= 0]  # NaN, negative: ignored
    if not costs:
        return PREVIEW_INTERVAL_MIN_S
    median = statistics.median(costs)
    return min(PREVIEW_INTERVAL_MAX_S, max(PREVIEW_INTERVAL_MIN_S, median / PREVIEW_DRAW_SHARE))


# --- the cart screen: cancel, a new customer's clean screen, the tab bar, an empty catalog (issue 12) ---

#: Kivy's wheel buttons on a bar that only scrolls sideways: the vertical wheel moves it too (Kivy
#: calls the wheel turned towards the user "scrollup"); -1 towards the start, +1 towards the end
WHEEL_DIRECTION: dict[str, int] = {"scrollup": 1, "scrolldown": -1, "scrollleft": 1, "scrollright": -1}


def wheel_scroll_x(button: str, scroll_x: float, step: float) -> float | None:
    """Where one wheel notch leaves a sideways bar (``scroll_x`` 0 = start, 1 = end), ``step`` the
    fraction of the scrollable width a notch moves; None for a button that is not a wheel."""
    direction = WHEEL_DIRECTION.get(button)
    if direction is None:
        return None
    return min(1.0, max(0.0, scroll_x + direction * max(0.0, step)))


def cancel_needs_confirm(cart: Cart) -> bool:
    """Cancel asks first when it would throw something away; an empty cart has nothing to lose."""
    return not cart.is_empty


def can_start_sale(product_count: int) -> bool:
    """A kiosk with nothing to sell starts no sale: the customer could only walk away."""
    return product_count > 0


def catalog_reason(product_count: int, error: str, language: str) -> str:
    """The staff line on the attract screen of a kiosk with no products: why ("" when it has some)."""
    if product_count > 0:
        return ""
    if error:
        return t("attract.staff_catalog_error", language, reason=error)
    return t("attract.staff_catalog_empty", language)


# --- fault and out-of-service screens -------------------------------------------------------------

#: the screen a kiosk that cannot sell shows instead of the attract screen
OUT_OF_SERVICE_SCREEN = "out_of_service"
#: the installer's screen of a kiosk not yet enrolled at HQ (``kiosk.enrolment_desk``)
ENROL_SCREEN = "enrol"
#: the phases that show the calm "offline" line while HQ cannot be reached
OFFLINE_PHASES = frozenset({Phase.ATTRACT, Phase.CART})


def customer_screen(phase: Phase, out_of_service: str, member_screen: bool = False) -> str:
    """The screen for the phase; the attract screen becomes "out of service" while the kiosk cannot
    sell (``out_of_service`` is a ``kiosk.core.availability.OutOfService`` value, "" while it can).
    A sale already under way finishes on its own screens: only the next customer is turned away.
    The cart's phase shows the member sign-in screen while ``member_screen`` (``Checkout``) is set."""
    if out_of_service and phase is Phase.ATTRACT:
        # not enrolled: the installer's screen, not "use another checkout" (no customer is meant here)
        return ENROL_SCREEN if out_of_service == "not_enrolled" else OUT_OF_SERVICE_SCREEN
    if member_screen and phase is Phase.CART:
        return MEMBER_SCREEN
    return screen_for(phase)


def out_of_service_staff(out_of_service: str, language: str) -> str:
    """The staff's small print on the out-of-service screen: the reason code and what to do."""
    if not out_of_service:
        return ""
    key = f"oos.reason.{out_of_service}"
    explanation = t(key, language) if has_text(key) else ""
    return t("oos.staff", language, code=out_of_service.upper(), explanation=explanation)


def offline_text(hq_offline: bool, phase: Phase, language: str) -> str:
    """The small "offline: payments work as usual" line ("" when HQ answers, or off those screens):
    nothing the customer must do, so it is only on the screens where they are not busy paying."""
    return t("offline.note", language) if hq_offline and phase in OFFLINE_PHASES else ""


def done_receipt_line(state: Checkout, language: str) -> str:
    """The done screen's line about the receipt: take it, or (the printer failed) scan the e-receipt."""
    if state.notice is Notice.RECEIPT_ON_PHONE:
        return t("done.receipt_on_phone", language)
    return t("done.take_receipt", language)
