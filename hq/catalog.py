"""The product catalog: CSV import (all rows or none), the demo products, and what kiosks download.

An import is checked in full before anything is written, and every problem is reported with its row
number (as a spreadsheet shows it: the header is row 1), column and value, so an admin fixes the file
in one pass instead of one error per attempt.

Every product an import adds or changes takes the import's catalog version (``hq.versioning``), so
kiosks fetch just those rows; an import that changes nothing takes no version at all.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from peewee import chunked

from hq import i18n
from hq.i18n import Text
from hq.models import Product, database, utc_now
from hq.versioning import next_version
from kiosk_common.codes import gtin_check_ok

CSV_COLUMNS = ("sku", "name_zh", "name_en", "price_fen", "barcode", "category")
#: columns a file may have; when absent, image_url stays as HQ holds it and a product is active
OPTIONAL_COLUMNS = ("image_url", "active")
IMAGE_URL_RE = re.compile(r"^(https://[\x21-\x7e]{4,504}|/[\x21-\x7e]{0,511})$")
_ACTIVE = {"1": True, "yes": True, "true": True, "0": False, "no": False, "false": False}
MAX_PRICE_FEN = 100_000_000  # ¥1,000,000: anything above is a typo, not a product
SKU_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class ProductRow:
    sku: str
    name_zh: str
    name_en: str
    price_fen: int
    barcode: str | None
    category: str
    active: bool = True
    #: None: keep the picture HQ holds (the file had no image_url column)
    image_url: str | None = None


@dataclass(frozen=True, slots=True)
class RowProblem:
    row: int
    column: str
    value: str
    problem: Text

    def text(self) -> Text:
        return i18n.ROW_PROBLEM.format(
            row=self.row, column=self.column, value=self.value, problem=self.problem
        )


@dataclass(frozen=True, slots=True)
class CsvProduct:
    """A product and the row of the file it came from, so later checks can name the row too."""

    row: int
    product: ProductRow


@dataclass(frozen=True, slots=True)
class ImportSummary:
    created: int
    updated: int


class CatalogImportError(ValueError):
    """The file has problems; nothing was imported. ``problems`` lists every one found."""

    def __init__(self, problems: Sequence[RowProblem]) -> None:
        super().__init__("; ".join(str(p.text()) for p in problems[:5]))
        self.problems = list(problems)


def check_digit(body: str) -> int:
    """The GS1 mod-10 check digit for the digits before it."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def _check_text(value: str, max_len: int, problem: Text) -> Text | None:
    if not value or len(value) > max_len or _CONTROL_RE.search(value):
        return problem
    return None


def _check_price(value: str) -> tuple[int | None, Text | None]:
    if value.isascii() and value.isdigit():
        price = int(value)
        if price <= MAX_PRICE_FEN:
            return price, None
    if re.fullmatch(r"\d+\.\d{1,2}", value):
        return None, i18n.PRICE_IN_YUAN
    return None, i18n.BAD_PRICE.format(max=MAX_PRICE_FEN)


def parse_price(value: str) -> tuple[int | None, Text | None]:
    """A price cell in fen, or why it is not one (the same words as the catalog import)."""
    return _check_price(value)


def _check_barcode(value: str) -> tuple[str | None, Text | None]:
    if not value:
        return None, None
    if not (value.isascii() and value.isdigit() and len(value) in (8, 12, 13)):
        return None, i18n.BAD_BARCODE
    if not gtin_check_ok(value):
        return None, i18n.BAD_CHECK_DIGIT.format(digit=check_digit(value[:-1]))
    return value, None


def _header_problems(header: list[str]) -> list[RowProblem]:
    problems = []
    seen: set[str] = set()
    for name in header:
        if name in seen:
            problems.append(RowProblem(1, name, name, i18n.CSV_DUPLICATE_COLUMN))
        elif name not in CSV_COLUMNS and name not in OPTIONAL_COLUMNS:
            problems.append(RowProblem(1, name or "(empty)", name, i18n.CSV_UNKNOWN_COLUMN))
        seen.add(name)
    for column in CSV_COLUMNS:
        if column not in seen:
            problems.append(RowProblem(1, column, "", i18n.CSV_MISSING_COLUMN.format(column=column)))
    return problems


def _check_record(row: int, record: dict[str, str]) -> tuple[ProductRow | None, list[RowProblem]]:
    """One data row on its own; duplicates across rows are the caller's job."""
    price, price_problem = _check_price(record["price_fen"])
    barcode, barcode_problem = _check_barcode(record["barcode"])
    image_url = record.get("image_url")
    active = _ACTIVE.get(record.get("active", "1").lower())
    found = {
        "sku": None if SKU_RE.fullmatch(record["sku"]) else i18n.BAD_SKU,
        "name_zh": _check_text(record["name_zh"], 128, i18n.BAD_NAME),
        "name_en": _check_text(record["name_en"], 128, i18n.BAD_NAME),
        "price_fen": price_problem,
        "barcode": barcode_problem,
        "category": _check_text(record["category"], 64, i18n.BAD_CATEGORY),
        "image_url": i18n.BAD_IMAGE_URL if image_url and not IMAGE_URL_RE.fullmatch(image_url) else None,
        "active": i18n.BAD_ACTIVE if active is None else None,
    }
    problems = [RowProblem(row, col, record[col], text) for col, text in found.items() if text is not None]
    if problems or price is None or active is None:
        return None, problems
    product = ProductRow(
        record["sku"],
        record["name_zh"],
        record["name_en"],
        price,
        barcode,
        record["category"],
        active,
        image_url,
    )
    return product, []


def parse_catalog_csv(text: str) -> list[CsvProduct]:
    """Every product in the CSV text, or CatalogImportError listing every problem. Writes nothing."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise CatalogImportError([RowProblem(1, "-", "", i18n.CSV_SYNTAX.format(reason=exc))]) from None
    if header is None or not any(cell.strip() for cell in header):
        raise CatalogImportError([RowProblem(1, "-", "", i18n.CSV_EMPTY)])
    header = [cell.strip().lower() for cell in header]
    problems = _header_problems(header)
    if problems:
        raise CatalogImportError(problems)
    products: list[CsvProduct] = []
    first_row_of: dict[tuple[str, str], int] = {}
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(RowProblem(reader.line_num, "-", "", i18n.CSV_SYNTAX.format(reason=exc)))
            break
        row = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            shown = ",".join(cells)[:80]
            problems.append(
                RowProblem(row, "-", shown, i18n.CSV_FIELD_COUNT.format(got=len(cells), want=len(header)))
            )
            continue
        record = {name: cell.strip() for name, cell in zip(header, cells, strict=True)}
        for column, duplicate in (("sku", i18n.DUPLICATE_SKU), ("barcode", i18n.DUPLICATE_BARCODE)):
            value = record[column]
            if not value:
                continue
            other = first_row_of.setdefault((column, value), row)
            if other != row:
                problems.append(RowProblem(row, column, value, duplicate.format(other=other)))
        product, row_problems = _check_record(row, record)
        problems.extend(row_problems)
        if product is not None:
            products.append(CsvProduct(row, product))
    if problems:
        raise CatalogImportError(problems)
    return products


def read_catalog_csv(path: Path, encoding: str = "utf-8-sig") -> list[CsvProduct]:
    """Read and check a catalog file. OSError and UnicodeDecodeError pass through for the caller to word."""
    with path.open("r", encoding=encoding, newline="") as fh:
        return parse_catalog_csv(fh.read())


def _values(row: ProductRow, held: Product | None) -> dict[str, object]:
    image_url = row.image_url if row.image_url is not None else (held.image_url if held is not None else "")
    return {
        "name_zh": row.name_zh,
        "name_en": row.name_en,
        "price_fen": row.price_fen,
        "barcode": row.barcode,
        "category": row.category,
        "active": row.active,
        "image_url": image_url,
    }


def _unchanged(values: dict[str, object], held: Product) -> bool:
    return all(getattr(held, name) == value for name, value in values.items())


def import_products(items: Sequence[CsvProduct]) -> ImportSummary:
    """Insert or update every product in one transaction; products not in ``items`` stay as they are.

    A barcode that another product (one not in this import) already holds is a problem for the whole
    import, reported like a bad cell, because two products answering one scan is worse than no import.
    Only products that differ from what HQ holds are written, under one new catalog version.
    """
    skus = {item.product.sku for item in items}
    with database.atomic():
        taken: dict[str, str] = {}
        barcodes = [b for item in items if (b := item.product.barcode) is not None]
        for chunk in chunked(barcodes, 500):
            query = Product.select(Product.barcode, Product.sku).where(Product.barcode.in_(chunk))
            taken.update({p.barcode: p.sku for p in query if p.barcode is not None and p.sku not in skus})
        problems = [
            RowProblem(item.row, "barcode", barcode, i18n.BARCODE_TAKEN.format(sku=taken[barcode]))
            for item in items
            if (barcode := item.product.barcode) is not None and barcode in taken
        ]
        if problems:
            raise CatalogImportError(problems)
        held: dict[str, Product] = {}
        for chunk in chunked(sorted(skus), 500):
            held.update({p.sku: p for p in Product.select().where(Product.sku.in_(chunk))})
        changes: dict[str, dict[str, object]] = {}
        for item in items:
            before = held.get(item.product.sku)
            values = _values(item.product, before)
            if before is None or not _unchanged(values, before):
                changes[item.product.sku] = values
        if changes:
            version = next_version()
            changed_known = sorted(sku for sku in changes if sku in held)
            for chunk in chunked(changed_known, 500):
                # free these products' barcodes first, so two of them may swap barcodes in one import
                Product.update(barcode=None).where(Product.sku.in_(chunk)).execute()
            now = utc_now()
            for sku, values in changes.items():
                if sku in held:
                    Product.update(**values, updated_at=now, version=version).where(
                        Product.sku == sku
                    ).execute()
                else:
                    Product.insert(sku=sku, **values, updated_at=now, version=version).execute()
    known = skus & set(held)
    return ImportSummary(created=len(skus - known), updated=len(known))


def seed_demo() -> ImportSummary:
    """Import the demo products (as if from a CSV, so a clash is reported the same way)."""
    return import_products([CsvProduct(i + 2, p) for i, p in enumerate(demo_products())])


def list_products() -> list[ProductRow]:
    return [
        ProductRow(
            p.sku, p.name_zh, p.name_en, p.price_fen, p.barcode, p.category, bool(p.active), p.image_url
        )
        for p in Product.select().order_by(Product.sku)
    ]


def _ean13(body: str) -> str:
    return body + str(check_digit(body))


def demo_products() -> list[ProductRow]:
    """A dozen products a convenience store sells, with EAN-13s on China's 690-699 prefixes."""
    items: Iterable[tuple[str, str, str, int, str, str]] = (
        ("D001", "矿泉水 550ml", "Mineral water 550ml", 200, "690123456001", "drinks"),
        ("D002", "可乐 330ml", "Cola 330ml", 350, "690123456002", "drinks"),
        ("D003", "绿茶 500ml", "Green tea 500ml", 400, "690123456003", "drinks"),
        ("D004", "橙汁 300ml", "Orange juice 300ml", 600, "692234567004", "drinks"),
        ("D005", "热咖啡", "Hot coffee", 1200, "692234567005", "drinks"),
        ("F001", "三明治", "Sandwich", 1200, "693345678001", "food"),
        ("F002", "饭团", "Rice ball", 650, "693345678002", "food"),
        ("F003", "牛肉面", "Beef noodles", 1800, "693345678003", "food"),
        ("F004", "茶叶蛋", "Tea egg", 250, "693345678004", "food"),
        ("S001", "薯片", "Potato chips", 800, "694456789001", "snacks"),
        ("S002", "巧克力", "Chocolate bar", 900, "694456789002", "snacks"),
        ("S003", "口香糖", "Chewing gum", 500, "694456789003", "snacks"),
        ("H001", "纸巾", "Tissues", 300, "695567890001", "household"),
    )
    return [ProductRow(sku, zh, en, price, _ean13(body), cat) for sku, zh, en, price, body, cat in items]
