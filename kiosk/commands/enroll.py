"""``kiosk enroll CODE --hq URL``: redeem a one-time enrolment code for this kiosk's signing secret.

The redeeming itself is ``kiosk.sync.enrolment.enrol``, which the kiosk's enrolment screen calls
too; this command adds the settings and what the installer reads. An existing credentials file is
replaced only with ``--replace``. The secret is never printed or logged.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from kiosk.i18n import t
from kiosk.settings import Settings, load_settings
from kiosk.sync.credentials import same_hq
from kiosk.sync.enrolment import EnrolFailed, enrol

__all__ = ["EnrolFailed", "add_parser", "enrol", "run"]


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("enroll", help="enrol this kiosk at HQ with a one-time code (登记到总部)")
    parser.add_argument("code", help="the code from `hq device enroll-code`, e.g. K7QF-2M9X-PA3L-H8RD")
    parser.add_argument("--hq", metavar="URL", help="HQ's address (default: [hq] url)")
    parser.add_argument("--kiosk-id", metavar="ID", help="this kiosk's id at HQ (default: [kiosk] id)")
    parser.add_argument(
        "--replace", action="store_true", help="replace existing credentials (the old ones stop working)"
    )
    parser.add_argument("--config", type=Path, help="a TOML file overriding the default settings")
    return parser


def run(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    settings: Settings = load_settings(args.config)
    lang = settings.kiosk.language
    hq_url: str = (args.hq or settings.hq.url).strip().rstrip("/")
    kiosk_id: str = args.kiosk_id or settings.kiosk.id
    path = settings.hq_credentials_path
    try:
        creds = enrol(
            args.code, hq_url, kiosk_id, path, lang, replace=args.replace, timeout_s=settings.hq.timeout_s
        )
    except EnrolFailed as exc:
        print(f"kiosk enroll: {exc}", file=err)
        return 1
    print(
        t("enroll.done", lang, kiosk_id=creds.kiosk_id, store=creds.store, url=creds.hq_url, path=path),
        file=out,
    )
    if not same_hq(settings.hq.url, creds.hq_url):
        print(t("enroll.set_url", lang, configured=settings.hq.url, url=creds.hq_url), file=out)
    if creds.kiosk_id != settings.kiosk.id:
        print(t("enroll.set_id", lang, configured=settings.kiosk.id, kiosk_id=creds.kiosk_id), file=out)
    return 0
