"""Refund records from kiosks: the contract as a pydantic model, and a sale's refunded amount.

HQ stores a refund once, keyed by the kiosk's ``out_refund_no``, which the kiosk derives from the
payment so it never changes. The rules a refund must meet against its sale (the same kiosk's sale,
paid as the same ``out_trade_no``, refunds never above its total) are applied where refunds are
stored, in ``hq.events``.
"""

from __future__ import annotations

import peewee
from pydantic import Field, StrictInt, StrictStr

from hq.models import Refund
from hq.sales import KioskRecord, UtcTimestamp

MAX_REFUNDS_PER_REQUEST = 1000
_PRINTABLE = r"^[\x21-\x7e]+$"


class RefundIn(KioskRecord):
    """One refund as the kiosk's outbox holds it (docs/hq.md). Unknown fields are refused."""

    kiosk_id: StrictStr = Field(pattern=r"^[A-Za-z0-9._-]{1,64}$")
    out_trade_no: StrictStr = Field(min_length=1, max_length=64, pattern=_PRINTABLE)
    out_refund_no: StrictStr = Field(min_length=1, max_length=64, pattern=_PRINTABLE)
    amount_fen: StrictInt = Field(gt=0)
    refunded_at: UtcTimestamp


def refunded_fen(order_id: str) -> int:
    """How much of a sale has been refunded, as its kiosk reported it."""
    total = Refund.select(peewee.fn.SUM(Refund.amount_fen)).where(Refund.sale == order_id).scalar()
    return int(total or 0)
