"""Refund records from kiosks: the contract as pydantic models, checks against the sales, and storing them.

HQ stores a refund once, keyed by the kiosk's ``out_refund_no``, which the kiosk derives from the
payment so it never changes between uploads. As with sales, each stored refund keeps the SHA-256 of
its canonical JSON: a re-upload is a harmless duplicate, a different record under the same number is
a conflict (409) and nothing is stored. A refund of a sale HQ does not hold (yet) is refused (422):
the kiosk uploads sales before refunds and simply tries the refund again later. A refund of another
kiosk's sale gets exactly that answer too, checked before anything else, so HQ's answers never tell
one kiosk which of another kiosk's order ids exist.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import peewee
from pydantic import Field, StrictInt, StrictStr

from hq.models import Refund, Sale, database, utc_now
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


@dataclass(frozen=True, slots=True)
class RefundIngestResult:
    stored: list[str]
    duplicates: list[str]


class RefundConflictError(ValueError):
    """Refund numbers HQ holds (or this request holds twice) with different content. Nothing was stored."""

    def __init__(self, refund_nos: Sequence[str]) -> None:
        super().__init__("conflicting refund numbers: " + ", ".join(refund_nos))
        self.refund_nos = list(refund_nos)


@dataclass(frozen=True, slots=True)
class RefusedRefund:
    index: int
    out_refund_no: str
    problem: str
    field: str = "order_id"


class RefundsRefused(ValueError):
    """Refunds HQ cannot take as they stand (sale unknown, other kiosk, more than was paid). Nothing stored."""

    def __init__(self, refused: Sequence[RefusedRefund]) -> None:
        super().__init__("; ".join(f"{r.out_refund_no}: {r.problem}" for r in refused))
        self.refused = list(refused)

    def detail(self) -> list[dict[str, Any]]:
        return [
            {
                "index": r.index,
                "out_refund_no": r.out_refund_no,
                "problems": [{"field": r.field, "problem": r.problem}],
            }
            for r in self.refused
        ]


def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def _sales_of(refunds: Sequence[RefundIn]) -> tuple[dict[str, Sale], dict[str, int]]:
    """The sales the refunds name, and how much of each is refunded already, by order id."""
    keys = sorted({r.order_key for r in refunds})
    sales: dict[str, Sale] = {}
    refunded: dict[str, int] = {}
    for chunk in peewee.chunked(keys, 500):
        sales.update({s.order_id: s for s in Sale.select().where(Sale.order_id.in_(chunk))})
        query = (
            Refund.select(Refund.sale, peewee.fn.SUM(Refund.amount_fen))
            .where(Refund.sale.in_(chunk))
            .group_by(Refund.sale)
            .tuples()
        )
        rows = cast(Iterable[tuple[Any, Any]], query)  # .tuples() rows; peewee's stubs say models
        refunded.update({str(order_id): int(total) for order_id, total in rows})
    return sales, refunded


def _not_found(refunds: Sequence[RefundIn], sales: dict[str, Sale]) -> list[RefusedRefund]:
    """Refunds of a sale this kiosk has not uploaded: HQ holds no such sale, or another kiosk's.

    Both get the same words and are checked before anything else (conflicts included), so a kiosk
    cannot learn from HQ's answer whether another kiosk's order id or refund exists.
    """
    return [
        RefusedRefund(
            index,
            r.out_refund_no,
            f"HQ holds no sale {r.order_key} from kiosk {r.kiosk_id}; "
            "upload the sale first, then send the refund again",
        )
        for index, r in enumerate(refunds)
        if (sale := sales.get(r.order_key)) is None or sale.kiosk_id != r.kiosk_id
    ]


def _check_against_sales(
    refunds: Sequence[RefundIn],
    new: dict[str, tuple[RefundIn, str]],
    known: dict[str, str],
    sales: dict[str, Sale],
    refunded: dict[str, int],
) -> list[RefusedRefund]:
    """What is wrong with each refund given its own kiosk's sale (new refunds counted together)."""
    refused = [
        RefusedRefund(
            index,
            r.out_refund_no,
            f"sale {r.order_key} was paid as {sales[r.order_key].out_trade_no}, not {r.out_trade_no}",
            "out_trade_no",
        )
        for index, r in enumerate(refunds)
        if sales[r.order_key].out_trade_no != r.out_trade_no
    ]
    if refused:
        return refused
    for key, (r, _) in new.items():
        if key in known:
            continue
        total = refunded.get(r.order_key, 0) + r.amount_fen
        refunded[r.order_key] = total
        sale = sales[r.order_key]
        if total > sale.total_fen:
            index = next(i for i, x in enumerate(refunds) if x.out_refund_no == key)
            refused.append(
                RefusedRefund(
                    index,
                    key,
                    f"refunds of sale {r.order_key} would come to {total} fen, more than its {sale.total_fen}",
                    "amount_fen",
                )
            )
    return refused


def _ingest_once(refunds: Sequence[RefundIn], received_at: datetime) -> RefundIngestResult:
    wanted: dict[str, tuple[RefundIn, str]] = {}
    conflicts: list[str] = []
    for r in refunds:
        digest = r.content_sha256()
        seen = wanted.setdefault(r.out_refund_no, (r, digest))
        if seen[1] != digest and r.out_refund_no not in conflicts:
            conflicts.append(r.out_refund_no)
    with database.atomic():
        sales, refunded = _sales_of(refunds)
        refused = _not_found(refunds, sales)
        if refused:
            raise RefundsRefused(refused)
        known: dict[str, str] = {}
        for chunk in peewee.chunked(list(wanted), 500):
            query = Refund.select(Refund.out_refund_no, Refund.content_sha256).where(
                Refund.out_refund_no.in_(chunk)
            )
            known.update({row.out_refund_no: row.content_sha256 for row in query})
        conflicts += [key for key, (_, digest) in wanted.items() if key in known and known[key] != digest]
        if conflicts:
            raise RefundConflictError(sorted(set(conflicts)))
        refused = _check_against_sales(refunds, wanted, known, sales, refunded)
        if refused:
            raise RefundsRefused(refused)
        rows = [
            {
                "out_refund_no": key,
                "sale": r.order_key,
                "kiosk_id": r.kiosk_id,
                "out_trade_no": r.out_trade_no,
                "amount_fen": r.amount_fen,
                "refunded_at": _naive_utc(r.refunded_at),
                "content_sha256": digest,
                "received_at": received_at,
            }
            for key, (r, digest) in wanted.items()
            if key not in known
        ]
        for chunk_rows in peewee.chunked(rows, 500):
            Refund.insert_many(chunk_rows).execute()
    stored = {row["out_refund_no"] for row in rows}
    return RefundIngestResult(
        stored=[key for key in wanted if key in stored],
        duplicates=[key for key in wanted if key not in stored],
    )


def ingest_refunds(refunds: Sequence[RefundIn], received_at: datetime | None = None) -> RefundIngestResult:
    """Store the refunds HQ does not hold yet, all in one transaction; report new and known numbers.

    As for sales, a PostgreSQL race between lookup and insert is settled by one retry.
    """
    moment = received_at or utc_now()
    try:
        return _ingest_once(refunds, moment)
    except peewee.IntegrityError:
        return _ingest_once(refunds, moment)


def refunded_fen(order_id: str) -> int:
    """How much of a sale has been refunded, as its kiosk reported it."""
    total = Refund.select(peewee.fn.SUM(Refund.amount_fen)).where(Refund.sale == order_id).scalar()
    return int(total or 0)
