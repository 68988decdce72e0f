"""A kiosk's day as HQ holds it, so the kiosk's Z-report can say whether HQ agrees with its ledger.

``GET /api/v1/sync/totals?day=YYYY-MM-DD&tz=Asia/Shanghai`` answers the signing kiosk's own sales
(paid within the day) and refunds (refunded within it), counted and summed in fen. The day is the
kiosk's calendar day in ``tz`` (the kiosk's own time zone, so both sides cut the day at the same
moment). Scoped by the signer: a kiosk only ever sees its own figures.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import peewee
from fastapi import APIRouter, Query
from pydantic import BaseModel

from hq.auth import SignedKiosk
from hq.db import connected
from hq.errors import ApiError, errors
from hq.i18n import Text
from hq.jsonbody import StrictJsonRoute
from hq.models import Refund, Sale

TOTALS_PATH = "/api/v1/sync/totals"

router = APIRouter(route_class=StrictJsonRoute)


class TotalsOut(BaseModel):
    kiosk_id: str
    day: str
    tz: str
    sales_count: int
    sales_fen: int
    refunds_count: int
    refunds_fen: int


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ApiError(
            422,
            Text(
                f"tz {name[:64]!r} is not a time zone name such as Asia/Shanghai",
                f"tz {name[:64]!r} 不是时区名称（例如 Asia/Shanghai）",
            ),
        ) from None


@router.get(TOTALS_PATH, response_model=TotalsOut, responses=errors(400, 401, 422, 429, 500, 503))
def get_totals(
    kiosk: SignedKiosk,
    day: Annotated[date, Query(description="the kiosk's calendar day, YYYY-MM-DD")],
    tz: Annotated[
        str, Query(min_length=1, max_length=64, description="the kiosk's time zone")
    ] = "Asia/Shanghai",
) -> TotalsOut:
    zone = _zone(tz)
    start = datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC).replace(tzinfo=None)
    end = start + timedelta(days=1)
    with connected():
        sales = (
            Sale.select(peewee.fn.COUNT(Sale.order_id), peewee.fn.COALESCE(peewee.fn.SUM(Sale.total_fen), 0))
            .where((Sale.kiosk_id == kiosk.kiosk_id) & (Sale.paid_at >= start) & (Sale.paid_at < end))
            .tuples()
            .first()
        )
        refunds = (
            Refund.select(
                peewee.fn.COUNT(Refund.out_refund_no), peewee.fn.COALESCE(peewee.fn.SUM(Refund.amount_fen), 0)
            )
            .where(
                (Refund.kiosk_id == kiosk.kiosk_id)
                & (Refund.refunded_at >= start)
                & (Refund.refunded_at < end)
            )
            .tuples()
            .first()
        )
    sales_count, sales_fen = sales or (0, 0)
    refunds_count, refunds_fen = refunds or (0, 0)
    return TotalsOut(
        kiosk_id=kiosk.kiosk_id,
        day=day.isoformat(),
        tz=tz,
        sales_count=int(sales_count),
        sales_fen=int(sales_fen),
        refunds_count=int(refunds_count),
        refunds_fen=int(refunds_fen),
    )
