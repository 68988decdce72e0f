"""The checkout as a pure state machine: ``transition(checkout, event) -> (checkout, effects)``.

Phases follow the customer: attract -> cart -> paying -> printing -> done, with needs-help for
anything a person must sort out. Events are facts in the past tense; effects are commands that the
controller carries out through ports (store, gateway, printer, indicators) and whose outcomes come
back as further events. Because nothing here does I/O, every odd case (a scan during payment, a
cancel while a charge is in flight, a printer error after payment) is a line in a table-driven test.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace

from kiosk.core.cart import Cart, CartError, Product
from kiosk.core.codes import CodeKind
from kiosk.core.money import Fen


class Phase(enum.StrEnum):
    ATTRACT = "attract"
    CART = "cart"
    PAYING = "paying"
    PRINTING = "printing"
    DONE = "done"
    NEEDS_HELP = "needs_help"


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
    product: Product


@dataclass(frozen=True, slots=True)
class QuantitySet:
    product: Product
    qty: int


@dataclass(frozen=True, slots=True)
class PayTapped:
    """The customer asked to pay; ``printer_ready`` is what the printer said just before."""

    printer_ready: bool = True


@dataclass(frozen=True, slots=True)
class OrderOpened:
    """The order and its lines are committed to the store; payment may now be taken against it."""

    order_id: str


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
class ReceiptPrinted:
    order_id: str


@dataclass(frozen=True, slots=True)
class ReceiptFailed:
    order_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class CancelTapped:
    pass


@dataclass(frozen=True, slots=True)
class TimedOut:
    """The idle or done timer of the current phase ran out."""


@dataclass(frozen=True, slots=True)
class StaffResolved:
    """Staff cleared a needs-help situation."""


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
    | ReceiptPrinted
    | ReceiptFailed
    | CancelTapped
    | TimedOut
    | StaffResolved
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


class InvalidEvent(ValueError):
    """Raised only for programming errors (an event type the machine does not know)."""


def _notice(c: Checkout, notice: Notice, detail: str = "") -> Checkout:
    return replace(c, notice=notice, detail=detail)


def _ignore(c: Checkout, notice: Notice) -> tuple[Checkout, tuple[Effect, ...]]:
    return _notice(c, notice), (Beep(error=True),)


def _add(c: Checkout, product: Product, qty: int | None = None) -> tuple[Checkout, tuple[Effect, ...]]:
    try:
        cart = c.cart.add(product) if qty is None else c.cart.set_qty(product, qty)
    except CartError:
        return _ignore(c, Notice.CART_LIMIT)
    return replace(c, phase=Phase.CART, cart=cart, notice=Notice.NONE, detail=""), (Beep(),)


def transition(c: Checkout, event: Event) -> tuple[Checkout, tuple[Effect, ...]]:
    """The whole checkout. Events that make no sense in a phase leave the state as it is."""
    match c.phase, event:
        # attract and cart: building the sale
        case Phase.ATTRACT, StartTapped():
            return replace(c, phase=Phase.CART, notice=Notice.NONE), ()
        case ((Phase.ATTRACT | Phase.CART), ProductScanned(product=None)):
            return _ignore(replace(c, phase=Phase.CART), Notice.UNKNOWN_PRODUCT)
        case ((Phase.ATTRACT | Phase.CART), ProductScanned(product=Product() as p)):
            return _add(c, p)
        case ((Phase.ATTRACT | Phase.CART), ProductTapped(product=p)):
            return _add(c, p)
        case Phase.CART, QuantitySet(product=p, qty=q):
            return _add(c, p, q)
        case ((Phase.ATTRACT | Phase.CART), PaymentCodeScanned()):
            return _ignore(c, Notice.SCAN_ITEMS_FIRST)
        case Phase.CART, PayTapped(printer_ready=ready):
            if c.cart.is_empty:
                return _ignore(c, Notice.CART_EMPTY)
            if not ready:
                return (
                    replace(c, phase=Phase.NEEDS_HELP, notice=Notice.PRINTER_NOT_READY),
                    (AlertStaff("printer not ready before payment"),),
                )
            return replace(c, phase=Phase.PAYING, notice=Notice.NONE, detail=""), (OpenOrder(c.cart),)
        case Phase.CART, CancelTapped() | TimedOut():
            return Checkout(), ()

        # paying: the order is committed first, then codes are charged one at a time
        case Phase.PAYING, OrderOpened(order_id=oid) if c.order_id is None:
            return replace(c, order_id=oid), (StartCamera(),)
        case Phase.PAYING, OrderFailed(reason=why):
            return replace(c, phase=Phase.CART, notice=Notice.ORDER_NOT_SAVED, detail=why), (
                AlertStaff(f"order could not be saved: {why}"),
            )
        case Phase.PAYING, PaymentCodeScanned(kind=kind, code=code):
            if c.charging:
                return _notice(c, Notice.PAYMENT_IN_PROGRESS), ()
            if c.order_id is None:
                return _notice(c, Notice.PAYMENT_IN_PROGRESS), ()
            if kind not in (CodeKind.WECHAT, CodeKind.ALIPAY):
                return _ignore(c, Notice.NOT_A_PAYMENT_CODE)
            return replace(c, charging=True, notice=Notice.NONE, detail=""), (
                Beep(),
                ChargePayment(c.order_id, kind, code, c.cart.total_fen),
            )
        case Phase.PAYING, PaymentCodeRefused() if not c.charging:
            return _ignore(c, Notice.CODE_ALREADY_USED)
        case Phase.PAYING, ProductScanned() | ProductTapped() | QuantitySet():
            return _ignore(c, Notice.FINISH_PAYMENT_FIRST)
        case Phase.PAYING, PaymentSucceeded(order_id=oid, channel=ch) if oid == c.order_id:
            return replace(c, phase=Phase.PRINTING, charging=False, paid_channel=ch, notice=Notice.NONE), (
                StopCamera(),
                PrintReceipt(oid),
            )
        case Phase.PAYING, PaymentDeclined(order_id=oid, reason=why) if oid == c.order_id:
            return replace(c, charging=False, notice=Notice.PAYMENT_DECLINED, detail=why), (Beep(error=True),)
        case Phase.PAYING, PaymentUnresolved(order_id=oid, reason=why) if oid == c.order_id:
            return (
                replace(c, phase=Phase.NEEDS_HELP, charging=False, notice=Notice.PAYMENT_UNKNOWN, detail=why),
                (StopCamera(), AlertStaff(f"payment not resolved: {why}", oid)),
            )
        case Phase.PAYING, CancelTapped() | TimedOut():
            if c.charging:
                # The gateway may already have the money: only its answer may end this payment.
                return _notice(c, Notice.PAYMENT_IN_PROGRESS), ()
            effects: tuple[Effect, ...] = (StopCamera(),)
            if c.order_id is not None:
                effects += (CancelOrder(c.order_id),)
            return replace(Checkout(), phase=Phase.CART, cart=c.cart), effects

        # printing and done
        case Phase.PRINTING, ReceiptPrinted(order_id=oid) if oid == c.order_id:
            return replace(c, phase=Phase.DONE), ()
        case Phase.PRINTING, ReceiptFailed(order_id=oid, reason=why) if oid == c.order_id:
            # The sale is paid and stays paid; staff reprint once the printer is fixed.
            return replace(c, phase=Phase.NEEDS_HELP, notice=Notice.RECEIPT_FAILED, detail=why), (
                AlertStaff(f"receipt not printed: {why}", oid),
            )
        case Phase.NEEDS_HELP, ReceiptPrinted(order_id=oid) if (
            oid == c.order_id and c.notice is Notice.RECEIPT_FAILED
        ):
            # The reprint queue printed it once the printer recovered: the customer has the receipt.
            return replace(c, phase=Phase.DONE, notice=Notice.NONE, detail=""), ()
        case Phase.DONE, TimedOut() | StartTapped() | CancelTapped():
            return Checkout(), ()
        case Phase.DONE, ProductScanned(product=Product() as p):
            return _add(Checkout(), p)
        case Phase.NEEDS_HELP, StaffResolved():
            if c.order_id is not None and c.paid_channel:
                return Checkout(), ()
            if c.order_id is None and not c.cart.is_empty and c.notice is Notice.PRINTER_NOT_READY:
                return replace(Checkout(), phase=Phase.CART, cart=c.cart), ()
            return Checkout(), ()
        case _, (
            StartTapped()
            | ProductScanned()
            | ProductTapped()
            | QuantitySet()
            | PayTapped()
            | OrderOpened()
            | OrderFailed()
            | PaymentCodeScanned()
            | PaymentCodeRefused()
            | PaymentSucceeded()
            | PaymentDeclined()
            | PaymentUnresolved()
            | ReceiptPrinted()
            | ReceiptFailed()
            | CancelTapped()
            | TimedOut()
            | StaffResolved()
        ):
            return c, ()
    raise InvalidEvent(f"not a checkout event: {event!r}")
