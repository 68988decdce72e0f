"""The ``hq`` command: run the server, stores, kiosks and admins, fleet status, load the catalog.

Exit codes: 0 done; 1 the machine would not let it happen (port taken, disk, a database folder it
may not create); 2 bad input (arguments, settings, database URL, CSV, an unknown store or kiosk).
Results go to stdout, so ``CODE=$(hq device enroll-code --store s01)`` captures exactly the code;
explanations and errors go to stderr, in the admin's language (see ``hq.i18n``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hq import admin_cli, cli_data, i18n, picture_cli, promo_cli, staff_cli, support_cli
from hq.catalog import CatalogImportError, RowProblem, import_products, read_catalog_csv, seed_demo
from hq.cli_common import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, MAX_PROBLEMS_SHOWN
from hq.cli_common import say as _say
from hq.db import DatabaseFolderError, DatabaseOpenError, connected, open_database
from hq.i18n import Text
from hq.settings import HqSettings, SettingsError, load_settings


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, help="a TOML file over the default settings (same keys)")
    common.add_argument("--db", metavar="URL", help="database URL: sqlite:///abs/path or postgres://...")

    parser = argparse.ArgumentParser(
        prog="hq", description="Kiosk HQ server and admin tools. See docs/hq.md."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", parents=[common], help="run the HQ API server")
    serve.add_argument("--host", help="address to listen on (default from [server] host)")
    serve.add_argument("--port", type=int, help="port to listen on (default from [server] port)")
    serve.add_argument("--workers", type=int, help="worker processes (default from [server] workers)")

    admin_cli.add_parsers(commands, common)
    staff_cli.add_parsers(commands, common)
    promo_cli.add_parsers(commands, common)
    support_cli.add_parsers(commands, common)

    catalog = commands.add_parser("catalog", help="the product catalog").add_subparsers(
        dest="action", required=True
    )
    imp = catalog.add_parser("import", parents=[common], help="insert or update products from a CSV file")
    imp.add_argument("file", metavar="FILE.csv", type=Path)
    imp.add_argument("--encoding", default="utf-8-sig", help="text encoding of the file (default UTF-8)")
    catalog.add_parser("seed-demo", parents=[common], help="add a dozen demo products")
    cli_data.add_parsers(commands, catalog, common)
    picture_cli.add_parsers(catalog, common)

    openapi = commands.add_parser("openapi", help="print HQ's OpenAPI document (docs/hq-openapi.json)")
    openapi.add_argument("--out", type=Path, metavar="FILE", help="write it to FILE instead of stdout")
    return parser


def _settings(args: argparse.Namespace) -> HqSettings:
    overrides: dict[str, Any] = {}
    if args.db is not None:
        overrides.setdefault("database", {})["url"] = args.db
    if getattr(args, "host", None) is not None:
        overrides.setdefault("server", {})["host"] = args.host
    if getattr(args, "port", None) is not None:
        overrides.setdefault("server", {})["port"] = args.port
    if getattr(args, "workers", None) is not None:
        overrides.setdefault("server", {})["workers"] = args.workers
    return load_settings(config=args.config, overrides=overrides)


def _show_problems(path: object, problems: Sequence[RowProblem]) -> None:
    _say(i18n.IMPORT_REFUSED.format(path=path, count=len(problems)))
    for problem in problems[:MAX_PROBLEMS_SHOWN]:
        _say(Text("  {problem}", "  {problem}").format(problem=problem.text()))
    if len(problems) > MAX_PROBLEMS_SHOWN:
        _say(i18n.AND_MORE.format(count=len(problems) - MAX_PROBLEMS_SHOWN))


def _serve(settings: HqSettings) -> int:
    from hq.serving import serve

    return serve(settings)


def _catalog_import(path: Path, encoding: str) -> int:
    try:
        items = read_catalog_csv(path, encoding)
    except LookupError:
        _say(i18n.BAD_ENCODING.format(encoding=encoding))
        return EXIT_BAD_INPUT
    except UnicodeDecodeError:
        _say(i18n.FILE_NOT_UTF8.format(path=path))
        return EXIT_BAD_INPUT
    except OSError as exc:
        _say(i18n.FILE_UNREADABLE.format(path=path, reason=exc.strerror or exc))
        return EXIT_BAD_INPUT
    except CatalogImportError as exc:
        _show_problems(path, exc.problems)
        return EXIT_BAD_INPUT
    try:
        with connected():
            summary = import_products(items)
    except CatalogImportError as exc:
        _show_problems(path, exc.problems)
        return EXIT_BAD_INPUT
    text = i18n.IMPORTED.format(path=path, count=len(items), created=summary.created, updated=summary.updated)
    _say(text, sys.stdout)
    return EXIT_OK


def _seed_demo() -> int:
    try:
        with connected():
            summary = seed_demo()
    except CatalogImportError as exc:
        _show_problems("seed-demo", exc.problems)
        return EXIT_BAD_INPUT
    _say(i18n.SEEDED.format(count=summary.created + summary.updated), sys.stdout)
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "openapi":
        from hq.serving import write_openapi

        return write_openapi(args.out)
    try:
        settings = _settings(args)
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        if args.command == "serve":
            return _serve(settings)
        open_database(settings.database.url)
        handled = cli_data.run(args)
        if handled is not None:
            return handled
        if args.command == staff_cli.COMMAND:
            return staff_cli.run(args, settings)
        if args.command == promo_cli.COMMAND:
            return promo_cli.run(args)
        if args.command == support_cli.COMMAND:
            return support_cli.run(args, settings)
        if args.command == "catalog" and args.action == picture_cli.ACTION:
            return picture_cli.run(args)
        if args.command in admin_cli.COMMANDS:
            return admin_cli.run(args)
        if args.action == "import":
            return _catalog_import(args.file, args.encoding)
        return _seed_demo()
    except DatabaseFolderError as exc:
        _say(exc.text)
        return EXIT_FAILED
    except DatabaseOpenError as exc:
        _say(exc.text)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
