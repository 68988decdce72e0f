"""The small interfaces the kiosk talks to the outside world through.

Adapters are named for their technology (``EscposReceiptPrinter``, ``ZxingDecoder``,
``GpiozeroIndicators``, ``WechatMicropayGateway``, ``HttpHqClient``); fakes are ``Fake<Port>`` and
subclass nothing but honour the same protocol. ``kiosk.bootstrap`` is the one place that picks them.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

# the drivers' own types, re-exported so that the kiosk has one name for each
from drivers.camera.types import Decoded as Decoded
from drivers.camera.types import Decoder as Decoder
from drivers.camera.types import Frame as Frame
from drivers.camera.types import FrameSource as FrameSource
from drivers.gpio.types import Light as Light
from drivers.printer.errors import FaultKind as FaultKind
from drivers.printer.errors import PrinterError as PrinterError
from drivers.printer.errors import PrintFault as PrintFault
from drivers.printer.status import PrinterStatus as PrinterStatus
from kiosk.core.cart import Cart, Product
from kiosk.core.members import Member
from kiosk.core.money import Fen
from kiosk.core.payment import ChannelRules, PayState
from kiosk.core.pricing import AppliedDiscount, Promotion
from kiosk.core.receipt import ReceiptLayout
from kiosk.core.records import (
    OrderLineRecord,
    OrderRecord,
    PaymentRecord,
    ProductOverride,
    RefundRecord,
    SaleCounts,
)

# --- camera ---------------------------------------------------------------------------------------
# ``Frame``, ``FrameSource``, ``Decoded`` and ``Decoder`` are defined by the camera drivers, which own
# what they produce and import nothing from the kiosk; they are re-exported here under the same names.

# --- printer --------------------------------------------------------------------------------------


# PrinterStatus, PrinterError, PrintFault and FaultKind are the driver's (drivers/printer), imported above.
# To the driver a ``ReceiptLayout`` is a ``ReceiptDocument``: it matches that protocol without importing it.


class ReceiptPrinter(Protocol):
    def status(self) -> PrinterStatus:
        """What the printer says now (online, paper, cover, errors); never raises."""

    def is_ready(self) -> bool:
        """True when the printer can take a receipt now (``status().ready``, or a cached answer)."""

    def print_receipt(self, order_id: str, layout: ReceiptLayout) -> None:
        """Print and cut the receipt of ``order_id``, or raise PrinterError (a PrintFault says more)."""

    def close(self) -> None: ...


# --- indicators (GPIO) ----------------------------------------------------------------------------
# ``Light`` is defined by the GPIO drivers and re-exported here; ``Indicators`` is the kiosk's port.


class Indicators(Protocol):
    def show(self, light: Light) -> None: ...

    def beep(self, error: bool = False) -> None: ...

    def close(self) -> None: ...


# --- payment --------------------------------------------------------------------------------------


class ChargeStatus(enum.StrEnum):
    PAID = "paid"
    FAILED = "failed"
    USER_PAYING = "user_paying"
    UNKNOWN = "unknown"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


@dataclass(frozen=True, slots=True)
class ChargeRequest:
    out_trade_no: str
    channel: str  # "wechat" | "alipay"
    auth_code: str
    amount_fen: Fen
    subject: str


@dataclass(frozen=True, slots=True)
class ChargeResult:
    status: ChargeStatus
    out_trade_no: str
    transaction_id: str = ""
    reason: str = ""
    #: a cancel/reverse the gateway asks to repeat (WeChat Pay ``recall=Y``, Alipay ``retry_flag=Y``)
    retry: bool = False


@dataclass(frozen=True, slots=True)
class RefundRequest:
    """Give back ``amount_fen`` of a paid charge. ``out_refund_no`` is committed before the call, so a
    repeat after a lost answer is the same refund, never a second one."""

    out_trade_no: str
    out_refund_no: str
    amount_fen: Fen
    total_fen: Fen
    reason: str = ""


class GatewayError(RuntimeError):
    """The gateway could not be reached or answered nonsense: the outcome is unknown, not failed."""


class PaymentGateway(Protocol):
    """One payment channel (or a router in front of several), spoken in the channel's own protocol."""

    name: str

    def rules_for(self, channel: str) -> ChannelRules:
        """The timers this gateway's channel lives by (query interval, give-up time, reverse window).

        Each gateway declares its own rules, so nothing above it checks a gateway or channel by name.
        """

    def pay(self, request: ChargeRequest) -> ChargeResult: ...

    def query(self, out_trade_no: str) -> ChargeResult: ...

    def cancel(self, out_trade_no: str) -> ChargeResult: ...

    def refund(self, request: RefundRequest) -> ChargeResult:
        """REFUNDED, FAILED (refused for good), or GatewayError (unknown: repeat the same request)."""


# --- time -----------------------------------------------------------------------------------------


class Clock(Protocol):
    """Monotonic time and sleep, injected wherever timers decide something (payment channels, idle
    screens), so tests can run a channel's 15 s reverse window without waiting 15 s."""

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class ClockSync(Protocol):
    """Whether the system clock has been set by network time (a Pi has no real-time clock); the
    kiosk takes no payment before it has (``kiosk.core.availability.clock_trusted``)."""

    def synced(self) -> bool:
        """True once synced; never raises (a probe that cannot tell answers False)."""


class GatewayProbe(Protocol):
    """Whether the payment gateway can be reached right now, asked without charging anything."""

    def reachable(self) -> bool:
        """True when a configured channel answered; never raises. May take its timeout: never call
        it on the UI thread or the payment worker."""


# --- HQ -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StaffItem:
    """A staff account as HQ sends it: ``pin_hash`` is argon2id; ``active`` False drops the account."""

    id: int
    name: str
    role: str
    pin_hash: str
    active: bool


@dataclass(frozen=True, slots=True)
class PictureRef:
    """A product's picture as the catalog names it; the bytes come from HQ by sku (kiosk.sync.pictures)."""

    name: str  # "<sku>.png" | "<sku>.jpg"
    sha256: str
    size: int


@dataclass(frozen=True, slots=True)
class CatalogItem:
    sku: str
    name_zh: str
    name_en: str
    price_fen: Fen
    barcode: str | None
    category: str
    active: bool = True
    #: HQ's picture of the product (None: none, or one this kiosk could not use)
    picture: PictureRef | None = None


@dataclass(frozen=True, slots=True)
class CatalogUpdate:
    """One answer of ``GET /api/v1/sync/catalog`` (docs/sync-protocol.md §5), checked.

    ``kind`` "snapshot" replaces the catalog (products absent from it become inactive) and every
    setting; "delta" changes only what it lists. A setting whose value is None was removed.
    """

    kind: str  # "delta" | "snapshot"
    since: int
    version: int
    products: tuple[CatalogItem, ...]
    settings: dict[str, Any]
    #: staff accounts for this kiosk's store (a snapshot: all of them; a delta: the changed ones)
    staff: tuple[StaffItem, ...] = ()
    #: HQ's Ed25519 badge public key, base64 ("" when HQ sent none: badges cannot be checked)
    badge_public_key: str = ""
    #: every promotion HQ runs for this kiosk's store, as HQ's JSON objects (in a snapshot and in a
    #: delta alike: the list replaces the kiosk's); None: HQ sent none (an older HQ), keep what is held
    promotions: tuple[dict[str, Any], ...] | None = None


class HqError(RuntimeError):
    """A request to HQ failed as a whole: unreachable, refused, or an answer we cannot use.

    ``unreachable`` is True when HQ never answered (refused connection, timeout): HQ is down or the
    network is, and it is worth trying again within seconds. ``retry_after_s`` is HQ's own word on
    when to come back (429/503 ``Retry-After``). ``refusal`` is HQ's reason when it refused this
    kiosk's signature (401 ``detail.reason``: ``revoked``, ``unknown_kiosk``, ``signature``, ...), so
    callers can tell "enrol again" from "try again later".
    """

    def __init__(
        self,
        message: str,
        *,
        unreachable: bool = False,
        retry_after_s: float | None = None,
        refusal: str = "",
    ) -> None:
        super().__init__(message)
        self.unreachable = unreachable
        self.retry_after_s = retry_after_s
        self.refusal = refusal


@dataclass(frozen=True, slots=True)
class OutEvent:
    """One outbox event as it goes to HQ (docs/sync-protocol.md §3)."""

    key: str
    kind: str  # sale, refund, payment, audit, heartbeat
    at: str  # ISO 8601 UTC
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class EventResult:
    """HQ's word on one event: stored, duplicate (stored before) or rejected (never, as it is)."""

    key: str
    status: str  # "stored" | "duplicate" | "rejected"
    problems: tuple[str, ...] = ()


class HqClient(Protocol):
    def push_events(self, events: Sequence[OutEvent]) -> list[EventResult]:
        """Send the events in this order, in one request; HQ's result for each. HqError when the
        request failed as a whole (nothing is known about any event: send them again)."""

    def fetch_catalog(self, since: int) -> CatalogUpdate | None:
        """What changed after catalog version ``since`` (0: everything); None when nothing did."""

    @property
    def clock_offset_s(self) -> float:
        """HQ's clock minus ours, seconds, as last measured (0 before HQ has answered)."""


# --- outbox (the local queue of events waiting to reach HQ) ---------------------------------------


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    key: str
    kind: str  # sale, refund, payment, audit, heartbeat
    payload: dict[str, Any]
    attempts: int
    created_at: datetime


class Outbox(Protocol):
    """The store side of sync: what waits for HQ, and what became of it."""

    def due(self, limit: int) -> list[OutboxItem]:
        """Pending events, oldest first (parked and sent ones never come back)."""

    def mark_sent(self, ids: Sequence[int]) -> None: ...

    def mark_failed(self, ids: Sequence[int], error: str) -> None:
        """Count an attempt that failed as a whole; the events stay pending, in their place."""

    def park(self, item_id: int, reason: str) -> None:
        """HQ rejected the event for good: take it out of the queue, keep it with the reason, audit it."""

    def pending_count(self) -> int: ...

    def parked_count(self) -> int: ...

    def oldest_pending_at(self) -> datetime | None:
        """When the oldest pending event was queued (naive UTC), None when nothing waits."""


class CatalogSink(Protocol):
    """Where HQ's catalog lands: the version the kiosk holds, and applying an answer atomically."""

    def catalog_version(self) -> int: ...

    def apply_catalog(self, update: CatalogUpdate) -> int:
        """Products, settings and version in one transaction; how many products changed."""


# --- the store (sales, payments, refunds, audit) --------------------------------------------------


class SaleRepository(Protocol):
    """The checkout's, the payment service's and the start-up recovery's view of the local store.

    Every write commits before it returns, so a crash right after leaves it on disk; every read returns
    frozen records (``kiosk.core.records``). The rules that keep money safe live behind it: a code is
    submitted once, a fresh ``out_trade_no`` is committed before any call, and "paid" commits the
    payment, the order and the outbox row for HQ together. ``kiosk.store.sales.SaleStore`` is the
    SQLite implementation.
    """

    # catalog
    def products(self) -> list[Product]:
        """Active products at the till's price; those staff marked out of stock come ``sold_out``."""

    def product_by_barcode(self, barcode: str) -> Product | None:
        """As ``products``: a product staff marked out of stock comes ``sold_out``; None: unknown."""

    def replace_catalog(self, items: Iterable[CatalogItem]) -> int: ...

    # promotions
    def promotions(self) -> list[Promotion]:
        """The promotions HQ sent (any validity window; ``kiosk.core.pricing`` picks those valid now)."""

    # orders
    def open_order(
        self, cart: Cart, language: str = "zh_CN", discounts: Sequence[AppliedDiscount] = ()
    ) -> str:
        """Commit the cart as an open order in the customer's ``language`` (its receipt's), with the
        promotions applied to it; the order's total is the cart's less ``discounts``. Its id."""

    def order_discounts(self, order_id: str) -> list[AppliedDiscount]:
        """The discounts the order was opened with, in the order they were applied."""

    def set_order_language(self, order_id: str, language: str) -> None:
        """An open order's receipt is to be in ``language`` (the customer switched before paying)."""

    def cancel_order(self, order_id: str) -> None:
        """An open order becomes cancelled; any other order is left as it is."""

    def mark_receipt_printed(self, order_id: str) -> None: ...

    def order(self, order_id: str) -> OrderRecord:
        """The order; SaleError when there is none."""

    def order_lines(self, order_id: str) -> list[OrderLineRecord]: ...

    def unprinted_paid_orders(self, since: datetime) -> list[str]:
        """Paid orders since ``since`` whose receipt never printed and was never queued for reprint."""

    def close_abandoned_orders(self) -> list[str]:
        """Cancel every open order with no payment left open (a crash between the order and its
        payment, or after a decline): they can never be paid any more. Their ids."""

    # payments
    def begin_payment(self, order_id: str, channel: str, gateway: str, code: str) -> PaymentRecord:
        """Commit a new attempt, "submitted", with a fresh ``out_trade_no``, before any gateway call.

        CodeAlreadyUsed when the code was ever submitted; SaleError when the order is not open or
        already has a payment in progress.
        """

    def update_payment(self, out_trade_no: str, state: PayState, reason: str = "") -> None:
        """Record a state that is not "paid" (user paying, unknown, cancelling, failed, cancelled)."""

    def record_paid(self, out_trade_no: str, transaction_id: str) -> str:
        """Payment paid, order paid and the sale queued for HQ in one transaction; the order id."""

    def payment(self, out_trade_no: str) -> PaymentRecord | None: ...

    def payment_channel(self, out_trade_no: str) -> str | None: ...

    def paid_payment(self, order_id: str) -> PaymentRecord | None: ...

    def unfinished_payments(self) -> list[PaymentRecord]:
        """Payments without a final answer (what a crash left), oldest first."""

    def payments_between(self, start: datetime, end: datetime) -> list[PaymentRecord]:
        """Every payment created in [start, end), whatever became of it (the gateway reconciliation)."""

    def sales_paid_between(self, start: datetime, end: datetime) -> list[PaymentRecord]:
        """The payments of sales paid in [start, end), by the sale's paid time (the Z-report)."""

    # refunds
    def refundable_payment(self, order_id: str) -> PaymentRecord | None: ...

    def refunds_in_flight(self) -> list[PaymentRecord]: ...

    def begin_refund(self, out_trade_no: str, actor: str) -> str:
        """Commit "refunding" and return the refund number, before the gateway is called."""

    def record_refund(self, out_trade_no: str, refund_id: str, actor: str) -> None: ...

    def abandon_refund(self, out_trade_no: str, reason: str, actor: str) -> None: ...

    # staff and figures
    def audit(self, actor: str, action: str, detail: str = "") -> None: ...

    def counts(self) -> SaleCounts: ...

    # maintenance mode: partial refunds, the day's figures, staff overrides of the catalog
    def refunded_fen(self, out_trade_no: str) -> int:
        """What has gone back of this payment so far (confirmed refunds), fen."""

    def partial_refund_in_flight(self, order_id: str) -> RefundRecord | None: ...

    def begin_partial_refund(self, out_trade_no: str, amount_fen: Fen, actor: str) -> RefundRecord:
        """Commit a part under a fresh refund number before the call; SaleError past what was paid."""

    def record_partial_refund(self, out_refund_no: str, refund_id: str, actor: str) -> None: ...

    def abandon_partial_refund(self, out_refund_no: str, reason: str, actor: str) -> None: ...

    def refunds_between(self, start: datetime, end: datetime) -> list[RefundRecord]: ...

    def orders_between(self, start: datetime, end: datetime) -> list[OrderRecord]: ...

    def audit_between(self, start: datetime, end: datetime, action: str) -> list[tuple[datetime, str, str]]:
        """(at, actor, detail) of the audit rows named ``action`` in [start, end)."""

    def catalog_product(self, sku: str) -> Product | None:
        """The product as HQ's catalog has it, no staff override applied."""

    def product_override(self, sku: str) -> ProductOverride | None: ...

    def set_product_override(self, sku: str, price_fen: Fen | None, out_of_stock: bool, actor: str) -> None:
        """Staff's price and stock mark for ``sku``, kept across catalog updates; (None, False) clears."""


# --- members (the seam for the members release) ---------------------------------------------------


class MembersNotOffered(RuntimeError):
    """This kiosk has no member directory: the sign-in screen says membership is not offered here."""


class MemberDirectory(Protocol):
    """Finds a member by mobile number (11 digits, ``kiosk.core.members.normalise_phone``) or by the
    text of a member QR code. May do I/O (HQ): the controller calls it off the UI thread.

    Returns the member, or None when there is none; raises ``MembersNotOffered`` when this kiosk
    offers no membership, and any other exception when the directory could not be asked."""

    def lookup(self, *, phone: str = "", code: str = "") -> Member | None: ...


class NoMemberDirectory:
    """The default until the members release: every lookup answers "not offered at this kiosk"."""

    def lookup(self, *, phone: str = "", code: str = "") -> Member | None:
        raise MembersNotOffered("membership is not offered at this kiosk yet")
