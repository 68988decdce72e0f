"""``hq promo add|list|end``: the promotions the kiosks apply to carts (``hq.promotions``).

A change takes effect on each kiosk at its next catalog pull. Money is in fen and times in UTC
(``2026-12-01T08:00:00Z``), as everywhere in HQ.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from hq import promotions
from hq.cli_common import EXIT_BAD_INPUT, EXIT_OK
from hq.cli_common import say as _say
from hq.db import connected
from hq.i18n import Text
from hq.models import utc_now, utc_text
from kiosk_common.promotion_rules import KINDS

COMMAND = "promo"

REFUSED = Text("promotion not saved: {reason}", "促销未保存：{reason}")
ADDED = Text(
    "promotion {promo_id} added; kiosks apply it after their next catalog pull",
    "已添加促销 {promo_id}；收银机在下次同步商品目录后生效",
)
ENDED = Text(
    "promotion {promo_id} ends at {at}; kiosks stop applying it after their next catalog pull",
    "促销 {promo_id} 于 {at} 结束；收银机在下次同步商品目录后停用",
)
NONE = Text("no promotions", "没有促销")


def add_parsers(commands: Any, common: argparse.ArgumentParser) -> None:
    cmd = commands.add_parser(COMMAND, help="promotions the kiosks apply to carts")
    actions = cmd.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", parents=[common], help="add a promotion (see docs/hq.md)")
    add.add_argument("promo_id", metavar="ID")
    add.add_argument("--kind", required=True, choices=KINDS)
    add.add_argument("--name-zh", required=True)
    add.add_argument("--name-en", required=True)
    add.add_argument("--starts", default="", help="UTC start, e.g. 2026-12-01T08:00:00Z (default: now)")
    add.add_argument("--ends", default="", help="UTC end (default: runs until ended)")
    add.add_argument(
        "--store", default="", metavar="S", help="only this store's kiosks (default: every store)"
    )
    add.add_argument("--priority", type=int, default=0, help="the higher wins where two could apply")
    add.add_argument("--sku", default="")
    add.add_argument("--category", default="")
    add.add_argument("--percent", type=int, default=0, help="percent_off: 1..100")
    add.add_argument("--qty", type=int, default=0, help="multi_buy: units in a group (2..99)")
    add.add_argument("--price-fen", type=int, default=0, help="multi_buy: price of a group, in fen")
    add.add_argument("--threshold-fen", type=int, default=0, help="spend_off: the cart reaches this, in fen")
    add.add_argument("--off-fen", type=int, default=0, help="spend_off: this much off, in fen")
    add.add_argument("--members-only", action="store_true", help="only while a member is signed in")
    listing = actions.add_parser("list", parents=[common], help="promotions running now or later")
    listing.add_argument("--all", action="store_true", help="also those that are over")
    end = actions.add_parser("end", parents=[common], help="end a promotion now")
    end.add_argument("promo_id", metavar="ID")


def run(args: argparse.Namespace) -> int:
    try:
        if args.action == "add":
            return _add(args)
        if args.action == "end":
            with connected():
                row = promotions.end_promotion(args.promo_id)
            _say(ENDED.format(promo_id=row.promo_id, at=utc_text(row.ends_at or utc_now())), sys.stdout)
            return EXIT_OK
        return _list(args.all)
    except promotions.PromotionRefused as exc:
        _say(REFUSED.format(reason=str(exc)))
        return EXIT_BAD_INPUT


def _add(args: argparse.Namespace) -> int:
    spec = promotions.PromotionSpec(
        promo_id=args.promo_id,
        kind=args.kind,
        name_zh=args.name_zh,
        name_en=args.name_en,
        starts_at=promotions.parse_utc(args.starts) if args.starts else utc_now().replace(microsecond=0),
        ends_at=promotions.parse_utc(args.ends) if args.ends else None,
        store_code=args.store,
        priority=args.priority,
        sku=args.sku,
        category=args.category,
        percent=args.percent,
        qty=args.qty,
        price_fen=args.price_fen,
        threshold_fen=args.threshold_fen,
        off_fen=args.off_fen,
        members_only=args.members_only,
    )
    with connected():
        row = promotions.add_promotion(spec)
    _say(ADDED.format(promo_id=row.promo_id), sys.stdout)
    return EXIT_OK


def _list(include_over: bool) -> int:
    with connected():
        rows = promotions.list_promotions(include_over)
    if not rows:
        _say(NONE, sys.stdout)
    for row in rows:
        wire = promotions.as_wire(row)
        terms = " ".join(f"{k}={wire[k]}" for k in promotions.TERMS[row.kind] if wire[k] not in ("", 0))
        ends = wire["ends_at"] or "-"
        store = row.store_code or "*"
        print(
            f"{row.promo_id}\t{row.kind}\t{terms}\t{wire['starts_at']}..{ends}\tstore={store}\t{row.name_en}"
        )
    return EXIT_OK
