"""``ota tuf-client``: the TUF client-conformance command line, on the agent's own update code.

The protocol (tuf-conformance's "client-under-test CLI")::

    ota tuf-client --metadata-dir DIR init TRUSTED_ROOT
    ota tuf-client --metadata-dir DIR --metadata-url URL refresh
    ota tuf-client --metadata-dir DIR --metadata-url URL --target-name NAME [--target-name NAME …]
                   --target-base-url URL --target-dir DIR download

Exit 0 on success, 1 on any failure (argument errors included). The metadata folder holds the
trusted metadata under non-versioned names (``root.json``, ``timestamp.json``, ``snapshot.json``,
``targets.json``), which is how ngclient keeps it. Every step runs through ``ota.updater``, the
code the kiosk agent updates with, so passing the conformance suite says something about the agent.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from ota.updater import TufUpdater, UpdateError, trust_root

EXIT_OK = 0
EXIT_FAILED = 1


class _Parser(argparse.ArgumentParser):
    """argparse that exits 1, not 2, on bad arguments: the protocol knows only 0 and 1."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_FAILED)


def parser(prog: str = "ota tuf-client") -> argparse.ArgumentParser:
    p = _Parser(prog=prog, description="TUF client-conformance command line (same code as the agent)")
    p.add_argument("--metadata-dir", type=Path, required=True, help="the client's trusted metadata folder")
    p.add_argument("--metadata-url", help="base URL of the repository's metadata")
    p.add_argument("--target-name", action="append", default=[], help="a target to download (repeatable)")
    p.add_argument("--target-base-url", help="base URL of the repository's targets")
    p.add_argument("--target-dir", type=Path, help="folder the targets are downloaded into")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    init = sub.add_parser("init", help="trust TRUSTED_ROOT as the initial root")
    init.add_argument("trusted_root", type=Path, metavar="TRUSTED_ROOT")
    sub.add_parser("refresh", help="refresh the top-level metadata")
    sub.add_parser("download", help="refresh, then download the --target-name targets")
    return p


def run(args: argparse.Namespace) -> int:
    metadata_dir: Path = args.metadata_dir
    try:
        if args.command == "init":
            trust_root(metadata_dir, args.trusted_root.read_bytes())
            return EXIT_OK
        if not args.metadata_url:
            print("--metadata-url is required", file=sys.stderr)
            return EXIT_FAILED
        if args.command == "refresh":
            TufUpdater(metadata_dir, args.metadata_url).refresh()
            return EXIT_OK
        if not args.target_name or not args.target_base_url or args.target_dir is None:
            print("download needs --target-name, --target-base-url and --target-dir", file=sys.stderr)
            return EXIT_FAILED
        updater = TufUpdater(metadata_dir, args.metadata_url, args.target_base_url, args.target_dir)
        updater.refresh()
        for name in args.target_name:
            updater.download(name)
        return EXIT_OK
    except UpdateError as exc:
        print(f"{exc.reason}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except OSError as exc:
        print(f"local_io: {exc}", file=sys.stderr)
        return EXIT_FAILED


def main(argv: Sequence[str] | None = None) -> int:
    return run(parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
