"""The ``hq store``, ``hq device``, ``hq admin`` and ``hq fleet`` commands: who may talk to HQ.

Run on the HQ machine by whoever may read its database, so they need no sign-in; the admin API
(``hq.api_admin``) does the same over HTTP for admins. Results go to stdout (``CODE=$(hq device
enroll-code --store s01)`` captures just the code); explanations, the QR and errors go to stderr in
the admin's language. Exit codes as ``hq.cli`` documents: 0 done, 2 bad input.
"""

from __future__ import annotations

import argparse
import getpass
import importlib
import json
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TextIO

from hq import admins, enrolment, fleet, i18n
from hq.cli_common import EXIT_BAD_INPUT, EXIT_OK
from hq.cli_common import say as _say
from hq.db import connected
from hq.devices import (
    StoreExistsError,
    UnknownDeviceError,
    UnknownStoreError,
    add_store,
    list_devices,
    list_stores,
    revoke_device,
    valid_kiosk_id,
)
from hq.i18n import Text
from hq.models import utc_now, utc_text
from kiosk_common.enrolment import PayloadError, format_enrol_payload, url_problem

COMMANDS = ("store", "device", "admin", "fleet")
ENROL_PREFIX_HELP = "KIOSKENROL1:URL:CODE"
QR_FILE_SUFFIXES = (".svg", ".png")


def _iso(moment: datetime | None, empty: str = "-") -> str:
    return utc_text(moment) if moment is not None else empty


def add_parsers(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """Add the identity commands to ``hq``'s parser; ``common`` carries --config and --db."""
    store = commands.add_parser("store", help="the stores kiosks belong to").add_subparsers(
        dest="action", required=True
    )
    add = store.add_parser("add", parents=[common], help="add a store")
    add.add_argument("code", help="short code: 1-64 letters, digits, '.', '_' or '-' (e.g. s01)")
    add.add_argument("--name", required=True, help="the store's name as people know it")
    store.add_parser("list", parents=[common], help="list the stores")

    device = commands.add_parser("device", help="kiosks: enrolment codes, revocation").add_subparsers(
        dest="action", required=True
    )
    code = device.add_parser(
        "enroll-code", parents=[common], help="print a one-time code (and its QR) that enrols one kiosk"
    )
    code.add_argument("--store", required=True, help="the store code the kiosk will belong to")
    code.add_argument(
        "--kiosk-id", default="", help="the only kiosk id the code enrols (default: the kiosk's own)"
    )
    code.add_argument(
        "--ttl",
        type=int,
        default=enrolment.DEFAULT_TTL_MINUTES,
        metavar="MINUTES",
        help=f"how long the code works (default {enrolment.DEFAULT_TTL_MINUTES})",
    )
    code.add_argument(
        "--hq-url",
        default="",
        metavar="URL",
        help="the address kiosks reach HQ at: the QR then carries it with the code "
        f"({ENROL_PREFIX_HELP}), and the kiosk's enrolment screen enrols by scanning it",
    )
    code.add_argument(
        "--qr-file",
        type=Path,
        metavar="PATH",
        help="also save the QR as a picture to show or print: PATH ends in .svg or .png; never overwritten",
    )
    revoke = device.add_parser("revoke", parents=[common], help="refuse a kiosk's requests from now on")
    revoke.add_argument("kiosk_id", metavar="KIOSK")
    device.add_parser("list", parents=[common], help="list kiosks (never their secrets)")

    admin = commands.add_parser("admin", help="accounts for the admin API").add_subparsers(
        dest="action", required=True
    )
    admin_add = admin.add_parser("add", parents=[common], help="add an admin (asks for the password twice)")
    admin_add.add_argument("name")
    admin_add.add_argument(
        "--password-stdin", action="store_true", help="read the password from the first line of stdin"
    )
    admin.add_parser("list", parents=[common], help="list admins")
    disable = admin.add_parser(
        "disable", parents=[common], help="stop an admin signing in, end their sessions"
    )
    disable.add_argument("name")

    fleet_cmd = commands.add_parser("fleet", help="the kiosks' health").add_subparsers(
        dest="action", required=True
    )
    status = fleet_cmd.add_parser(
        "status", parents=[common], help="each kiosk's last heartbeat, lag and alerts"
    )
    status.add_argument("--json", action="store_true", help="print JSON (as the admin API's /fleet answers)")
    status.add_argument(
        "--heartbeat-s",
        type=int,
        default=fleet.DEFAULT_HEARTBEAT_S,
        metavar="SECONDS",
        help=f"the kiosks' heartbeat interval; silent for 3 of them raises an alert (default {fleet.DEFAULT_HEARTBEAT_S})",
    )


def run(args: argparse.Namespace, read_password: Callable[[str], str] | None = None) -> int:
    """Run one identity command on the database already opened. ``read_password`` is for tests."""
    key = (args.command, args.action)
    if key == ("store", "add"):
        return store_add(args.code, args.name)
    if key == ("store", "list"):
        return store_list()
    if key == ("device", "enroll-code"):
        return enroll_code(args.store, args.kiosk_id, args.ttl, hq_url=args.hq_url, qr_file=args.qr_file)
    if key == ("device", "revoke"):
        return device_revoke(args.kiosk_id)
    if key == ("device", "list"):
        return device_list()
    if key == ("admin", "add"):
        return admin_add(args.name, args.password_stdin, read_password)
    if key == ("admin", "list"):
        return admin_list()
    if key == ("admin", "disable"):
        return admin_disable(args.name)
    return fleet_status_command(args.json, args.heartbeat_s)


# --- stores ---------------------------------------------------------------------------------------


def store_add(code: str, name: str) -> int:
    try:
        with connected():
            store = add_store(code, name)
    except StoreExistsError:
        _say(i18n.STORE_EXISTS.format(code=code))
        return EXIT_BAD_INPUT
    except ValueError:
        _say(i18n.BAD_STORE.format(code=code, name=name))
        return EXIT_BAD_INPUT
    _say(i18n.STORE_ADDED.format(code=store.code, name=store.name), sys.stdout)
    return EXIT_OK


def store_list() -> int:
    with connected():
        stores = list_stores()
    if not stores:
        _say(i18n.NO_STORES)
        return EXIT_OK
    print(i18n.STORE_HEADER.pick(i18n.cli_language()).replace("  ", "\t"))
    for s in stores:
        print(f"{s.code}\t{s.name}\t{s.kiosks}\t{_iso(s.created_at)}")
    return EXIT_OK


# --- kiosks ---------------------------------------------------------------------------------------


def print_qr(text: str, out: TextIO) -> None:
    """``text`` as a QR code drawn with block characters, light modules lit (for a dark terminal).

    ``qrcode`` comes with python-escpos, a dependency of the whole project.
    """
    qrcode = importlib.import_module("qrcode")  # ships without type hints; Any is what mypy would see
    qr = qrcode.QRCode(border=2)
    qr.add_data(text)
    qr.make(fit=True)
    qr.print_ascii(out=out, invert=True)


def save_qr(text: str, path: Path) -> None:
    """``text`` as a QR picture at ``path`` (SVG, or PNG through Pillow), made new: an existing file
    is never replaced (FileExistsError), and a half-written one never left behind."""
    qrcode = importlib.import_module("qrcode")
    suffix = path.suffix.lower()
    if suffix == ".svg":
        factory = importlib.import_module("qrcode.image.svg").SvgPathImage
    else:
        factory = importlib.import_module("qrcode.image.pil").PilImage
    image = qrcode.make(text, image_factory=factory, box_size=10, border=4)
    with path.open("xb") as out:  # "x": never over a file the admin did not name for replacing
        try:
            image.save(out)
        except BaseException:
            out.close()
            path.unlink(missing_ok=True)
            raise


def _check_qr_file(path: Path) -> str | None:
    """None when ``path`` can take the QR; else why not (before any code is made)."""
    if path.suffix.lower() not in QR_FILE_SUFFIXES:
        return f"{path}: the QR file's name must end in .svg or .png"
    if path.exists():
        return f"{path} exists: choose a new name (an existing file is never overwritten)"
    if not path.parent.is_dir():
        return f"{path.parent} is not a folder: create it first"
    return None


def enroll_code(
    store: str,
    kiosk_id: str,
    ttl: int,
    now: datetime | None = None,
    *,
    hq_url: str = "",
    qr_file: Path | None = None,
) -> int:
    if kiosk_id and not valid_kiosk_id(kiosk_id):
        _say(i18n.BAD_KIOSK_ID.format(kiosk_id=kiosk_id))
        return EXIT_BAD_INPUT
    if not 1 <= ttl <= enrolment.MAX_TTL_MINUTES:
        _say(i18n.BAD_TTL.format(ttl=ttl, max=enrolment.MAX_TTL_MINUTES))
        return EXIT_BAD_INPUT
    hq_url = hq_url.strip().rstrip("/")
    if hq_url and url_problem(hq_url) is not None:  # checked before a code is made and wasted
        _say(i18n.BAD_ENROL_URL.format(url=hq_url[:200]))
        return EXIT_BAD_INPUT
    if qr_file is not None:
        problem = _check_qr_file(qr_file)
        if problem is not None:
            _say(i18n.BAD_QR_FILE.format(problem=problem))
            return EXIT_BAD_INPUT
    try:
        with connected():
            made = enrolment.make_code(store, kiosk_id, ttl, now)
    except UnknownStoreError:
        _say(i18n.STORE_UNKNOWN.format(code=store))
        return EXIT_BAD_INPUT
    qr_text = made.code
    if hq_url:
        try:
            qr_text = format_enrol_payload(hq_url, made.code)
        except PayloadError:  # checked above; a code HQ made that a kiosk cannot read is a bug here
            _say(i18n.BAD_ENROL_URL.format(url=hq_url[:200]))
            return EXIT_BAD_INPUT
    print_qr(qr_text, sys.stderr)
    if qr_file is not None:
        try:
            save_qr(qr_text, qr_file)
        except OSError as exc:
            _say(i18n.BAD_QR_FILE.format(problem=f"{qr_file}: {exc.strerror or exc}"))
        else:
            _say(i18n.QR_SAVED.format(path=qr_file))
    if hq_url:
        _say(i18n.ENROL_PAYLOAD.format(payload=qr_text))
    else:
        _say(i18n.ENROL_NO_URL)
    for_kiosk = i18n.CODE_FOR_KIOSK.format(kiosk_id=made.kiosk_id) if made.kiosk_id else Text("", "")
    _say(
        i18n.CODE_MADE.format(
            store=made.store_code, kiosk=for_kiosk, expires=_iso(made.expires_at), minutes=ttl
        )
    )
    print(made.code, flush=True)
    return EXIT_OK


def device_revoke(kiosk_id: str) -> int:
    try:
        with connected():
            revoke_device(kiosk_id)
    except UnknownDeviceError:
        _say(i18n.DEVICE_UNKNOWN.format(kiosk_id=kiosk_id))
        return EXIT_BAD_INPUT
    _say(i18n.DEVICE_REVOKED.format(kiosk_id=kiosk_id), sys.stdout)
    return EXIT_OK


def device_list() -> int:
    with connected():
        devices = list_devices()
    if not devices:
        _say(i18n.NO_KIOSKS)
        return EXIT_OK
    language = i18n.cli_language()
    never = i18n.NEVER.pick(language)
    print(i18n.KIOSK_LIST_HEADER.pick(language).replace("  ", "\t"))
    for d in devices:
        print(
            f"{d.kiosk_id}\t{d.store_code or '-'}\t{_iso(d.enrolled_at)}\t{_iso(d.revoked_at)}"
            f"\t{_iso(d.last_seen_at, never)}"
        )
    return EXIT_OK


# --- admins ---------------------------------------------------------------------------------------


def _password_from_stdin() -> str:
    line = sys.stdin.readline()
    return line.removesuffix("\n").removesuffix("\r")


def admin_add(name: str, from_stdin: bool, read_password: Callable[[str], str] | None = None) -> int:
    if not admins.valid_admin_name(name):
        _say(i18n.BAD_ADMIN_NAME.format(name=name))
        return EXIT_BAD_INPUT
    language = i18n.cli_language()
    if from_stdin:
        password = _password_from_stdin()
    else:
        ask = read_password
        if ask is None:
            if not sys.stdin.isatty():
                _say(i18n.PASSWORD_NO_TTY)
                return EXIT_BAD_INPUT
            ask = getpass.getpass
        password = ask(i18n.PASSWORD_PROMPT.format(name=name).pick(language))
        if ask(i18n.PASSWORD_AGAIN.pick(language)) != password:
            _say(i18n.PASSWORDS_DIFFER)
            return EXIT_BAD_INPUT
    try:
        with connected():
            admins.add_admin(name, password)
    except admins.AdminExistsError:
        _say(i18n.ADMIN_EXISTS.format(name=name))
        return EXIT_BAD_INPUT
    except admins.BadPasswordError:
        _say(i18n.BAD_PASSWORD.format(min=admins.MIN_PASSWORD_CHARS, max=admins.MAX_PASSWORD_CHARS))
        return EXIT_BAD_INPUT
    _say(i18n.ADMIN_ADDED.format(name=name), sys.stdout)
    return EXIT_OK


def admin_list() -> int:
    with connected():
        found = admins.list_admins()
    if not found:
        _say(i18n.NO_ADMINS)
        return EXIT_OK
    print(i18n.ADMIN_HEADER.pick(i18n.cli_language()).replace("  ", "\t"))
    for a in found:
        print(f"{a.name}\t{_iso(a.created_at)}\t{_iso(a.disabled_at)}")
    return EXIT_OK


def admin_disable(name: str) -> int:
    try:
        with connected():
            admins.disable_admin(name)
    except admins.UnknownAdminError:
        _say(i18n.ADMIN_UNKNOWN.format(name=name))
        return EXIT_BAD_INPUT
    _say(i18n.ADMIN_DISABLED.format(name=name), sys.stdout)
    return EXIT_OK


# --- fleet ----------------------------------------------------------------------------------------


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{max(0, round(seconds))} s"
    if seconds < 2 * 3600:
        return f"{round(seconds / 60)} min"
    if seconds < 48 * 3600:
        return f"{round(seconds / 3600)} h"
    return f"{round(seconds / 86400)} d"


def fleet_table(statuses: list[fleet.KioskStatus], language: i18n.Language) -> list[str]:
    """The rows ``hq fleet status`` prints, tab-separated, in ``language``."""
    lines = [i18n.FLEET_HEADER.pick(language).replace("  ", "\t")]
    for s in statuses:
        if s.heartbeat_age_s is None:
            heard = i18n.NEVER.pick(language)
        else:
            heard = i18n.AGO.format(age=_age(s.heartbeat_age_s)).pick(language)
        if s.revoked:
            state = i18n.FLEET_REVOKED.pick(language)
        elif s.alerts:
            state = "; ".join(a.text.pick(language) for a in s.alerts)
        else:
            state = i18n.FLEET_OK.pick(language)
        outbox = "-" if s.outbox_depth is None else str(s.outbox_depth)
        lines.append(f"{s.kiosk_id}\t{s.store or '-'}\t{s.app_version or '-'}\t{heard}\t{outbox}\t{state}")
    return lines


def fleet_status_command(as_json: bool, heartbeat_s: int, now: datetime | None = None) -> int:
    if heartbeat_s < 1:
        _say(i18n.BAD_HEARTBEAT_S.format(value=heartbeat_s))
        return EXIT_BAD_INPUT
    moment = now or utc_now()
    with connected():
        rows = fleet.load_rows()
    if as_json:
        print(json.dumps(fleet.report(rows, moment, heartbeat_s), ensure_ascii=False, indent=2))
        return EXIT_OK
    if not rows:
        _say(i18n.NO_KIOSKS)
        return EXIT_OK
    for line in fleet_table(fleet.fleet_status(rows, moment, heartbeat_s), i18n.cli_language()):
        print(line)
    return EXIT_OK
