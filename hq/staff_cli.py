"""``hq staff add|disable|list|badge|pin|role``: the staff accounts that unlock the kiosks' maintenance
mode.

A PIN is asked twice on the terminal (or read from one line of stdin with ``--pin-stdin``), never
taken from the command line (anyone on the machine can read another process's arguments in ``ps``),
and never printed, logged or stored: only its argon2 hash is (``hq.staff``). Each change is written
to HQ's audit as ``cli:<user>``. ``hq staff badge`` prints the
badge's QR code on stderr for the admin's screen and the badge text on stdout, so
``BADGE=$(hq staff badge ana)`` captures exactly the badge.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any

from hq import i18n, staff
from hq.admin_cli import print_qr
from hq.auth import identity_path
from hq.cli_common import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK
from hq.cli_common import say as _say
from hq.db import connected
from hq.i18n import Text
from hq.identity import KeyFileError
from hq.models import utc_text
from hq.settings import HqSettings

COMMAND = "staff"

_ERRORS: dict[str, Text] = {
    "bad_name": i18n.STAFF_BAD_NAME,
    "bad_role": i18n.STAFF_BAD_ROLE,
    "pin_digits": i18n.STAFF_PIN_DIGITS,
    "pin_weak": i18n.STAFF_PIN_WEAK,
    "pin_taken": i18n.STAFF_PIN_TAKEN,
    "exists": i18n.STAFF_EXISTS,
    "unknown": i18n.STAFF_UNKNOWN,
    "disabled": i18n.STAFF_DISABLED_NO_BADGE,
    "disabled_change": i18n.STAFF_DISABLED_NO_CHANGE,
    "unknown_store": i18n.STAFF_UNKNOWN_STORE,
    "bad_ttl": i18n.STAFF_BAD_TTL,
}


def add_parsers(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add ``staff add|disable|list|badge`` to ``hq``'s parser; ``common`` carries --config and --db."""
    cmd = commands.add_parser(COMMAND, help="staff who may unlock the kiosks' maintenance mode")
    actions = cmd.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", parents=[common], help="add a staff account (the PIN is asked twice)")
    add.add_argument("name", metavar="NAME")
    add.add_argument("--role", required=True, choices=staff.ROLES)
    add.add_argument(
        "--store",
        action="append",
        default=[],
        metavar="S",
        help="a store's code the account applies to (repeat for several); default: every store",
    )
    add.add_argument("--pin-stdin", action="store_true", help="read the PIN from one line of stdin")
    disable = actions.add_parser("disable", parents=[common], help="disable an account on every kiosk")
    disable.add_argument("name", metavar="NAME")
    listing = actions.add_parser("list", parents=[common], help="every staff account")
    listing.add_argument("--store", metavar="S", help="only the accounts a kiosk of this store receives")
    pin = actions.add_parser(
        "pin",
        aliases=["reset-pin"],
        parents=[common],
        help="give an account a new PIN (asked twice, or --pin-stdin; never on the command line)",
    )
    pin.add_argument("name", metavar="NAME")
    pin.add_argument("--pin-stdin", action="store_true", help="read the PIN from one line of stdin")
    role = actions.add_parser("role", parents=[common], help="give an account another role")
    role.add_argument("name", metavar="NAME")
    role.add_argument("role", choices=staff.ROLES)
    badge = actions.add_parser("badge", parents=[common], help="print a signed, short-lived staff badge")
    badge.add_argument("name", metavar="NAME")
    badge.add_argument(
        "--ttl",
        type=int,
        default=staff.DEFAULT_BADGE_TTL_MIN,
        metavar="MINUTES",
        help=f"minutes the badge is valid (default {staff.DEFAULT_BADGE_TTL_MIN})",
    )


def _refuse(exc: staff.StaffError) -> int:
    _say(_ERRORS[exc.code].format(**exc.details))
    return EXIT_BAD_INPUT


def cli_actor() -> str:
    """Who HQ's audit says made a change from the command line: ``cli:<login name>``."""
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):  # no login name in the environment nor the password database
        return f"cli:uid{os.getuid()}"


def run(args: argparse.Namespace, settings: HqSettings, read_pin: Callable[[str], str] | None = None) -> int:
    """Run one staff command on the database already opened. ``read_pin`` is for tests."""
    try:
        if args.action == "add":
            return _add(args.name, args.role, args.store, args.pin_stdin, read_pin)
        if args.action == "disable":
            with connected():
                info = staff.disable_staff(args.name, actor=cli_actor())
            _say(i18n.STAFF_DISABLED.format(name=info.name), sys.stdout)
            return EXIT_OK
        if args.action == "list":
            return _list(args.store)
        if args.action in ("pin", "reset-pin"):
            return _reset_pin(args.name, args.pin_stdin, read_pin)
        if args.action == "role":
            with connected():
                info = staff.set_role(args.name, args.role, actor=cli_actor())
            _say(i18n.STAFF_ROLE_SET.format(name=info.name, role=info.role), sys.stdout)
            return EXIT_OK
        return _badge(args.name, args.ttl, settings)
    except staff.StaffError as exc:
        return _refuse(exc)


def _ask_pin(name: str, from_stdin: bool, read_pin: Callable[[str], str] | None) -> str | None:
    if from_stdin:
        return sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    language = i18n.cli_language()
    ask = read_pin
    if ask is None:
        if not sys.stdin.isatty():
            _say(i18n.STAFF_PIN_NO_TTY)
            return None
        ask = getpass.getpass
    pin = ask(i18n.STAFF_PIN_PROMPT.format(name=name, min=staff.MIN_PIN_DIGITS).pick(language))
    if ask(i18n.STAFF_PIN_AGAIN.pick(language)) != pin:
        _say(i18n.STAFF_PINS_DIFFER)
        return None
    return pin


def _add(
    name: str, role: str, stores: list[str], from_stdin: bool, read_pin: Callable[[str], str] | None
) -> int:
    if not staff.STAFF_NAME_RE.fullmatch(name):
        return _refuse(staff.StaffError("bad_name", name=name))
    pin = _ask_pin(name, from_stdin, read_pin)
    if pin is None:
        return EXIT_BAD_INPUT
    with connected():
        info = staff.add_staff(name, role, pin, stores, actor=cli_actor())
    where: Text = (
        Text(", ".join(info.stores), ", ".join(info.stores)) if info.stores else i18n.STAFF_ALL_STORES
    )
    _say(i18n.STAFF_ADDED.format(name=info.name, role=info.role, stores=where), sys.stdout)
    return EXIT_OK


def _iso(moment: datetime | None) -> str:
    return "-" if moment is None else utc_text(moment)


def _reset_pin(name: str, from_stdin: bool, read_pin: Callable[[str], str] | None) -> int:
    if not staff.STAFF_NAME_RE.fullmatch(name):
        return _refuse(staff.StaffError("bad_name", name=name))
    pin = _ask_pin(name, from_stdin, read_pin)
    if pin is None:
        return EXIT_BAD_INPUT
    with connected():
        info = staff.reset_pin(name, pin, actor=cli_actor())
    _say(i18n.STAFF_PIN_RESET.format(name=info.name), sys.stdout)
    return EXIT_OK


def _list(store: str | None) -> int:
    with connected():
        found = staff.list_staff(store)
    if not found:
        _say(i18n.STAFF_NONE)
        return EXIT_OK
    print(i18n.STAFF_HEADER.pick(i18n.cli_language()).replace("  ", "\t"))
    for s in found:
        print(f"{s.name}\t{s.role}\t{','.join(s.stores) or '*'}\t{_iso(s.created_at)}\t{_iso(s.disabled_at)}")
    return EXIT_OK


def _badge(name: str, ttl: int, settings: HqSettings) -> int:
    try:
        key = staff.load_badge_key(identity_path(settings.auth.identity_file, settings.database.url))
    except KeyFileError as exc:
        _say(i18n.STAFF_KEY_FILE.format(reason=str(exc)))
        return EXIT_FAILED
    with connected():
        badge = staff.make_badge(key, name, ttl, actor=cli_actor())
    print_qr(badge.text, sys.stderr)
    _say(i18n.STAFF_BADGE_MADE.format(name=badge.name, role=badge.role, expires=_iso(badge.expires_at)))
    print(badge.text, flush=True)
    return EXIT_OK
