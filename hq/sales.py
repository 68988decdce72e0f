"""Sale records from kiosks: the contract (docs/sale-payload.md) as pydantic models.

HQ stores a sale once, keyed by ``order_id`` (``hq.events``). Each stored sale keeps the SHA-256 of
its canonical JSON, so a re-upload under a new event key is told apart from a different sale that
reuses an order_id (a bug or tampering): the first is a duplicate and harmless, the second is
rejected rather than overwrite the books.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    field_validator,
    model_validator,
)

MAX_LINES = 50
MAX_QTY = 99
MAX_UNIT_PRICE_FEN = 100_000_000  # ¥1,000,000 for one item: above that it is a bug, not a sale
_PRINTABLE = r"^[\x21-\x7e]+$"


def _utc_timestamp(value: Any) -> datetime:
    """ISO 8601 text with a zero UTC offset, e.g. 2026-11-24T12:00:00Z; nothing else (no epoch numbers)."""
    if not isinstance(value, str) or len(value) > 40:
        raise ValueError("must be ISO 8601 text in UTC, e.g. 2026-11-24T12:00:00Z")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("is not an ISO 8601 date-time; send e.g. 2026-11-24T12:00:00Z") from None
    if parsed.tzinfo is None or parsed.utcoffset() != UTC.utcoffset(None):
        raise ValueError("must be in UTC with its offset, e.g. 2026-11-24T12:00:00Z (not local time)")
    return parsed.astimezone(UTC)


def _uuid_text(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError("must be a UUID as text, e.g. 0f8fad5b-d9cb-469f-a165-70867728950e")
    return value


UtcTimestamp = Annotated[datetime, BeforeValidator(_utc_timestamp)]
OrderId = Annotated[UUID, BeforeValidator(_uuid_text)]


class SaleLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sku: StrictStr = Field(min_length=1, max_length=64)
    name: StrictStr = Field(min_length=1, max_length=128)
    qty: StrictInt = Field(ge=1, le=MAX_QTY)
    unit_price_fen: StrictInt = Field(ge=0, le=MAX_UNIT_PRICE_FEN)
    line_total_fen: StrictInt = Field(ge=0)

    @model_validator(mode="after")
    def _line_total_is_qty_times_price(self) -> SaleLineIn:
        expected = self.qty * self.unit_price_fen
        if self.line_total_fen != expected:
            raise ValueError(
                f"line_total_fen {self.line_total_fen} is not qty × unit_price_fen "
                f"({self.qty} × {self.unit_price_fen} = {expected})"
            )
        return self


class SaleDiscountIn(BaseModel):
    """A promotion the kiosk applied: ``sku`` names the line it took off ("" for the whole cart)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    promo_id: StrictStr = Field(min_length=1, max_length=64)
    sku: StrictStr = Field("", max_length=64)
    name: StrictStr = Field(min_length=1, max_length=128)
    amount_fen: StrictInt = Field(ge=1, le=MAX_UNIT_PRICE_FEN * MAX_QTY * MAX_LINES)


class KioskRecord(BaseModel):
    """What every record a kiosk uploads shares: a random order id, and a fingerprint of its content
    so a repeat upload is recognised as the same record and a different one as a conflict."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    order_id: OrderId

    @field_validator("order_id")
    @classmethod
    def _not_nil(cls, value: UUID) -> UUID:
        if value.int == 0:
            raise ValueError("the nil UUID is not an order id; the kiosk makes a random one (uuid4)")
        return value

    @property
    def order_key(self) -> str:
        """The order id in its one canonical spelling (lower case, hyphens), as HQ stores and answers it."""
        return str(self.order_id)

    def content_sha256(self) -> str:
        canonical = json.dumps(
            self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class SaleIn(KioskRecord):
    """One paid sale exactly as docs/sale-payload.md describes it. Unknown fields are refused."""

    kiosk_id: StrictStr = Field(pattern=r"^[A-Za-z0-9._-]{1,64}$")
    created_at: UtcTimestamp
    paid_at: UtcTimestamp
    total_fen: StrictInt = Field(ge=0)
    currency: Literal["CNY"]
    channel: Literal["wechat", "alipay"]
    out_trade_no: StrictStr = Field(min_length=1, max_length=64, pattern=_PRINTABLE)
    transaction_id: StrictStr = Field(min_length=1, max_length=64, pattern=_PRINTABLE)
    lines: list[SaleLineIn] = Field(min_length=1, max_length=MAX_LINES)
    #: promotions applied (docs/sale-payload.md); absent on a sale without any
    discounts: list[SaleDiscountIn] = Field(default_factory=list, max_length=MAX_LINES + 1)

    @model_validator(mode="after")
    def _total_is_sum_of_lines(self) -> SaleIn:
        lines = sum(line.line_total_fen for line in self.lines)
        off = sum(d.amount_fen for d in self.discounts)
        if self.total_fen != lines - off:
            raise ValueError(
                f"total_fen {self.total_fen} is not the sum of lines[].line_total_fen ({lines}) less the sum "
                f"of discounts[].amount_fen ({off})"
            )
        by_sku: dict[str, int] = {}
        for line in self.lines:
            by_sku[line.sku] = by_sku.get(line.sku, 0) + line.line_total_fen
        for d in self.discounts:
            if d.sku and d.amount_fen > by_sku.get(d.sku, 0):
                raise ValueError(
                    f"discount {d.promo_id} takes {d.amount_fen} fen off sku {d.sku!r}, more than its lines "
                    f"come to ({by_sku.get(d.sku, 0)})"
                )
        return self

    def content_sha256(self) -> str:
        """As every record's, except that a sale without discounts hashes as it did before sales
        could carry them (so a re-upload of an older sale is still recognised as a duplicate)."""
        body = self.model_dump(mode="json")
        if not body.get("discounts"):
            body.pop("discounts", None)
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
