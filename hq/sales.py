"""Sale records from kiosks: the contract (docs/sale-payload.md) as pydantic models, and storing them.

HQ stores a sale once, keyed by ``order_id``. Each stored sale keeps the SHA-256 of its canonical
JSON, so a re-upload (a kiosk retrying after a lost reply) is told apart from a different sale that
reuses an order_id (a bug or tampering): the first is a duplicate and harmless, the second is a
conflict and HQ refuses the request rather than overwrite the books.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import peewee
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

from hq.models import Sale, SaleLine, database, utc_now

MAX_SALES_PER_REQUEST = 1000
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

    @model_validator(mode="after")
    def _total_is_sum_of_lines(self) -> SaleIn:
        expected = sum(line.line_total_fen for line in self.lines)
        if self.total_fen != expected:
            raise ValueError(
                f"total_fen {self.total_fen} is not the sum of lines[].line_total_fen ({expected})"
            )
        return self


@dataclass(frozen=True, slots=True)
class IngestResult:
    stored: list[str]
    duplicates: list[str]


class SaleConflictError(ValueError):
    """Order ids that HQ holds (or this request holds twice) with different content. Nothing was stored."""

    def __init__(self, order_ids: Sequence[str]) -> None:
        super().__init__("conflicting order ids: " + ", ".join(order_ids))
        self.order_ids = list(order_ids)


def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def _ingest_once(sales: Sequence[SaleIn], received_at: datetime) -> IngestResult:
    wanted: dict[str, tuple[SaleIn, str]] = {}
    conflicts: list[str] = []
    for sale in sales:
        key, digest = sale.order_key, sale.content_sha256()
        seen = wanted.setdefault(key, (sale, digest))
        if seen[1] != digest and key not in conflicts:
            conflicts.append(key)
    with database.atomic():
        known: dict[str, str] = {}
        for chunk in peewee.chunked(list(wanted), 500):
            query = Sale.select(Sale.order_id, Sale.content_sha256).where(Sale.order_id.in_(chunk))
            known.update({row.order_id: row.content_sha256 for row in query})
        conflicts += [key for key, (_, digest) in wanted.items() if key in known and known[key] != digest]
        if conflicts:
            raise SaleConflictError(sorted(set(conflicts)))
        new = [(key, sale, digest) for key, (sale, digest) in wanted.items() if key not in known]
        sale_rows = [
            {
                "order_id": key,
                "kiosk_id": sale.kiosk_id,
                "created_at": _naive_utc(sale.created_at),
                "paid_at": _naive_utc(sale.paid_at),
                "total_fen": sale.total_fen,
                "currency": sale.currency,
                "channel": sale.channel,
                "out_trade_no": sale.out_trade_no,
                "transaction_id": sale.transaction_id,
                "content_sha256": digest,
                "received_at": received_at,
            }
            for key, sale, digest in new
        ]
        line_rows = [
            {
                "sale": key,
                "line_no": number,
                "sku": line.sku,
                "name": line.name,
                "qty": line.qty,
                "unit_price_fen": line.unit_price_fen,
                "line_total_fen": line.line_total_fen,
            }
            for key, sale, _ in new
            for number, line in enumerate(sale.lines, start=1)
        ]
        # bounded statements: SQLite allows 32766 parameters, PostgreSQL 65535
        for rows in peewee.chunked(sale_rows, 500):
            Sale.insert_many(rows).execute()
        for rows in peewee.chunked(line_rows, 1000):
            SaleLine.insert_many(rows).execute()
    stored = {key for key, _, _ in new}
    return IngestResult(
        stored=[key for key in wanted if key in stored],
        duplicates=[key for key in wanted if key not in stored],
    )


def ingest_sales(sales: Sequence[SaleIn], received_at: datetime | None = None) -> IngestResult:
    """Store the sales HQ does not hold yet, all in one transaction; report new and already-known ids.

    On PostgreSQL two uploads of the same new sale can race between the lookup and the insert; the
    loser's insert fails on the primary key and one retry then sees the sale as a duplicate. (SQLite
    transactions here begin IMMEDIATE, so they never race.)
    """
    moment = received_at or utc_now()
    try:
        return _ingest_once(sales, moment)
    except peewee.IntegrityError:
        return _ingest_once(sales, moment)
