"""The ``kiosk`` command: run the kiosk, the demo, and the installer's tools (decode, doctor, payment, printer)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from kiosk import __version__

log = logging.getLogger("kiosk")

#: the levels --log-level and KIOSK_LOG_LEVEL take (any case)
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _add_config(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, help="a TOML file overriding the default settings")


def _log_level(text: str) -> str:
    level = text.strip().upper()
    if level not in LOG_LEVELS:
        from kiosk_common.toml_text import shorten

        raise argparse.ArgumentTypeError(
            f"{shorten(text)} is not a log level; use one of {', '.join(LOG_LEVELS)} (any case)"
        )
    return level


def build_parser() -> argparse.ArgumentParser:
    from kiosk.commands import camera, decode, enroll, firewall, payment, printer, store, support, sync

    parser = argparse.ArgumentParser(prog="kiosk", description="Self-checkout kiosk appliance")
    parser.add_argument("--version", action="version", version=f"kiosk {__version__}")
    parser.add_argument(
        "--log-level",
        type=_log_level,
        metavar="LEVEL",
        help="DEBUG, INFO, WARNING or ERROR (default $KIOSK_LOG_LEVEL, else INFO; WARNING for the demo, "
        "whose summary is the point)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run the kiosk on this machine's screen and devices")
    _add_config(run)

    demo = sub.add_parser(
        "demo", help="everything local: HQ, gateway simulator, emulated printer, camera fed from sample codes"
    )
    _add_config(demo)
    demo.add_argument(
        "--headless", action="store_true", help="scripted customers, no window (default without a screen)"
    )
    demo.add_argument(
        "--orders", type=int, default=5, help="scripted customers to serve when headless (1..10000)"
    )
    demo.add_argument(
        "--out", type=Path, default=Path("demo-out"), help="folder for receipts, screenshots and data"
    )
    demo.add_argument(
        "--webcam", metavar="INDEX", help="use a real camera (device index) instead of sample codes"
    )
    demo.add_argument(
        "--hq",
        metavar="URL",
        help="send the sales to this external HQ, where this kiosk is enrolled (kiosk enroll), "
        "instead of starting one",
    )
    demo.add_argument("--no-screenshots", action="store_true", help="headless: skip the screenshot tour")
    demo.add_argument("--snapshot-tour", action="store_true", help=argparse.SUPPRESS)

    doctor = sub.add_parser("doctor", help="check settings, store, printer, camera, gateway and HQ")
    _add_config(doctor)
    doctor.add_argument("--json", action="store_true", help="one JSON object instead of the report")

    decode.add_parser(sub)
    camera.add_parser(sub)
    payment.add_parser(sub)
    printer.add_parser(sub)
    store.add_parser(sub)
    enroll.add_parser(sub)
    sync.add_parser(sub)
    support.add_parser(sub)
    firewall.add_parser(sub)  # the image's firewall (image/)
    return parser


def _env_log_level(parser: argparse.ArgumentParser) -> str | None:
    """KIOSK_LOG_LEVEL, checked like --log-level (argparse checks only what is on the command line)."""
    raw = os.environ.get("KIOSK_LOG_LEVEL", "")
    if not raw.strip():
        return None
    try:
        return _log_level(raw)
    except argparse.ArgumentTypeError as exc:
        parser.error(f"environment variable KIOSK_LOG_LEVEL: {exc}, or unset it")


def main(argv: Sequence[str] | None = None) -> int:
    from kiosk.logs import setup_logging
    from kiosk.settings import SettingsError

    parser = build_parser()
    args = parser.parse_args(argv)
    level = args.log_level or _env_log_level(parser) or ("WARNING" if args.command == "demo" else "INFO")
    setup_logging(level)
    try:
        if args.command == "run":
            from kiosk.app import run_kiosk

            return run_kiosk(args.config)
        if args.command == "demo":
            from kiosk.demo import run_demo

            return run_demo(args)
        if args.command == "doctor":
            from kiosk.doctor import run_doctor

            return run_doctor(args.config, as_json=args.json)
        if args.command == "decode":
            from kiosk.commands import decode

            return decode.run(args)
        if args.command == "camera":
            from kiosk.commands import camera

            return camera.run(args)
        if args.command == "payment":
            from kiosk.commands import payment

            return payment.run(args)
        if args.command == "store":
            from kiosk.commands import store

            return store.run(args)
        if args.command == "enroll":
            from kiosk.commands import enroll

            return enroll.run(args)
        if args.command == "sync":
            from kiosk.commands import sync

            return sync.run(args)
        if args.command == "printer":
            from kiosk.commands import printer

            return printer.run(args)
        if args.command == "support":
            from kiosk.commands import support

            return support.run(args)
        if args.command == "firewall-hosts":
            from kiosk.commands import firewall as firewall_cmd

            return firewall_cmd.run(args)
    except SettingsError as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    parser.error(f"unknown command {args.command}")
    return 2  # pragma: no cover - parser.error exits


if __name__ == "__main__":
    raise SystemExit(main())
