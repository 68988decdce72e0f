"""``hq support backups|grant-backup``: the store backups kiosks keep at HQ (``hq.support_backups``).

``hq support backups KIOSK`` lists what that kiosk may restore. ``hq support grant-backup NAME
--from OLD --to NEW`` copies backup NAME of kiosk OLD to kiosk NEW, both of one store, so a kiosk
put in on new hardware (enrolled under a new id) can restore the old one's store from its IT menu;
the grant is written to HQ's audit as ``cli:<user>``. Exit codes as ``hq.cli`` documents.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from hq.api_support import UPLOADS
from hq.auth import identity_path
from hq.cli_common import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK
from hq.cli_common import say as _say
from hq.db import connected
from hq.devices import valid_kiosk_id
from hq.i18n import Text
from hq.settings import HqSettings
from hq.staff_cli import cli_actor
from hq.support_backups import GrantError, grant_backup, list_backups

COMMAND = "support"

_REFUSED: dict[str, Text] = {
    "same": Text(
        "--from and --to are both {kiosk}: name the old kiosk and the new one",
        "--from 与 --to 都是 {kiosk}：请分别填写旧机与新机",
    ),
    "unknown_kiosk": Text(
        "no kiosk {kiosk} is enrolled at HQ: see hq device list",
        "总部没有已注册的终端 {kiosk}：请查看 hq device list",
    ),
    "other_store": Text(
        "{source} and {target} are not kiosks of one store: a backup goes only to a kiosk of its own store",
        "{source} 与 {target} 不属于同一门店：备份只能授予同一门店的终端",
    ),
    "no_backup": Text(
        "kiosk {kiosk} has no backup {name} with a manifest at HQ: see hq support backups {kiosk}",
        "终端 {kiosk} 在总部没有带校验清单的备份 {name}：请查看 hq support backups {kiosk}",
    ),
    "damaged": Text(
        "backup {name} of kiosk {kiosk} no longer matches its SHA-256 at HQ: it was damaged; grant another",
        "终端 {kiosk} 的备份 {name} 在总部已与其 SHA-256 不符（已损坏）：请授予另一份",
    ),
    "exists": Text("kiosk {kiosk} has backup {name} already", "终端 {kiosk} 已有备份 {name}"),
}
GRANTED = Text(
    "granted backup {name} of {source} to {target} (store {store}); restore it from {target}'s IT menu",
    "已把 {source} 的备份 {name} 授予 {target}（门店 {store}）：请在 {target} 的 IT 菜单中恢复",
)
PENDING_NOTE = Text(
    "note: {pending} event(s) in this backup were not yet sent when it was made; from {target} HQ "
    "rejects them as {source}'s (docs/operations.md, replacement hardware)",
    "注意：此备份中有 {pending} 个事件在备份时尚未上传；由 {target} 上传时总部会以属于 {source} 为由拒收"
    "（见 docs/operations.md 更换硬件一节）",
)
NO_BACKUPS = Text(
    "kiosk {kiosk} has no backups at HQ that it can restore", "终端 {kiosk} 在总部没有可恢复的备份"
)
DISK_FAILED = Text(
    "could not write the backup's copy ({reason}): check HQ's disk",
    "无法写入备份副本（{reason}）：请检查总部磁盘",
)


def add_parsers(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add ``support backups|grant-backup`` to ``hq``'s parser; ``common`` carries --config and --db."""
    cmd = commands.add_parser(COMMAND, help="what kiosks upload for support: store backups")
    actions = cmd.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("backups", parents=[common], help="list the backups a kiosk may restore")
    listing.add_argument("kiosk_id", metavar="KIOSK")
    grant = actions.add_parser(
        "grant-backup",
        parents=[common],
        help="let a replacement kiosk restore another kiosk's backup (both of one store)",
    )
    grant.add_argument("name", metavar="NAME", help="the backup's name, as hq support backups OLD shows it")
    grant.add_argument(
        "--from", dest="from_kiosk", required=True, metavar="OLD", help="the kiosk it came from"
    )
    grant.add_argument(
        "--to", dest="to_kiosk", required=True, metavar="NEW", help="the kiosk that replaces it"
    )


def _folder(settings: HqSettings) -> Path:
    return identity_path(settings.auth.identity_file, settings.database.url).parent / UPLOADS


def run(args: argparse.Namespace, settings: HqSettings) -> int:
    """Run one support command on the database already opened."""
    uploads = _folder(settings)
    if args.action == "backups":
        if not valid_kiosk_id(args.kiosk_id):
            _say(_REFUSED["unknown_kiosk"].format(kiosk=args.kiosk_id))
            return EXIT_BAD_INPUT
        found = list_backups(uploads / args.kiosk_id)
        if not found:
            _say(NO_BACKUPS.format(kiosk=args.kiosk_id))
            return EXIT_OK
        for b in found:
            counts = b.manifest.counts
            granted = f"  granted from {b.granted_from}" if b.granted_from else ""
            print(
                f"{b.name}  {b.size}  {b.uploaded_at}  sales={counts.sales_recorded}  sha256={b.sha256}{granted}"
            )
        return EXIT_OK
    try:
        with connected():
            done = grant_backup(uploads, args.name, args.from_kiosk, args.to_kiosk, cli_actor())
    except GrantError as exc:
        _say(_REFUSED[exc.key].format(**exc.fields))
        return EXIT_BAD_INPUT
    except OSError as exc:
        _say(DISK_FAILED.format(reason=exc.strerror or exc))
        return EXIT_FAILED
    _say(
        GRANTED.format(name=done.name, source=done.from_kiosk, target=done.to_kiosk, store=done.store),
        sys.stdout,
    )
    if done.outbox_pending:
        _say(PENDING_NOTE.format(pending=done.outbox_pending, source=done.from_kiosk, target=done.to_kiosk))
    return EXIT_OK
