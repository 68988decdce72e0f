"""``kiosk store check|accept``: the local store's health, and taking back a store that went backwards.

``check`` opens the store as the kiosk does (pragmas, integrity, migrations, the sales watermark) and
prints what it holds. ``accept`` is the one way past "the store went backwards": after a restore from a
backup, or after HQ support confirmed that HQ holds every sale of this kiosk, it lowers the watermark
to what the store holds and writes who did it into the audit log. It never deletes or rewrites a sale.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TextIO

from kiosk.bootstrap import build_store
from kiosk.settings import load_settings
from kiosk.store.db import StoreError, sales_recorded
from kiosk.store.watermark import Watermark, watermark_path


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "store", help="check the local store, or accept a restored one (本地数据库)"
    )
    sub = parser.add_subparsers(dest="store_command", required=True, metavar="ACTION")
    check = sub.add_parser("check", help="open and check the store; print what it holds")
    accept = sub.add_parser(
        "accept",
        help="take a store that went backwards (restored from a backup) once HQ holds every sale",
    )
    accept.add_argument("--actor", default="staff", help="who decided it, for the audit log")
    for p in (check, accept):
        p.add_argument("--config", type=Path, help="a TOML file overriding the default settings")
    return parser


def run(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    settings = load_settings(args.config)
    path = settings.store_path
    mark = Watermark(watermark_path(path))
    if args.store_command == "check":
        try:
            store = build_store(settings)
        except StoreError as exc:
            print(f"kiosk store: {exc}", file=err)
            return 1
        db = store.db
        try:
            counts = store.counts()
            print(
                json.dumps(
                    {
                        "store": str(path),
                        "ok": True,
                        "sales_recorded": sales_recorded(db),
                        "watermark": mark.read(),
                        "orders": counts.orders,
                        "paid": counts.paid,
                        "outbox_pending": counts.outbox_pending,
                    }
                ),
                file=out,
            )
        finally:
            db.close()
        return 0
    try:
        before = mark.read()
    except ValueError:
        before = None
    try:
        store = build_store(settings, accept_backwards=True)
    except StoreError as exc:
        print(f"kiosk store: {exc}", file=err)
        return 1
    db = store.db
    try:
        held = sales_recorded(db)
        store.audit(args.actor, "store_accepted", f"watermark {before} -> {held} sales in {path.name}")
    finally:
        db.close()
    print(
        f"kiosk store: accepted {path} with {held} paid sale(s) (the kiosk had recorded {before}); "
        "sales missing from it must already be at HQ",
        file=out,
    )
    return 0
