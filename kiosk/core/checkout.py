"""The checkout as a pure state machine: ``transition(checkout, event) -> (checkout, effects)``.

Phases follow the customer: attract -> cart -> paying -> printing -> done, with needs-help for
anything a person must sort out. Events are facts in the past tense; effects are commands that the
controller carries out through ports (store, gateway, printer, indicators) and whose outcomes come
back as further events. Because nothing here does I/O, every odd case (a scan during payment, a
cancel while a charge is in flight, a printer error after payment) is a line in a table-driven test.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from kiosk.core.cart import Cart, CartError, Product
from kiosk.core.codes import CodeKind
from kiosk.core.members import Member
from kiosk.core.money import Fen


class Phase(enum.StrEnum):
    ATTRACT = "attract"
    CART = "cart"
    PAYING = "paying"
    PRINTING = "printing"
    DONE = "done"
    NEEDS_HELP = "needs_help"
    #: after a restart: unfinished payments are settled with the gateway before anyone may pay
    RECOVERING = "recovering"


class Notice(enum.StrEnum):
    """Short messages for the customer; ``kiosk.i18n`` holds their zh_CN and en texts."""

    NONE = ""
    UNKNOWN_PRODUCT = "unknown_product"
    CART_EMPTY = "cart_empty"
    CART_LIMIT = "cart_limit"
    FINISH_PAYMENT_FIRST = "finish_payment_first"
    SCAN_ITEMS_FIRST = "scan_items_first"
    PAYMENT_IN_PROGRESS = "payment_in_progress"
    PAYMENT_DECLINED = "payment_declined"
    NOT_A_PAYMENT_CODE = "not_a_payment_code"
    CODE_ALREADY_USED = "code_already_used"
    PRINTER_NOT_READY = "printer_not_ready"
    PAYMENT_UNKNOWN = "payment_unknown"
    RECEIPT_FAILED = "receipt_failed"
    ORDER_NOT_SAVED = "order_not_saved"
    PAYMENT_NOT_CONFIGURED = "payment_not_configured"
    CHECKING_LAST_PAYMENT = "checking_last_payment"
    SOLD_OUT = "sold_out"
    MEMBER_NOT_FOUND = "member_not_found"
    MEMBERS_NOT_OFFERED = "members_not_offered"
    MEMBER_LOOKUP_FAILED = "member_lookup_failed"
    #: the member screen was shown a code that is not a member code (a payment code, a stray QR)
    NOT_A_MEMBER_CODE = "not_a_member_code"
    #: the camera that reads payment codes failed on the pay screen: the unpaid order was cancelled
    CAMERA_FAULT = "camera_fault"
    #: paid, the printer failed, and the done screen shows the e-receipt QR instead
    RECEIPT_ON_PHONE = "receipt_on_phone"


class PayStage(enum.StrEnum):
    """Where a charge stands at the gateway, so the pay screen can tell the customer what to do.

    ``USER_PAYING``: the gateway waits for the customer to type the payment password on the phone.
    ``CHECKING``: the gateway has not said yes or no (a system error, no reply): the kiosk queries or
    reverses, and the customer must not pay a second time meanwhile.
    """

    NONE = ""
    USER_PAYING = "user_paying"
    CHECKING = "checking"


# --- events (facts) -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StartTapped:
    """The customer touched the attract screen."""


@dataclass(frozen=True, slots=True)
class ProductScanned:
    """A product barcode was read; ``product`` is None when the catalog does not know it."""

    barcode: str
    product: Product | None


@dataclass(frozen=True, slots=True)
class ProductTapped:
    """A product touched on the catalog (``qty`` 1), or added from its detail view with the
    quantity the customer chose there (added to what the cart already holds)."""

    product: Product
    qty: int = 1


@dataclass(frozen=True, slots=True)
class QuantitySet:
    product: Product
    qty: int


@dataclass(frozen=True, slots=True)
class PayTapped:
    """The customer asked to pay; ``printer_ready`` is what the printer said just before, and
    ``payment_ready`` whether this kiosk has a payment gateway at all (an uncommissioned one has not).

    ``e_receipt``: the sale can be given an e-receipt from HQ, so a printer that is not ready need
    not stop the sale (the customer is asked). ``camera_ready``: the camera that reads payment codes
    has not reported a fault (a pay screen that cannot see a code would only hold the customer)."""

    printer_ready: bool = True
    payment_ready: bool = True
    e_receipt: bool = False
    camera_ready: bool = True


@dataclass(frozen=True, slots=True)
class PrinterOfferAnswered:
    """The customer answered "the printer is not available; pay and take an e-receipt?":
    ``go`` is "continue to pay", otherwise "cancel" (back to the cart, which is kept)."""

    go: bool


@dataclass(frozen=True, slots=True)
class CameraFailed:
    """The payment camera failed to open or stopped delivering frames (``reason`` for staff)."""

    reason: str


@dataclass(frozen=True, slots=True)
class OrderOpened:
    """The order and its lines are committed to the store; payment may now be taken against it.

    ``total_fen`` is the total the store committed (after promotions): what the pay screen shows and
    what is charged. None: the cart's own total (no promotions were applied)."""

    order_id: str
    total_fen: Fen | None = None


@dataclass(frozen=True, slots=True)
class OrderFailed:
    """The store refused the order (disk full, corrupt); nothing was charged."""

    reason: str


@dataclass(frozen=True, slots=True)
class PaymentCodeScanned:
    kind: CodeKind
    code: str


@dataclass(frozen=True, slots=True)
class PaymentCodeRefused:
    """A payment code shown again within its lifetime: it is never sent to the gateway twice."""


@dataclass(frozen=True, slots=True)
class PaymentSucceeded:
    order_id: str
    channel: str
    transaction_id: str


@dataclass(frozen=True, slots=True)
class PaymentDeclined:
    order_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class PaymentUnresolved:
    """The gateway never gave a final answer within the channel's time limits."""

    order_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class PaymentProgressed:
    """The charge in flight moved on at the gateway (waiting for the password, outcome unknown)."""

    order_id: str
    stage: PayStage


@dataclass(frozen=True, slots=True)
class ReceiptPrinted:
    order_id: str


@dataclass(frozen=True, slots=True)
class ReceiptFailed:
    """The receipt did not print. ``e_receipt``: the sale has an e-receipt at HQ the customer can
    scan, so a paid customer is not held at the kiosk for a piece of paper."""

    order_id: str
    reason: str
    e_receipt: bool = False


@dataclass(frozen=True, slots=True)
class CancelTapped:
    pass


@dataclass(frozen=True, slots=True)
class TimedOut:
    """The idle or done timer of the current phase ran out."""


@dataclass(frozen=True, slots=True)
class IdleAsked:
    """Nobody touched the cart or the unpaid pay screen for a while: ask "still there?".

    ``seconds_left`` is the countdown shown before the sale is cleared (``kiosk.core.idle``).
    """

    seconds_left: int


@dataclass(frozen=True, slots=True)
class StillHereTapped:
    """The customer answered "still there?" with "continue"."""


@dataclass(frozen=True, slots=True)
class StaffResolved:
    """Staff cleared a needs-help situation."""


@dataclass(frozen=True, slots=True)
class MemberTapped:
    """The cart's 会员 / Member button: the member sign-in screen opens over the same sale."""


@dataclass(frozen=True, slots=True)
class MemberBackTapped:
    """The member screen's Back: the cart again, as it was."""


@dataclass(frozen=True, slots=True)
class MemberLookedUp:
    """The member directory answered the sign-in screen: ``member``, or None and ``notice`` says why."""

    member: Member | None
    notice: Notice = Notice.MEMBER_NOT_FOUND


@dataclass(frozen=True, slots=True)
class RecoveryStarted:
    """The kiosk started and is settling what a crash or power cut left unfinished."""


@dataclass(frozen=True, slots=True)
class RecoveryFinished:
    """Start-up recovery is done. ``paid_orders``: sales found paid whose receipt never printed;
    ``unresolved``: payments the gateway could not settle (staff must check them); ``failure``: why
    the recovery itself stopped short, if it did (the payments it did not reach stay for the next start)."""

    paid_orders: tuple[str, ...] = ()
    unresolved: tuple[str, ...] = ()
    failure: str = ""


Event = (
    StartTapped
    | ProductScanned
    | ProductTapped
    | QuantitySet
    | PayTapped
    | OrderOpened
    | OrderFailed
    | PaymentCodeScanned
    | PaymentCodeRefused
    | PaymentSucceeded
    | PaymentDeclined
    | PaymentUnresolved
    | PaymentProgressed
    | ReceiptPrinted
    | ReceiptFailed
    | CancelTapped
    | TimedOut
    | IdleAsked
    | StillHereTapped
    | StaffResolved
    | RecoveryStarted
    | RecoveryFinished
    | MemberLookedUp
    | MemberTapped
    | MemberBackTapped
    | PrinterOfferAnswered
    | CameraFailed
)

EVENT_TYPES: tuple[type, ...] = (
    StartTapped,
    ProductScanned,
    ProductTapped,
    QuantitySet,
    PayTapped,
    OrderOpened,
    OrderFailed,
    PaymentCodeScanned,
    PaymentCodeRefused,
    PaymentSucceeded,
    PaymentDeclined,
    PaymentUnresolved,
    PaymentProgressed,
    ReceiptPrinted,
    ReceiptFailed,
    CancelTapped,
    TimedOut,
    IdleAsked,
    StillHereTapped,
    StaffResolved,
    RecoveryStarted,
    RecoveryFinished,
    MemberLookedUp,
    MemberTapped,
    MemberBackTapped,
    PrinterOfferAnswered,
    CameraFailed,
)

# --- effects (commands) ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpenOrder:
    """Commit the cart as an order before any money moves."""

    cart: Cart


@dataclass(frozen=True, slots=True)
class StartCamera:
    pass


@dataclass(frozen=True, slots=True)
class StopCamera:
    pass


@dataclass(frozen=True, slots=True)
class ChargePayment:
    order_id: str
    kind: CodeKind
    code: str
    amount_fen: Fen


@dataclass(frozen=True, slots=True)
class CancelOrder:
    order_id: str


@dataclass(frozen=True, slots=True)
class PrintReceipt:
    order_id: str


@dataclass(frozen=True, slots=True)
class AlertStaff:
    reason: str
    order_id: str | None = None


@dataclass(frozen=True, slots=True)
class Beep:
    error: bool = False


Effect = OpenOrder | StartCamera | StopCamera | ChargePayment | CancelOrder | PrintReceipt | AlertStaff | Beep


# --- state ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Checkout:
    phase: Phase = Phase.ATTRACT
    cart: Cart = field(default_factory=Cart)
    order_id: str | None = None
    #: a charge is with the gateway: nothing may cancel or resubmit until it answers
    charging: bool = False
    notice: Notice = Notice.NONE
    #: what the last declined or unresolved payment said, for staff and the customer
    detail: str = ""
    paid_channel: str = ""
    #: while ``charging``: what the gateway last said about the charge (password, unknown)
    pay_stage: PayStage = PayStage.NONE
    #: > 0 while the screen asks "still there?": the seconds left before the sale is cleared
    still_there_s: int = 0
    #: the total the store committed for ``order_id`` (after promotions); None before an order
    order_total_fen: Fen | None = None
    #: the member signed in for this sale (every new sale starts without one)
    member: Member | None = None
    #: the cart asks "the printer is not available; pay and take an e-receipt?" (PrinterOfferAnswered)
    printer_offer: bool = False
    #: the member sign-in screen is up (phase CART: the sale, its idle rules and its cancel are the
    #: cart's); anything added to the cart, a member signed in or Back shows the cart again
    member_screen: bool = False

    @property
    def sale_total_fen(self) -> Fen:
        """What this sale costs: the committed order's total once there is one, else the cart's."""
        return self.cart.total_fen if self.order_total_fen is None else self.order_total_fen


class InvalidEvent(ValueError):
    """Raised only for programming errors (an event type the machine does not know)."""


def _notice(c: Checkout, notice: Notice, detail: str = "") -> Checkout:
    return replace(c, notice=notice, detail=detail)


def _ignore(c: Checkout, notice: Notice) -> tuple[Checkout, tuple[Effect, ...]]:
    return _notice(c, notice), (Beep(error=True),)


def _add(
    c: Checkout, product: Product, qty: int | None = None, more: int = 1
) -> tuple[Checkout, tuple[Effect, ...]]:
    """``qty`` None: ``more`` of the product on top of the cart's; otherwise the line's new quantity."""
    try:
        cart = c.cart.add(product, more) if qty is None else c.cart.set_qty(product, qty)
    except CartError:
        return _ignore(c, Notice.CART_LIMIT)
    added = replace(
        c,
        phase=Phase.CART,
        cart=cart,
        notice=Notice.NONE,
        detail="",
        printer_offer=False,
        member_screen=False,
    )
    return added, (Beep(),)


Step = tuple[Checkout, tuple[Effect, ...]]
Handler = Callable[[Checkout, Any], Step]


def _stay(c: Checkout, _event: object) -> Step:
    """The event means nothing in this phase: the state stays exactly as it is."""
    return c, ()


def _busy(notice: Notice) -> Handler:
    """A customer's action that must wait: say why, change nothing else."""

    def handle(c: Checkout, _event: object) -> Step:
        return _notice(c, notice), ()

    return handle


def _refuse(notice: Notice) -> Handler:
    """A customer's action that cannot be done here: say why and beep."""

    def handle(c: Checkout, _event: object) -> Step:
        return _ignore(c, notice)

    return handle


# --- attract and cart: building the sale ----------------------------------------------------------


def _start(c: Checkout, _e: StartTapped) -> Step:
    return replace(c, phase=Phase.CART, notice=Notice.NONE), ()


def _scanned(c: Checkout, e: ProductScanned) -> Step:
    if e.product is None:
        return _ignore(replace(c, phase=Phase.CART), Notice.UNKNOWN_PRODUCT)
    if e.product.sold_out:  # staff marked it out of stock: say so, not "unknown"
        return _ignore(replace(c, phase=Phase.CART), Notice.SOLD_OUT)
    return _add(c, e.product)


def _tapped(c: Checkout, e: ProductTapped) -> Step:
    if e.product.sold_out:
        return _ignore(c, Notice.SOLD_OUT)
    return _add(c, e.product, more=e.qty)


def _quantity(c: Checkout, e: QuantitySet) -> Step:
    return _add(c, e.product, e.qty)


def _pay(c: Checkout, e: PayTapped) -> Step:
    if c.cart.is_empty:
        return _ignore(c, Notice.CART_EMPTY)
    if not e.payment_ready:
        return (
            replace(c, phase=Phase.NEEDS_HELP, notice=Notice.PAYMENT_NOT_CONFIGURED),
            (AlertStaff("payment is not set up on this kiosk (payments.gateway = none)"),),
        )
    if not e.camera_ready:
        return _camera_fault(c, "camera fault before payment")
    if not e.printer_ready:
        if e.e_receipt:  # the customer may still pay and take the receipt on the phone: ask
            return replace(c, printer_offer=True, notice=Notice.NONE, detail=""), ()
        return (
            replace(c, phase=Phase.NEEDS_HELP, notice=Notice.PRINTER_NOT_READY),
            (AlertStaff("printer not ready before payment"),),
        )
    return _open(c)


def _open(c: Checkout) -> Step:
    opened = replace(
        c, phase=Phase.PAYING, notice=Notice.NONE, detail="", printer_offer=False, member_screen=False
    )
    return opened, (OpenOrder(c.cart),)


def _printer_offer_answered(c: Checkout, e: PrinterOfferAnswered) -> Step:
    """Pay without a paper receipt, or stay in the cart; staff hear of the printer either way."""
    if not c.printer_offer:
        return c, ()
    if not e.go:
        return replace(c, printer_offer=False), ()
    after, effects = _open(c)
    return after, (AlertStaff("printer not ready; a customer pays and takes the e-receipt"), *effects)


def _camera_fault(c: Checkout, reason: str) -> Step:
    """The camera cannot read a payment code: the unpaid order (if one was opened) is cancelled,
    the cart is kept for when staff have fixed it, and the customer is told to ask staff."""
    effects: tuple[Effect, ...] = (StopCamera(),)
    if c.order_id is not None:
        effects += (CancelOrder(c.order_id),)
    effects += (AlertStaff(f"camera fault on the pay screen: {reason}", c.order_id),)
    helped = replace(
        Checkout(),
        phase=Phase.NEEDS_HELP,
        cart=c.cart,
        notice=Notice.CAMERA_FAULT,
        detail=reason,
    )
    return helped, effects


def _camera_failed(c: Checkout, e: CameraFailed) -> Step:
    if c.charging:
        # The gateway may already have the money: only its answer may end this payment.
        return c, ()
    return _camera_fault(c, e.reason)


def _new_sale(_c: Checkout, _e: object) -> Step:
    return Checkout(), ()


# --- paying: the order is committed first, then codes are charged one at a time ------------------


def _order_opened(c: Checkout, e: OrderOpened) -> Step:
    if c.order_id is not None:
        return c, ()
    return replace(c, order_id=e.order_id, order_total_fen=e.total_fen), (StartCamera(),)


def _order_failed(c: Checkout, e: OrderFailed) -> Step:
    return replace(c, phase=Phase.CART, notice=Notice.ORDER_NOT_SAVED, detail=e.reason), (
        AlertStaff(f"order could not be saved: {e.reason}"),
    )


def _code(c: Checkout, e: PaymentCodeScanned) -> Step:
    if c.charging or c.order_id is None:
        return _notice(c, Notice.PAYMENT_IN_PROGRESS), ()
    if e.kind not in (CodeKind.WECHAT, CodeKind.ALIPAY):
        return _ignore(c, Notice.NOT_A_PAYMENT_CODE)
    return replace(c, charging=True, pay_stage=PayStage.NONE, notice=Notice.NONE, detail=""), (
        Beep(),
        ChargePayment(c.order_id, e.kind, e.code, c.sale_total_fen),
    )


def _code_refused(c: Checkout, _e: PaymentCodeRefused) -> Step:
    if c.charging:
        return c, ()
    return _ignore(c, Notice.CODE_ALREADY_USED)


def _paid(c: Checkout, e: PaymentSucceeded) -> Step:
    if e.order_id != c.order_id:
        return c, ()
    paid = replace(c, phase=Phase.PRINTING, charging=False, pay_stage=PayStage.NONE, paid_channel=e.channel)
    return replace(paid, notice=Notice.NONE), (
        StopCamera(),
        PrintReceipt(e.order_id),
    )


def _declined(c: Checkout, e: PaymentDeclined) -> Step:
    if e.order_id != c.order_id:
        return c, ()
    declined = replace(c, charging=False, pay_stage=PayStage.NONE)
    return _notice(declined, Notice.PAYMENT_DECLINED, e.reason), (Beep(error=True),)


def _unresolved(c: Checkout, e: PaymentUnresolved) -> Step:
    if e.order_id != c.order_id:
        return c, ()
    return (
        replace(
            c,
            phase=Phase.NEEDS_HELP,
            charging=False,
            pay_stage=PayStage.NONE,
            notice=Notice.PAYMENT_UNKNOWN,
            detail=e.reason,
        ),
        (StopCamera(), AlertStaff(f"payment not resolved: {e.reason}", e.order_id)),
    )


def _progressed(c: Checkout, e: PaymentProgressed) -> Step:
    """Only the charge in flight may change what the pay screen asks of the customer."""
    if not c.charging or e.order_id != c.order_id:
        return c, ()
    return replace(c, pay_stage=e.stage), ()


def _idle_asked(c: Checkout, e: IdleAsked) -> Step:
    """Ask "still there?" on the cart or an unpaid pay screen; never while a charge is in flight."""
    if c.charging:
        return c, ()
    return replace(c, still_there_s=max(1, e.seconds_left)), ()


def _still_here(c: Checkout, _e: StillHereTapped) -> Step:
    return replace(c, still_there_s=0), ()


def _walked_away(c: Checkout, e: TimedOut) -> Step:
    """Nobody answered "still there?" on the pay screen: the unpaid order is cancelled and the next
    customer starts from the attract screen (their cart would only ask again a minute later)."""
    if c.charging:
        return _leave_payment(c, e)
    _left, effects = _leave_payment(c, e)
    return Checkout(), effects


def _leave_payment(c: Checkout, _e: object) -> Step:
    if c.charging:
        # The gateway may already have the money: only its answer may end this payment.
        return _notice(c, Notice.PAYMENT_IN_PROGRESS), ()
    effects: tuple[Effect, ...] = (StopCamera(),)
    if c.order_id is not None:
        effects += (CancelOrder(c.order_id),)
    return replace(Checkout(), phase=Phase.CART, cart=c.cart, member=c.member), effects


def _member(c: Checkout, e: MemberLookedUp) -> Step:
    """The sign-in screen's answer: the member stays for this sale only (a new sale starts without),
    and the cart shows again with the member on it; no member: the reason, where the customer is."""
    if e.member is None:
        return _notice(c, e.notice), ()
    return replace(c, member=e.member, member_screen=False, notice=Notice.NONE, detail=""), (Beep(),)


def _member_open(c: Checkout, _e: MemberTapped) -> Step:
    return replace(c, member_screen=True, printer_offer=False, notice=Notice.NONE, detail=""), ()


def _member_back(c: Checkout, _e: MemberBackTapped) -> Step:
    return replace(c, member_screen=False, notice=Notice.NONE, detail=""), ()


def _code_in_cart(c: Checkout, _e: PaymentCodeScanned) -> Step:
    """A payment code before paying: on the member screen it was shown in place of the member code."""
    return _ignore(c, Notice.NOT_A_MEMBER_CODE if c.member_screen else Notice.SCAN_ITEMS_FIRST)


# --- printing, done, needs help -------------------------------------------------------------------


def _printed(c: Checkout, e: ReceiptPrinted) -> Step:
    if e.order_id != c.order_id:
        return c, ()
    return replace(c, phase=Phase.DONE), ()


def _print_failed(c: Checkout, e: ReceiptFailed) -> Step:
    if e.order_id != c.order_id:
        return c, ()
    if e.e_receipt:
        # Paid: the customer is not held for the paper. The done screen shows the e-receipt QR;
        # staff are told (the print service keeps the receipt for a reprint).
        return replace(c, phase=Phase.DONE, notice=Notice.RECEIPT_ON_PHONE, detail=e.reason), (
            AlertStaff(f"receipt not printed, the customer was shown the e-receipt: {e.reason}", e.order_id),
        )
    # The sale is paid and stays paid; staff reprint once the printer is fixed.
    return replace(c, phase=Phase.NEEDS_HELP, notice=Notice.RECEIPT_FAILED, detail=e.reason), (
        AlertStaff(f"receipt not printed: {e.reason}", e.order_id),
    )


def _reprinted(c: Checkout, e: ReceiptPrinted) -> Step:
    if e.order_id == c.order_id and c.notice is Notice.RECEIPT_FAILED:
        # The reprint queue printed it once the printer recovered: the customer has the receipt.
        return replace(c, phase=Phase.DONE, notice=Notice.NONE, detail=""), ()
    return c, ()


def _next_customer_scans(c: Checkout, e: ProductScanned) -> Step:
    if e.product is None:  # the next customer's scan: their sale starts and hears why nothing was added
        return _ignore(replace(Checkout(), phase=Phase.CART), Notice.UNKNOWN_PRODUCT)
    if e.product.sold_out:
        return _ignore(replace(Checkout(), phase=Phase.CART), Notice.SOLD_OUT)
    return _add(Checkout(), e.product)


def _resolved(c: Checkout, _e: StaffResolved) -> Step:
    keeps_cart = c.notice in (Notice.PRINTER_NOT_READY, Notice.CAMERA_FAULT)
    if c.order_id is None and not c.cart.is_empty and keeps_cart:
        return replace(Checkout(), phase=Phase.CART, cart=c.cart, member=c.member), ()
    return Checkout(), ()


# --- start-up recovery ----------------------------------------------------------------------------


def _recovery_started(_c: Checkout, _e: RecoveryStarted) -> Step:
    return Checkout(phase=Phase.RECOVERING, notice=Notice.CHECKING_LAST_PAYMENT), ()


def _recovery_finished(_c: Checkout, e: RecoveryFinished) -> Step:
    effects: list[Effect] = []
    for order_id in e.paid_orders:
        effects.append(
            AlertStaff(
                f"sale {order_id} was found paid after a restart; its receipt is printed for the customer",
                order_id,
            )
        )
        effects.append(PrintReceipt(order_id))
    for out_trade_no in e.unresolved:
        effects.append(
            AlertStaff(
                f"payment {out_trade_no} is still unresolved after a restart; check it with the gateway"
            )
        )
    if e.failure:
        effects.append(
            AlertStaff(
                f"the check of unfinished payments after a restart stopped short ({e.failure}); "
                "what it did not reach is checked at the next start"
            )
        )
    return Checkout(), tuple(effects)


_CUSTOMER_WAIT = _busy(Notice.CHECKING_LAST_PAYMENT)

#: Every (phase, event) pair, spelt out: an event not listed for a phase is a programming error
#: (InvalidEvent), never a silent answer. ``_stay`` marks the pairs that deliberately change nothing.
TABLE: dict[Phase, dict[type, Handler]] = {
    Phase.ATTRACT: {
        StartTapped: _start,
        ProductScanned: _scanned,
        ProductTapped: _tapped,
        QuantitySet: _stay,  # no cart on screen to change
        PayTapped: _stay,  # no pay button on the attract screen
        OrderOpened: _stay,
        OrderFailed: _stay,
        PaymentCodeScanned: _refuse(Notice.SCAN_ITEMS_FIRST),
        PaymentCodeRefused: _stay,
        PaymentSucceeded: _stay,
        PaymentDeclined: _stay,
        PaymentUnresolved: _stay,
        PaymentProgressed: _stay,
        ReceiptPrinted: _stay,  # a reprint or a receipt found paid at start-up came out
        ReceiptFailed: _stay,  # the print service queued it for reprint
        CancelTapped: _stay,
        TimedOut: _stay,
        IdleAsked: _stay,
        StillHereTapped: _stay,
        StaffResolved: _stay,
        RecoveryStarted: _recovery_started,
        RecoveryFinished: _stay,
        MemberLookedUp: _stay,
        MemberTapped: _stay,
        MemberBackTapped: _stay,
        PrinterOfferAnswered: _stay,
        CameraFailed: _stay,
    },
    Phase.CART: {
        StartTapped: _stay,
        ProductScanned: _scanned,
        ProductTapped: _tapped,
        QuantitySet: _quantity,
        PayTapped: _pay,
        OrderOpened: _stay,
        OrderFailed: _stay,
        PaymentCodeScanned: _code_in_cart,
        PaymentCodeRefused: _stay,
        PaymentSucceeded: _stay,
        PaymentDeclined: _stay,
        PaymentUnresolved: _stay,
        PaymentProgressed: _stay,
        ReceiptPrinted: _stay,
        ReceiptFailed: _stay,
        CancelTapped: _new_sale,
        TimedOut: _new_sale,
        IdleAsked: _idle_asked,
        StillHereTapped: _still_here,
        StaffResolved: _stay,
        RecoveryStarted: _stay,
        RecoveryFinished: _stay,
        MemberLookedUp: _member,
        MemberTapped: _member_open,
        MemberBackTapped: _member_back,
        PrinterOfferAnswered: _printer_offer_answered,
        CameraFailed: _stay,  # the camera is needed only once the customer pays
    },
    Phase.PAYING: {
        StartTapped: _stay,
        ProductScanned: _refuse(Notice.FINISH_PAYMENT_FIRST),
        ProductTapped: _refuse(Notice.FINISH_PAYMENT_FIRST),
        QuantitySet: _refuse(Notice.FINISH_PAYMENT_FIRST),
        PayTapped: _stay,
        OrderOpened: _order_opened,
        OrderFailed: _order_failed,
        PaymentCodeScanned: _code,
        PaymentCodeRefused: _code_refused,
        PaymentSucceeded: _paid,
        PaymentDeclined: _declined,
        PaymentUnresolved: _unresolved,
        PaymentProgressed: _progressed,
        ReceiptPrinted: _stay,
        ReceiptFailed: _stay,
        CancelTapped: _leave_payment,
        TimedOut: _walked_away,
        IdleAsked: _idle_asked,
        StillHereTapped: _still_here,
        StaffResolved: _stay,
        RecoveryStarted: _stay,
        RecoveryFinished: _stay,
        MemberLookedUp: _stay,
        MemberTapped: _stay,
        MemberBackTapped: _stay,
        PrinterOfferAnswered: _stay,
        CameraFailed: _camera_failed,
    },
    Phase.PRINTING: {
        StartTapped: _stay,
        ProductScanned: _stay,
        ProductTapped: _stay,
        QuantitySet: _stay,
        PayTapped: _stay,
        OrderOpened: _stay,
        OrderFailed: _stay,
        PaymentCodeScanned: _stay,
        PaymentCodeRefused: _stay,
        PaymentSucceeded: _stay,
        PaymentDeclined: _stay,
        PaymentUnresolved: _stay,
        PaymentProgressed: _stay,
        ReceiptPrinted: _printed,
        ReceiptFailed: _print_failed,
        CancelTapped: _stay,  # paid: the receipt comes first
        TimedOut: _stay,
        IdleAsked: _stay,
        StillHereTapped: _stay,
        StaffResolved: _stay,
        RecoveryStarted: _stay,
        RecoveryFinished: _stay,
        MemberLookedUp: _stay,
        MemberTapped: _stay,
        MemberBackTapped: _stay,
        PrinterOfferAnswered: _stay,
        CameraFailed: _stay,  # paid: the camera is not needed any more
    },
    Phase.DONE: {
        StartTapped: _new_sale,
        ProductScanned: _next_customer_scans,
        ProductTapped: _stay,
        QuantitySet: _stay,
        PayTapped: _stay,
        OrderOpened: _stay,
        OrderFailed: _stay,
        PaymentCodeScanned: _stay,  # the last customer's phone still in view
        PaymentCodeRefused: _stay,
        PaymentSucceeded: _stay,
        PaymentDeclined: _stay,
        PaymentUnresolved: _stay,
        PaymentProgressed: _stay,
        ReceiptPrinted: _stay,
        ReceiptFailed: _stay,
        CancelTapped: _new_sale,
        TimedOut: _new_sale,
        IdleAsked: _stay,
        StillHereTapped: _stay,
        StaffResolved: _stay,
        RecoveryStarted: _stay,
        RecoveryFinished: _stay,
        MemberLookedUp: _stay,
        MemberTapped: _stay,
        MemberBackTapped: _stay,
        PrinterOfferAnswered: _stay,
        CameraFailed: _stay,
    },
    Phase.NEEDS_HELP: {
        StartTapped: _stay,
        ProductScanned: _stay,
        ProductTapped: _stay,
        QuantitySet: _stay,
        PayTapped: _stay,
        OrderOpened: _stay,
        OrderFailed: _stay,
        PaymentCodeScanned: _stay,
        PaymentCodeRefused: _stay,
        PaymentSucceeded: _stay,
        PaymentDeclined: _stay,
        PaymentUnresolved: _stay,
        PaymentProgressed: _stay,
        ReceiptPrinted: _reprinted,
        ReceiptFailed: _stay,
        CancelTapped: _stay,
        TimedOut: _stay,  # staff are coming: the screen waits for them
        IdleAsked: _stay,
        StillHereTapped: _stay,
        StaffResolved: _resolved,
        RecoveryStarted: _stay,
        RecoveryFinished: _stay,
        MemberLookedUp: _stay,
        MemberTapped: _stay,
        MemberBackTapped: _stay,
        PrinterOfferAnswered: _stay,
        CameraFailed: _stay,
    },
    Phase.RECOVERING: {
        StartTapped: _CUSTOMER_WAIT,
        ProductScanned: _CUSTOMER_WAIT,
        ProductTapped: _CUSTOMER_WAIT,
        QuantitySet: _CUSTOMER_WAIT,
        PayTapped: _CUSTOMER_WAIT,
        OrderOpened: _stay,
        OrderFailed: _stay,
        PaymentCodeScanned: _CUSTOMER_WAIT,  # never charge while the last payment is being checked
        PaymentCodeRefused: _stay,
        PaymentSucceeded: _stay,
        PaymentDeclined: _stay,
        PaymentUnresolved: _stay,
        PaymentProgressed: _stay,
        ReceiptPrinted: _stay,
        ReceiptFailed: _stay,
        CancelTapped: _stay,
        TimedOut: _stay,
        IdleAsked: _stay,
        StillHereTapped: _stay,
        StaffResolved: _stay,  # recovery ends by itself, bounded; staff cannot skip it
        RecoveryStarted: _stay,
        RecoveryFinished: _recovery_finished,
        MemberLookedUp: _stay,
        MemberTapped: _stay,
        MemberBackTapped: _stay,
        PrinterOfferAnswered: _stay,
        CameraFailed: _stay,
    },
}


def transition(c: Checkout, event: Event) -> Step:
    """The whole checkout: the handler ``TABLE`` names for the phase and the event's type."""
    handler = TABLE[c.phase].get(type(event))
    if handler is None:
        raise InvalidEvent(f"no transition for {type(event).__name__} in phase {c.phase}: {event!r}")
    after, effects = handler(c, event)
    if after.still_there_s and not isinstance(event, (IdleAsked, TimedOut)):
        # any touch, scan or answer means someone is there: the question goes away
        after = replace(after, still_there_s=0)
    return after, effects
