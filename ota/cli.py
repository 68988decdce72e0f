"""The ``ota`` command. ``ota status`` reports the installed release; signed updates come next."""

from __future__ import annotations

import argparse
import json
import platform
import sys
from collections.abc import Sequence

from kiosk import __version__


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ota", description="Kiosk software updates")
    parser.add_argument("--version", action="version", version=f"ota {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    status = sub.add_parser("status", help="the installed release of the kiosk software")
    status.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "status":
        info = {"version": __version__, "python": platform.python_version(), "machine": platform.machine()}
        if args.json:
            print(json.dumps(info))
        else:
            print(f"kiosk software {info['version']} (Python {info['python']}, {info['machine']})")
        return 0
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":
    sys.exit(main())
