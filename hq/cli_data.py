"""The ``hq`` subcommands of the data plane: categories, store prices, settings and the sales export.

``hq.cli`` builds the parser and calls ``add_parsers`` and ``run``; everything here prints results to
stdout and explanations to stderr in the admin's language, with the exit codes of ``hq.cli``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from hq import i18n
from hq.catalog import CatalogImportError, RowProblem
from hq.catalog_sync import (
    BadSetting,
    NoSuchEntry,
    import_categories,
    list_settings,
    parse_categories,
    parse_prices,
    read_text_file,
    remove_store_prices,
    set_setting,
    set_store_prices,
    unset_setting,
)
from hq.cli_common import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, MAX_PROBLEMS_SHOWN
from hq.cli_common import say as _say
from hq.db import connected
from hq.export import ExportFilter, parse_moment, sales, write_csv, write_json
from hq.i18n import Text
from hq.models import Store
from hq.versioning import current_version


def _scope_args(parser: argparse.ArgumentParser) -> None:
    scope = parser.add_mutually_exclusive_group(required=True)
    scope.add_argument("--store", metavar="S", help="a store's code: the setting applies to its kiosks")
    scope.add_argument("--kiosk", metavar="K", help="a kiosk id: the setting applies to it, over its store's")


def add_parsers(commands: Any, catalog: Any, common: argparse.ArgumentParser) -> None:
    """Add ``catalog categories``, ``catalog prices``, ``settings`` and ``sales`` to ``hq``'s parser."""
    categories = catalog.add_parser("categories", help="category names").add_subparsers(
        dest="sub", required=True
    )
    cat_import = categories.add_parser(
        "import", parents=[common], help="insert or update categories from a CSV file (code,name_zh,name_en)"
    )
    cat_import.add_argument("file", metavar="FILE.csv", type=Path)
    cat_import.add_argument(
        "--encoding", default="utf-8-sig", help="text encoding of the file (default UTF-8)"
    )

    prices = catalog.add_parser("prices", help="a store's own prices").add_subparsers(
        dest="sub", required=True
    )
    price_import = prices.add_parser(
        "import", parents=[common], help="set a store's prices from a CSV file (sku,price_fen)"
    )
    price_import.add_argument("--store", required=True, metavar="S")
    price_import.add_argument("file", metavar="FILE.csv", type=Path)
    price_import.add_argument(
        "--encoding", default="utf-8-sig", help="text encoding of the file (default UTF-8)"
    )
    price_remove = prices.add_parser(
        "remove", parents=[common], help="drop a store's own prices: the products' prices apply again"
    )
    price_remove.add_argument("--store", required=True, metavar="S")
    price_remove.add_argument("skus", metavar="SKU", nargs="+")

    settings = commands.add_parser("settings", help="settings sent to kiosks").add_subparsers(
        dest="action", required=True
    )
    setting_set = settings.add_parser("set", parents=[common], help="set KEY to a JSON value")
    _scope_args(setting_set)
    setting_set.add_argument("key", metavar="KEY")
    setting_set.add_argument("value", metavar="VALUE_JSON", help="JSON: '\"text\"', 42, true, [1, 2], {...}")
    setting_unset = settings.add_parser("unset", parents=[common], help="remove KEY")
    _scope_args(setting_unset)
    setting_unset.add_argument("key", metavar="KEY")
    setting_list = settings.add_parser("list", parents=[common], help="the settings of a store or a kiosk")
    _scope_args(setting_list)

    sales_cmd = commands.add_parser("sales", help="sales for other systems").add_subparsers(
        dest="action", required=True
    )
    export = sales_cmd.add_parser("export", parents=[common], help="export sales as CSV or JSON")
    export.add_argument("--since", required=True, metavar="DATE", help="paid at or after (YYYY-MM-DD, UTC)")
    export.add_argument("--until", metavar="DATE", help="paid before (YYYY-MM-DD, UTC)")
    export.add_argument("--store", metavar="S", help="only this store's sales")
    export.add_argument("--format", required=True, choices=("csv", "json"))
    export.add_argument(
        "--out", type=Path, metavar="FILE", help="write here (never over a file); default stdout"
    )


def _problems(path: object, problems: list[RowProblem]) -> int:
    _say(i18n.IMPORT_REFUSED.format(path=path, count=len(problems)))
    for problem in problems[:MAX_PROBLEMS_SHOWN]:
        _say(Text("  {problem}", "  {problem}").format(problem=problem.text()))
    if len(problems) > MAX_PROBLEMS_SHOWN:
        _say(i18n.AND_MORE.format(count=len(problems) - MAX_PROBLEMS_SHOWN))
    return EXIT_BAD_INPUT


def _read(path: Path, encoding: str) -> str | None:
    try:
        return read_text_file(path, encoding)
    except LookupError:
        _say(i18n.BAD_ENCODING.format(encoding=encoding))
    except UnicodeDecodeError:
        _say(i18n.FILE_NOT_UTF8.format(path=path))
    except OSError as exc:
        _say(i18n.FILE_UNREADABLE.format(path=path, reason=exc.strerror or exc))
    return None


def _guarded(action: Callable[[], int], path: object = "-") -> int:
    try:
        with connected():
            return action()
    except CatalogImportError as exc:
        return _problems(path, exc.problems)
    except (NoSuchEntry, BadSetting) as exc:
        _say(exc.text)
        return EXIT_BAD_INPUT


def _categories_import(args: argparse.Namespace) -> int:
    text = _read(args.file, args.encoding)
    if text is None:
        return EXIT_BAD_INPUT

    def act() -> int:
        rows = parse_categories(text)
        changed = import_categories(rows)
        shown = i18n.CATEGORIES_IMPORTED.format(
            path=args.file, count=len(rows), changed=changed, version=current_version()
        )
        _say(shown, sys.stdout)
        return EXIT_OK

    return _guarded(act, args.file)


def _prices(args: argparse.Namespace) -> int:
    if args.sub == "remove":

        def remove() -> int:
            count = remove_store_prices(args.store, args.skus)
            _say(
                i18n.PRICES_REMOVED.format(store=args.store, count=count, version=current_version()),
                sys.stdout,
            )
            return EXIT_OK

        return _guarded(remove)
    text = _read(args.file, args.encoding)
    if text is None:
        return EXIT_BAD_INPUT

    def act() -> int:
        rows = parse_prices(text)
        changed = set_store_prices(args.store, rows)
        shown = i18n.PRICES_IMPORTED.format(
            path=args.file, count=len(rows), store=args.store, changed=changed, version=current_version()
        )
        _say(shown, sys.stdout)
        return EXIT_OK

    return _guarded(act, args.file)


def _settings(args: argparse.Namespace) -> int:
    scope = f"store {args.store}" if args.store else f"kiosk {args.kiosk}"

    def act() -> int:
        if args.action == "list":
            for key, value in list_settings(args.store, args.kiosk).items():
                print(f"{key}\t{json.dumps(value, ensure_ascii=False)}")
            return EXIT_OK
        if args.action == "unset":
            unset_setting(args.key, args.store, args.kiosk)
            _say(i18n.SETTING_UNSET.format(scope=scope, key=args.key, version=current_version()), sys.stdout)
            return EXIT_OK
        changed = set_setting(args.key, args.value, args.store, args.kiosk)
        text = i18n.SETTING_SET if changed else i18n.SETTING_UNCHANGED
        _say(text.format(scope=scope, key=args.key, value=args.value, version=current_version()), sys.stdout)
        return EXIT_OK

    return _guarded(act)


def _open_new(path: Path) -> TextIO:
    """``path`` made new (0600, like every file HQ creates); FileExistsError when something is there."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    return os.fdopen(fd, "w", encoding="utf-8", newline="")


def _export(args: argparse.Namespace) -> int:
    since = parse_moment(args.since)
    until = parse_moment(args.until) if args.until else None
    for raw, parsed in ((args.since, since), (args.until, until)):
        if raw and parsed is None:
            _say(i18n.BAD_DATE.format(value=raw))
            return EXIT_BAD_INPUT
    assert since is not None
    with connected():
        store_id = None
        if args.store:
            store = Store.get_or_none(Store.code == args.store)
            if store is None:
                _say(i18n.NO_SUCH_STORE.format(store=args.store))
                return EXIT_BAD_INPUT
            store_id = store.id
        if args.out is not None:
            try:
                out = _open_new(args.out)
            except FileExistsError:
                _say(i18n.EXPORT_EXISTS.format(path=args.out))
                return EXIT_BAD_INPUT
            except OSError as exc:
                _say(i18n.EXPORT_UNWRITABLE.format(path=args.out, reason=exc.strerror or exc))
                return EXIT_FAILED
        else:
            out = sys.stdout
        write = write_csv if args.format == "csv" else write_json
        try:
            count = write(sales(ExportFilter(since, until, store_id)), out)
        finally:
            if out is not sys.stdout:
                out.close()
            else:
                out.flush()
    if args.out is not None:
        _say(i18n.EXPORTED.format(path=args.out, count=count), sys.stdout)
    return EXIT_OK


def run(args: argparse.Namespace) -> int | None:
    """Run the command if it is one of these; None for the other commands of ``hq``."""
    if args.command == "catalog" and args.action == "categories":
        return _categories_import(args)
    if args.command == "catalog" and args.action == "prices":
        return _prices(args)
    if args.command == "settings":
        return _settings(args)
    if args.command == "sales":
        return _export(args)
    return None
