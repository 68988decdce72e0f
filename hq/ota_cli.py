"""The HQ side of the ``ota`` command: ``ota release register``, ``ota rollout ...``, ``ota status``.

These run on the HQ machine with the same database access as the ``hq`` commands (``--config``,
``--db``, ``HQ_DATABASE__URL``), like ``hq fleet status``: no password on a command line, and they
work while the server is down. From elsewhere an admin uses the admin API
(``/api/v1/admin/ota/...``), which does the same through ``hq.rollouts``. The actor written to the
audit trail is ``cli:<login name>``.

Exit codes as ``hq.cli``: 0 done, 1 the machine refused, 2 bad input or a refused change.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from hq import i18n, ota, rollouts
from hq.cli_common import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, say
from hq.db import DatabaseFolderError, DatabaseOpenError, connected, open_database
from hq.rollouts import RolloutError
from hq.settings import SettingsError, load_settings


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, help="HQ's settings file (as for hq)")
    common.add_argument("--db", metavar="URL", help="HQ's database URL: sqlite:///abs/path or postgres://...")
    return common


def _rate(text: str) -> float:
    try:
        return ota.check_failure_rate(float(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a fraction from 0 to 1, e.g. 0.05") from None


def add_register_parser(release: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``ota release register`` under the ``release`` command (whose build/publish live in ``ota``)."""
    reg = release.add_parser(
        "register", parents=[_common()], help="record a published release at HQ so a rollout can name it"
    )
    reg.add_argument("version", metavar="V")
    reg.add_argument("--channel", required=True, help="e.g. stable")
    reg.add_argument("--target", required=True, help="the TUF target name, e.g. kiosk-1.3.0.tar")
    reg.add_argument("--min-store-schema", type=int, required=True, metavar="N")
    reg.set_defaults(hq_ota="register")


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``ota rollout ...`` and ``ota status``."""
    common = _common()
    rollout = commands.add_parser("rollout", help="staged rollouts at HQ").add_subparsers(
        dest="rollout_action", required=True
    )
    start = rollout.add_parser("start", parents=[common], help="start rolling a release out in stages")
    start.add_argument("version", metavar="V")
    start.add_argument("--stages", default="1,10,50,100", help="cumulative percentages (default 1,10,50,100)")
    start.add_argument(
        "--max-failure-rate", type=_rate, required=True, metavar="R", help="e.g. 0.05 for 5 %%"
    )
    start.add_argument("--channel", help="needed when the version is in several channels")
    start.add_argument(
        "--stage-deadline-hours",
        type=float,
        default=ota.DEFAULT_STAGE_DEADLINE.total_seconds() / 3600,
        metavar="H",
        help="judge a stage on the reports that came after this long (default 24)",
    )
    for name, text in (
        ("pause", "hold the rollout at its stage"),
        ("resume", "run a paused rollout again"),
        ("abort", "send every kiosk back to the previous release"),
    ):
        change = rollout.add_parser(name, parents=[common], help=text)
        change.add_argument("version", metavar="V")
        if name == "resume":
            change.add_argument("--max-failure-rate", type=_rate, metavar="R", help="a new threshold")
    now = rollout.add_parser("check-now", parents=[common], help="ask kiosks to check for an update now")
    which = now.add_mutually_exclusive_group()
    which.add_argument("--store", metavar="S")
    which.add_argument("--device", metavar="D", help="a kiosk id")
    for sub in rollout.choices.values():
        sub.set_defaults(hq_ota="rollout")
    status = commands.add_parser(
        "status", parents=[common], help="each kiosk's release and update state, and the rollout's progress"
    )
    status.add_argument("--json", action="store_true", help="print JSON (as GET /api/v1/admin/ota/status)")
    status.set_defaults(hq_ota="status")


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


def _print_rollout(info: dict[str, Any]) -> None:
    stages = info["stages"]
    say(
        i18n.OTA_ROLLOUT_LINE.format(
            id=info["id"],
            version=info["version"],
            channel=info["channel"],
            state=info["state"],
            stage=info["current_stage"] + 1,
            stages=len(stages),
            percent=stages[info["current_stage"]],
            rate=info["max_failure_rate"],
            previous=info["previous_version"] or "-",
        ),
        sys.stdout,
    )
    if info["reason"]:
        say(i18n.OTA_ROLLOUT_REASON.format(reason=info["reason"]), sys.stdout)
    for p in info["progress"]:
        say(
            i18n.OTA_STAGE_LINE.format(
                stage=p["stage"] + 1,
                percent=p["percent"],
                started=i18n.OTA_STAGE_STARTED if p["started"] else "",
                kiosks=p["kiosks"],
                healthy=p["healthy"],
                failed=p["failed"],
                pending=p["pending"],
            ),
            sys.stdout,
        )


def _print_status(report: dict[str, Any]) -> None:
    if report["rollout"] is None:
        say(i18n.OTA_NO_ROLLOUT_YET, sys.stdout)
    else:
        _print_rollout(report["rollout"])
    say(i18n.OTA_KIOSKS_HEADER, sys.stdout)
    for k in report["kiosks"]:
        line = "  ".join(
            str(v or "-")
            for v in (k["store"], k["kiosk_id"], k["version"], k["state"], k["reported_at"], k["outcome"])
        )
        print(line, flush=True)


def _run(args: argparse.Namespace) -> int:
    if args.hq_ota == "register":
        release = rollouts.register_release(
            args.version, args.channel, args.target, args.min_store_schema, _actor()
        )
        say(
            i18n.OTA_RELEASE_REGISTERED.format(
                version=release.version, target=release.target, channel=release.channel
            ),
            sys.stdout,
        )
        return EXIT_OK
    if args.hq_ota == "status":
        report = rollouts.status()
        if args.json:
            print(json.dumps(report, ensure_ascii=False, indent=2))
        else:
            _print_status(report)
        return EXIT_OK
    action = args.rollout_action
    if action == "check-now":
        count = rollouts.check_now(_actor(), store=args.store, kiosk_id=args.device)
        say(i18n.OTA_CHECK_NOW_SET.format(count=count), sys.stdout)
        return EXIT_OK
    if action == "start":
        hours = args.stage_deadline_hours
        info = rollouts.start_rollout(
            args.version,
            args.stages,
            args.max_failure_rate,
            _actor(),
            channel=args.channel,
            stage_deadline=timedelta(hours=hours),
        )
    elif action == "pause":
        info = rollouts.pause_rollout(args.version, _actor())
    elif action == "resume":
        info = rollouts.resume_rollout(args.version, _actor(), args.max_failure_rate)
    else:
        info = rollouts.abort_rollout(args.version, _actor())
    _print_rollout(info.as_json())
    return EXIT_OK


def run(args: argparse.Namespace) -> int:
    """Run a parsed HQ-side ``ota`` command against HQ's database."""
    overrides: dict[str, Any] = {}
    if args.db is not None:
        overrides["database"] = {"url": args.db}
    try:
        settings = load_settings(config=args.config, overrides=overrides)
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        open_database(settings.database.url)
        with connected():
            return _run(args)
    except RolloutError as exc:
        say(exc.text)
        return EXIT_BAD_INPUT
    except DatabaseFolderError as exc:
        say(exc.text)
        return EXIT_FAILED
    except DatabaseOpenError as exc:
        say(exc.text)
        return EXIT_BAD_INPUT


class RegisterUnavailable(Exception):
    """HQ's database is not here (another machine, no file yet): ``ota release register`` is needed."""


def register_published(
    config: Path | None, db: str | None, version: str, channel: str, target: str, min_store_schema: int
) -> rollouts.ReleaseInfo:
    """Register a release ``ota release publish`` just signed, when HQ's database is reachable from
    here (HQ's settings file, ``--db`` or ``HQ_DATABASE__URL``, as the other HQ ``ota`` commands).

    A SQLite database that does not exist is not created: publishing on a machine that is not HQ
    must not leave an empty HQ database behind. RegisterUnavailable says why it was not done;
    RolloutError when HQ refuses (the version registered with another target)."""
    from hq.db import sqlite_path

    overrides: dict[str, Any] = {} if db is None else {"database": {"url": db}}
    try:
        settings = load_settings(config=config, overrides=overrides)
    except (SettingsError, OSError) as exc:
        raise RegisterUnavailable(str(exc).splitlines()[0][:300]) from None
    url = settings.database.url
    if url.startswith("sqlite"):
        try:
            path = sqlite_path(url)
        except DatabaseOpenError as exc:
            raise RegisterUnavailable(str(exc)) from None
        if not path.is_file():
            raise RegisterUnavailable(f"HQ's database {path} is not on this machine")
    try:
        open_database(url)
    except DatabaseOpenError as exc:
        raise RegisterUnavailable(str(exc).splitlines()[0][:300]) from None
    with connected():
        return rollouts.register_release(version, channel, target, min_store_schema, _actor())
