"""The ``ota`` command. ``ota status`` reports the installed release; keys, the TUF repository and
releases are ``ota.release_cli``'s; ``ota tuf-client`` is the TUF conformance client (``ota.tuf_client``)."""

from __future__ import annotations

import argparse
import json
import platform
import sys
from collections.abc import Sequence

from kiosk import __version__
from ota import release_cli


def main(argv: Sequence[str] | None = None) -> int:
    args_in = list(sys.argv[1:] if argv is None else argv)
    if args_in[:1] == ["tuf-client"]:
        # its options come before its subcommand, as the conformance protocol has them
        from ota import tuf_client

        return tuf_client.main(args_in[1:])
    parser = argparse.ArgumentParser(prog="ota", description="Kiosk software updates")
    parser.add_argument("--version", action="version", version=f"ota {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    status = sub.add_parser("status", help="the installed release of the kiosk software")
    status.add_argument("--json", action="store_true")
    sub.add_parser("tuf-client", help="the TUF client-conformance command line (ota tuf-client -h)")
    release_cli.add_parsers(sub)
    args = parser.parse_args(args_in)
    if args.command in ("keys", "repo", "release"):
        return release_cli.run(args)
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
