"""``kiosk store check|accept|backup|restore``: the local store's health, taking back a store that went
backwards, and backups.

``check`` opens the store as the kiosk does (pragmas, integrity, migrations, the sales watermark) and
prints what it holds. ``accept`` is the one way past "the store went backwards": after a restore from a
backup, or after HQ support confirmed that HQ holds every sale of this kiosk, it lowers the watermark
to what the store holds and writes who did it into the audit log. It never deletes or rewrites a sale.

``backup --to DIR`` copies the store into DIR (a USB stick) with a SHA-256 manifest and verifies the
copy by checksum and a test restore. ``restore FILE`` puts a verified backup in place of the store,
keeping the current one as a dated copy, and refuses a backup that lacks sales HQ has not received
(``kiosk.maintenance.backup``). Stop the kiosk (``systemctl stop kiosk``) before a restore.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from pathlib import Path
from typing import TextIO

from kiosk import __version__
from kiosk.bootstrap import build_store
from kiosk.maintenance.backup import BackupError, backup_store, restore_store
from kiosk.settings import Settings, load_settings
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
    backup = sub.add_parser("backup", help="copy the store into a folder (a USB stick) and verify the copy")
    backup.add_argument("--to", type=Path, required=True, metavar="DIR", help="the folder, e.g. /media/usb")
    restore = sub.add_parser(
        "restore", help="put a verified backup in place of the store (stop the kiosk first)"
    )
    restore.add_argument("file", type=Path, metavar="FILE", help="the backup's .sqlite3 file")
    restore.add_argument("--actor", default="staff", help="who decided it, for the audit log")
    for p in (check, accept, backup, restore):
        p.add_argument("--config", type=Path, help="a TOML file overriding the default settings")
    return parser


def run(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    settings = load_settings(args.config)
    path = settings.store_path
    mark = Watermark(watermark_path(path))
    if args.store_command in ("backup", "restore"):
        return _backup_or_restore(args, settings, out, err)
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


def _backup_or_restore(args: argparse.Namespace, settings: Settings, out: TextIO, err: TextIO) -> int:
    """JSON on standard output; the reason in the kiosk's language on standard error, exit 1."""
    lang = settings.kiosk.language
    try:
        if args.store_command == "backup":
            done = backup_store(settings.store_path, args.to, settings.kiosk.id, __version__)
            result = {
                "backup": str(done.file),
                "manifest": str(done.manifest_file),
                "sha256": done.manifest.sha256,
                "sales_recorded": done.manifest.counts.sales_recorded,
                "verified": done.verified.integrity == "ok",
            }
        else:
            restored = restore_store(args.file, settings.store_path, settings.kiosk.id, args.actor)
            result = {
                "restored": str(restored.store),
                "previous_store_kept_as": str(restored.kept_as) if restored.kept_as else None,
                "sales_recorded": restored.counts.sales_recorded,
                "watermark_before": restored.watermark_before,
            }
    except BackupError as exc:
        print(f"kiosk store: {exc.text(lang)}", file=err)
        return 1
    except (OSError, sqlite3.Error) as exc:
        print(f"kiosk store: {args.store_command} failed: {type(exc).__name__}: {str(exc)[:300]}", file=err)
        return 1
    print(json.dumps(result, ensure_ascii=False), file=out)
    return 0
