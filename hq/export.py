"""``hq sales export``: sales for ERP and BI systems, as CSV (one row per sale line) or JSON.

Sales are chosen by when they were paid (UTC), optionally for one store, and come oldest first with
their lines, payment ids, store, kiosk and the amount refunded so far. Money is integer fen, as
everywhere in HQ. CSV is UTF-8 with a byte-order mark, so Excel opens Chinese names correctly by a
double click; every other CSV reader that knows UTF-8 ("utf-8-sig" in Python) reads it as well.
The rows are read and written in chunks, so a year of sales does not have to fit in memory.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any, TextIO, cast

import peewee

from hq.models import Refund, Sale, SaleLine, Store, utc_text

CSV_COLUMNS = (
    "order_id",
    "paid_at",
    "store",
    "kiosk_id",
    "channel",
    "out_trade_no",
    "transaction_id",
    "currency",
    "total_fen",
    "refunded_fen",
    "line_no",
    "sku",
    "name",
    "qty",
    "unit_price_fen",
    "line_total_fen",
)
_CHUNK = 500


def parse_moment(text: str) -> datetime | None:
    """``YYYY-MM-DD`` (the start of that UTC day) or ISO 8601 with an offset, as naive UTC; else None."""
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time())
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.astimezone(UTC).replace(tzinfo=None)


@dataclass(frozen=True, slots=True)
class ExportFilter:
    since: datetime
    until: datetime | None = None
    store_id: int | None = None


def sales(filter_: ExportFilter) -> Iterator[dict[str, Any]]:
    """Every chosen sale as a dict with its lines, oldest first. Must run inside a connection."""
    stores = {s.id: s.code for s in Store.select()}
    query = Sale.select().where(Sale.paid_at >= filter_.since)
    if filter_.until is not None:
        query = query.where(Sale.paid_at < filter_.until)
    if filter_.store_id is not None:
        query = query.where(Sale.store_id == filter_.store_id)
    last: tuple[datetime, str] | None = None
    while True:
        page = query
        if last is not None:
            page = page.where(
                (Sale.paid_at > last[0]) | ((Sale.paid_at == last[0]) & (Sale.order_id > last[1]))
            )
        chunk = list(page.order_by(Sale.paid_at, Sale.order_id).limit(_CHUNK))
        if not chunk:
            return
        ids = [s.order_id for s in chunk]
        lines: dict[str, list[SaleLine]] = {}
        for line in SaleLine.select().where(SaleLine.sale.in_(ids)).order_by(SaleLine.line_no):
            lines.setdefault(str(line.order_id), []).append(line)  # type: ignore[attr-defined]
        totals = (
            Refund.select(Refund.sale, peewee.fn.SUM(Refund.amount_fen))
            .where(Refund.sale.in_(ids))
            .group_by(Refund.sale)
            .tuples()
        )
        rows = cast(Iterable[tuple[Any, Any]], totals)
        refunded = {str(order_id): int(total) for order_id, total in rows}
        for s in chunk:
            yield {
                "order_id": s.order_id,
                "paid_at": utc_text(s.paid_at),
                "created_at": utc_text(s.created_at),
                "store": stores.get(s.store_id) if s.store_id is not None else None,
                "kiosk_id": s.kiosk_id,
                "channel": s.channel,
                "out_trade_no": s.out_trade_no,
                "transaction_id": s.transaction_id,
                "currency": s.currency,
                "total_fen": s.total_fen,
                "refunded_fen": refunded.get(s.order_id, 0),
                "lines": [
                    {
                        "line_no": line.line_no,
                        "sku": line.sku,
                        "name": line.name,
                        "qty": line.qty,
                        "unit_price_fen": line.unit_price_fen,
                        "line_total_fen": line.line_total_fen,
                    }
                    for line in lines.get(s.order_id, [])
                ],
            }
        last = (chunk[-1].paid_at, chunk[-1].order_id)


def write_csv(rows: Iterator[dict[str, Any]], out: TextIO) -> int:
    """One CSV row per sale line, after a UTF-8 byte-order mark and the header; returns sales written."""
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    count = 0
    for sale in rows:
        count += 1
        head = [sale[c] for c in CSV_COLUMNS[:10]]
        for line in sale["lines"]:
            writer.writerow(head + [line[c] for c in CSV_COLUMNS[10:]])
    return count


def write_json(rows: Iterator[dict[str, Any]], out: TextIO) -> int:
    """A JSON list of sales with their lines, one sale per line of text; returns sales written."""
    count = 0
    out.write("[")
    for sale in rows:
        out.write(",\n" if count else "\n")
        out.write(json.dumps(sale, ensure_ascii=False, separators=(",", ":")))
        count += 1
    out.write("\n]\n")
    return count
