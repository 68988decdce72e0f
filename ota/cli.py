"""The ``ota`` command.

- ``ota keys ...``, ``ota repo ...``, ``ota release build|publish`` sign releases into HQ's TUF
  repository (``ota.release_cli``);
- ``ota release register``, ``ota rollout ...`` and ``ota status`` are HQ's side (``hq.ota_cli``): they
  run on the HQ machine against HQ's database; ``ota status --installed`` reports the release
  installed where it runs;
- ``ota tuf-client`` is the TUF client-conformance command line (``ota.tuf_client``).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from collections.abc import Sequence

from kiosk import __version__
from ota import release_cli


def _installed(as_json: bool) -> int:
    info = {"version": __version__, "python": platform.python_version(), "machine": platform.machine()}
    if as_json:
        print(json.dumps(info))
    else:
        print(f"kiosk software {info['version']} (Python {info['python']}, {info['machine']})")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args_in = list(sys.argv[1:] if argv is None else argv)
    if args_in[:1] == ["tuf-client"]:
        # its options come before its subcommand, as the conformance protocol has them
        from ota import tuf_client

        return tuf_client.main(args_in[1:])
    from hq import ota_cli  # the HQ side: only loaded by the command, not on import

    parser = argparse.ArgumentParser(prog="ota", description="Kiosk software updates")
    parser.add_argument("--version", action="version", version=f"ota {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("tuf-client", help="the TUF client-conformance command line (ota tuf-client -h)")
    release = release_cli.add_parsers(sub)
    ota_cli.add_register_parser(release)
    ota_cli.add_parsers(sub)
    sub.choices["status"].add_argument(
        "--installed", action="store_true", help="the release installed here instead of the fleet's"
    )
    args = parser.parse_args(args_in)
    if args.command == "status" and args.installed:
        return _installed(args.json)
    if getattr(args, "hq_ota", None) is not None:
        return ota_cli.run(args)
    if args.command in ("keys", "repo", "release"):
        return release_cli.run(args)
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":
    sys.exit(main())
