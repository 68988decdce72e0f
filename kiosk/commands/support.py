"""``kiosk support bundle``: the support bundle from the command line, to a folder or to HQ.

The same bundle as the maintenance screen's button (``kiosk.maintenance.bundle``): recent logs,
settings, doctor report, audit events and outbox summary, every secret removed. ``--to DIR`` writes
it 0600 into DIR (a USB stick); ``--hq`` uploads it, signed, to this kiosk's HQ. JSON on standard
output; the reason in the kiosk's language on standard error and exit 1 when it could not.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TextIO

from kiosk.bootstrap import build_bundle_sources, build_hq_client
from kiosk.i18n import t
from kiosk.maintenance.backup import BackupError
from kiosk.maintenance.bundle import build_bundle, write_bundle
from kiosk.settings import load_settings
from kiosk.sync.credentials import CredentialsError


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "support", help="write or upload a support bundle, secrets removed (支持包)"
    )
    sub = parser.add_subparsers(dest="support_command", required=True, metavar="ACTION")
    bundle = sub.add_parser("bundle", help="logs, settings, doctor report and recent events, secrets removed")
    where = bundle.add_mutually_exclusive_group(required=True)
    where.add_argument("--to", type=Path, metavar="DIR", help="write it into this folder, e.g. /media/usb")
    where.add_argument("--hq", action="store_true", help="upload it to this kiosk's HQ")
    bundle.add_argument("--config", type=Path, help="a TOML file overriding the default settings")
    return parser


def run(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    settings = load_settings(args.config)
    lang = settings.kiosk.language
    data = build_bundle(build_bundle_sources(settings, args.config))
    try:
        if args.hq:
            from kiosk.maintenance.upload import upload_to_hq

            client = build_hq_client(settings)
            try:
                done = upload_to_hq(client, "bundle", data)
            finally:
                client.close()
            print(t("bundle.uploaded", lang, name=done.name), file=err)
            print(json.dumps({"uploaded": done.name, "sha256": done.sha256, "size": done.size}), file=out)
        else:
            path = write_bundle(data, args.to, settings.kiosk.id)
            print(t("bundle.written", lang, path=path), file=err)
            print(json.dumps({"written": str(path), "size": len(data)}), file=out)
    except BackupError as exc:
        print(f"kiosk support: {exc.text(lang)}", file=err)
        return 1
    except CredentialsError as exc:
        print(f"kiosk support: {exc}", file=err)
        return 1
    return 0
