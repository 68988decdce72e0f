"""What the store hands back: frozen records and enums, never database rows or bare status strings.

The controller and the payment service read sales through :class:`kiosk.ports.SaleRepository`; if they
got Peewee rows they could lazily load, save or compare a status against a misspelt string, and the
rules that keep money safe would leak out of the store. Times are UTC (timezone-aware).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from kiosk.core.money import Fen
from kiosk.core.payment import PayState


class OrderStatus(enum.StrEnum):
    """open -> paid | cancelled; paid -> refunded."""

    OPEN = "open"
    PAID = "paid"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


class SaleError(RuntimeError):
    """A store operation that must not happen (wrong order state, unknown order)."""


class CodeAlreadyUsed(SaleError):
    """This payment code was already submitted once; it is never submitted twice."""


class StoreFull(SaleError):
    """The disk (or the store's size limit) is full: nothing new can be committed until staff free space."""


@dataclass(frozen=True, slots=True)
class OrderRecord:
    id: str
    kiosk_id: str
    status: OrderStatus
    total_fen: Fen
    currency: str
    created_at: datetime
    paid_at: datetime | None
    receipt_printed: bool
    #: the customer's language when paying ("zh_CN" or "en"): the receipt's language
    language: str = "zh_CN"


@dataclass(frozen=True, slots=True)
class OrderLineRecord:
    sku: str
    name: str
    qty: int
    unit_price_fen: Fen
    line_total_fen: Fen
    #: the product's English name when sold; "" on lines sold before it was kept
    name_en: str = ""

    def name_in(self, language: str) -> str:
        """The item's name as the receipt prints it in ``language`` (Chinese when no English was kept)."""
        return self.name_en if language == "en" and self.name_en else self.name


@dataclass(frozen=True, slots=True)
class PaymentRecord:
    """One attempt to charge one code for one order, under its own ``out_trade_no``."""

    out_trade_no: str
    order_id: str
    channel: str
    gateway: str
    code_masked: str
    amount_fen: Fen
    status: PayState
    transaction_id: str
    reason: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class SaleCounts:
    orders: int
    paid: int
    printed: int
    outbox_pending: int


# --- maintenance mode (issue 10: staff actions) ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class RefundRecord:
    """One refund of a paid payment, full or partial, under its own ``out_refund_no``.

    ``state``: refunding (committed before the gateway call) -> refunded | failed. A full refund made
    before partial refunds existed is reported from its payment row, with the derived refund number.
    """

    out_refund_no: str
    out_trade_no: str
    order_id: str
    channel: str
    amount_fen: Fen
    state: str  # "refunding" | "refunded" | "failed"
    actor: str
    at: datetime


@dataclass(frozen=True, slots=True)
class ProductOverride:
    """Staff's local change to one product, kept apart from HQ's catalog so a catalog delta or snapshot
    never undoes it: ``price_fen`` None keeps HQ's price; cleared by setting both back."""

    sku: str
    price_fen: Fen | None
    out_of_stock: bool
    actor: str
    updated_at: datetime
