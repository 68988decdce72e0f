"""What a kiosk downloads (docs/sync-protocol.md §5), and the changes admins make to it besides products:
categories, each store's prices, and settings per store and per kiosk.

Each change takes the next catalog version (``hq.versioning``) in the transaction that writes it and
stamps the rows it touches, so a kiosk asking for changes since version N gets exactly the rows
stamped above N. A removed store price or setting stays as a row with a NULL value, so a delta can
carry the removal. What a kiosk gets is only ever its own store's prices and settings, with its own
kiosk settings over the store's, key by key.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from peewee import chunked

from hq import i18n
from hq.catalog import CatalogImportError, RowProblem, parse_price
from hq.i18n import Text
from hq.jsonbody import loads_strict
from hq.models import Category, Device, Product, ScopedSetting, Store, StorePrice, database
from hq.pictures import pictures_of
from hq.promotions import promotions_for_store
from hq.staff import staff_for_store
from hq.versioning import current_version, next_version

CATEGORY_COLUMNS = ("code", "name_zh", "name_en")
PRICE_COLUMNS = ("sku", "price_fen")
SETTING_KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
#: a setting's value, as JSON text, is at most this long
MAX_SETTING_BYTES = 16 * 1024
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


# --- CSV files of categories and prices ----------------------------------------------------------------


def read_table(text: str, columns: Sequence[str]) -> list[tuple[int, dict[str, str]]]:
    """The rows of a CSV with exactly ``columns`` (any order, any case), each with its row number as a
    spreadsheet shows it; CatalogImportError lists every problem of the header or the rows' shape."""
    shown = ",".join(columns)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise CatalogImportError([RowProblem(1, "-", "", i18n.CSV_SYNTAX.format(reason=exc))]) from None
    if header is None or not any(cell.strip() for cell in header):
        raise CatalogImportError([RowProblem(1, "-", "", i18n.CSV_EMPTY_OF.format(columns=shown))])
    header = [cell.strip().lower() for cell in header]
    problems: list[RowProblem] = []
    for position, name in enumerate(header):
        if name in header[:position]:
            problems.append(RowProblem(1, name, name, i18n.CSV_DUPLICATE_COLUMN))
        elif name not in columns:
            problems.append(
                RowProblem(1, name or "(empty)", name, i18n.CSV_UNKNOWN_COLUMN_OF.format(columns=shown))
            )
    problems += [
        RowProblem(1, column, "", i18n.CSV_MISSING_COLUMN.format(column=column))
        for column in columns
        if column not in header
    ]
    if problems:
        raise CatalogImportError(problems)
    rows: list[tuple[int, dict[str, str]]] = []
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(RowProblem(reader.line_num, "-", "", i18n.CSV_SYNTAX.format(reason=exc)))
            break
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            problems.append(
                RowProblem(
                    reader.line_num,
                    "-",
                    ",".join(cells)[:80],
                    i18n.CSV_FIELD_COUNT.format(got=len(cells), want=len(header)),
                )
            )
            continue
        rows.append((reader.line_num, {n: c.strip() for n, c in zip(header, cells, strict=True)}))
    if problems:
        raise CatalogImportError(problems)
    return rows


def read_text_file(path: Path, encoding: str = "utf-8-sig") -> str:
    """OSError, LookupError and UnicodeDecodeError pass through for the caller to word."""
    with path.open("r", encoding=encoding, newline="") as fh:
        return fh.read()


def _bad_text(value: str, max_len: int) -> bool:
    return not value or len(value) > max_len or bool(_CONTROL_RE.search(value))


@dataclass(frozen=True, slots=True)
class CategoryRow:
    code: str
    name_zh: str
    name_en: str


def parse_categories(text: str) -> list[CategoryRow]:
    """Every category of a ``code,name_zh,name_en`` file, or CatalogImportError listing every problem."""
    problems: list[RowProblem] = []
    found: list[CategoryRow] = []
    first_row: dict[str, int] = {}
    for row, record in read_table(text, CATEGORY_COLUMNS):
        bad = {
            "code": i18n.BAD_CATEGORY if _bad_text(record["code"], 64) else None,
            "name_zh": i18n.BAD_NAME if _bad_text(record["name_zh"], 128) else None,
            "name_en": i18n.BAD_NAME if _bad_text(record["name_en"], 128) else None,
        }
        row_problems = [RowProblem(row, c, record[c], t) for c, t in bad.items() if t is not None]
        other = first_row.setdefault(record["code"], row)
        if other != row:
            row_problems.append(
                RowProblem(row, "code", record["code"], i18n.DUPLICATE_CATEGORY.format(other=other))
            )
        problems += row_problems
        if not row_problems:
            found.append(CategoryRow(record["code"], record["name_zh"], record["name_en"]))
    if problems:
        raise CatalogImportError(problems)
    return found


def import_categories(rows: Sequence[CategoryRow]) -> int:
    """Insert or update categories in one transaction, under one new version; how many changed."""
    with database.atomic():
        held = {c.code: c for c in _in(Category, Category.code, [r.code for r in rows])}
        changed = [
            r
            for r in rows
            if (h := held.get(r.code)) is None or (h.name_zh, h.name_en) != (r.name_zh, r.name_en)
        ]
        if not changed:
            return 0
        version = next_version()
        for r in changed:
            values = {"name_zh": r.name_zh, "name_en": r.name_en, "version": version}
            if r.code in held:
                Category.update(**values).where(Category.code == r.code).execute()
            else:
                Category.insert(code=r.code, **values).execute()
    return len(changed)


def _in(model: Any, column: Any, values: Iterable[Any]) -> list[Any]:
    found: list[Any] = []
    for chunk in chunked(sorted(set(values)), 500):
        found.extend(model.select().where(column.in_(chunk)))
    return found


@dataclass(frozen=True, slots=True)
class PriceRow:
    row: int
    sku: str
    price_fen: int


def parse_prices(text: str) -> list[PriceRow]:
    """Every price of a ``sku,price_fen`` file, or CatalogImportError listing every problem."""
    problems: list[RowProblem] = []
    found: list[PriceRow] = []
    first_row: dict[str, int] = {}
    for row, record in read_table(text, PRICE_COLUMNS):
        price, problem = parse_price(record["price_fen"])
        row_problems = [] if problem is None else [RowProblem(row, "price_fen", record["price_fen"], problem)]
        other = first_row.setdefault(record["sku"], row)
        if other != row:
            row_problems.append(RowProblem(row, "sku", record["sku"], i18n.DUPLICATE_SKU.format(other=other)))
        problems += row_problems
        if not row_problems and price is not None:
            found.append(PriceRow(row, record["sku"], price))
    if problems:
        raise CatalogImportError(problems)
    return found


def set_store_prices(store_code: str, prices: Sequence[PriceRow]) -> int:
    """Set a store's own prices in one transaction, under one new version; how many changed.

    Every SKU must be a product HQ holds (else nothing is written, and each unknown row is named).
    """
    with database.atomic():
        store = _store(store_code)
        known = {p.sku for p in _in(Product, Product.sku, [p.sku for p in prices])}
        unknown = [RowProblem(p.row, "sku", p.sku, i18n.UNKNOWN_SKU) for p in prices if p.sku not in known]
        if unknown:
            raise CatalogImportError(unknown)
        held = {
            sp.sku: sp for sp in StorePrice.select().where(StorePrice.store == store.id) if sp.sku in known
        }
        changed = [p for p in prices if (h := held.get(p.sku)) is None or h.price_fen != p.price_fen]
        if not changed:
            return 0
        version = next_version()
        for p in changed:
            if p.sku in held:
                StorePrice.update(price_fen=p.price_fen, version=version).where(
                    StorePrice.id == held[p.sku].id
                ).execute()
            else:
                StorePrice.insert(
                    store=store.id, product=p.sku, price_fen=p.price_fen, version=version
                ).execute()
    return len(changed)


def remove_store_prices(store_code: str, skus: Sequence[str]) -> int:
    """Let the products' own prices apply in this store again; how many store prices were removed.

    A SKU without a store price is refused (nothing is written), so a typo does not pass unseen.
    """
    with database.atomic():
        store = _store(store_code)
        held = {
            sp.sku: sp
            for sp in StorePrice.select().where(
                StorePrice.store == store.id, StorePrice.price_fen.is_null(False)
            )
        }
        missing = sorted(set(skus) - set(held))
        if missing:
            raise NoSuchEntry(i18n.NO_STORE_PRICE.format(store=store_code, skus=", ".join(missing)))
        version = next_version()
        ids = [held[sku].id for sku in set(skus)]
        StorePrice.update(price_fen=None, version=version).where(StorePrice.id.in_(ids)).execute()
    return len(ids)


# --- settings ------------------------------------------------------------------------------------------


class NoSuchEntry(LookupError):
    """A store, kiosk, store price or setting that is not there; ``text`` says which, in both languages."""

    def __init__(self, text: Text) -> None:
        super().__init__(text.en)
        self.text = text


class BadSetting(ValueError):
    def __init__(self, text: Text) -> None:
        super().__init__(text.en)
        self.text = text


def _store(code: str) -> Store:
    store = Store.get_or_none(Store.code == code)
    if store is None:
        raise NoSuchEntry(i18n.NO_SUCH_STORE.format(store=code))
    return store


def _scope(store_code: str | None, kiosk_id: str | None) -> tuple[str, int]:
    if (store_code is None) == (kiosk_id is None):
        raise ValueError("give exactly one of a store and a kiosk")
    if store_code is not None:
        return "store", _store(store_code).id
    device = Device.get_or_none(Device.kiosk_id == kiosk_id)
    if device is None:
        raise NoSuchEntry(i18n.NO_SUCH_KIOSK.format(kiosk_id=kiosk_id))
    return "kiosk", int(device.id)


def parse_setting_value(text: str) -> str:
    """A setting's value as canonical JSON text, or BadSetting saying what to write instead."""
    if len(text.encode("utf-8")) > MAX_SETTING_BYTES:
        raise BadSetting(i18n.SETTING_TOO_LONG.format(limit=MAX_SETTING_BYTES))
    try:
        value = loads_strict(text.encode("utf-8"))
    except json.JSONDecodeError as exc:
        raise BadSetting(i18n.SETTING_NOT_JSON.format(reason=exc.msg)) from None
    if value is None:
        raise BadSetting(i18n.SETTING_NULL)
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def set_setting(key: str, value_json: str, store: str | None = None, kiosk: str | None = None) -> bool:
    """Set ``key`` for one store or one kiosk; False when it already had that value (no new version)."""
    if not SETTING_KEY_RE.fullmatch(key):
        raise BadSetting(i18n.BAD_SETTING_KEY.format(key=key))
    value = parse_setting_value(value_json)
    with database.atomic():
        scope, scope_id = _scope(store, kiosk)
        held = ScopedSetting.get_or_none(
            ScopedSetting.scope == scope, ScopedSetting.scope_id == scope_id, ScopedSetting.key == key
        )
        if held is not None and held.value == value:
            return False
        version = next_version()
        if held is None:
            ScopedSetting.insert(
                scope=scope, scope_id=scope_id, key=key, value=value, version=version
            ).execute()
        else:
            ScopedSetting.update(value=value, version=version).where(ScopedSetting.id == held.id).execute()
    return True


def unset_setting(key: str, store: str | None = None, kiosk: str | None = None) -> None:
    """Remove ``key`` from one store or kiosk (kept as a NULL row, so deltas carry the removal)."""
    with database.atomic():
        scope, scope_id = _scope(store, kiosk)
        held = ScopedSetting.get_or_none(
            ScopedSetting.scope == scope, ScopedSetting.scope_id == scope_id, ScopedSetting.key == key
        )
        if held is None or held.value is None:
            raise NoSuchEntry(i18n.NO_SUCH_SETTING.format(key=key, scope=store or kiosk))
        ScopedSetting.update(value=None, version=next_version()).where(ScopedSetting.id == held.id).execute()


def list_settings(store: str | None = None, kiosk: str | None = None) -> dict[str, Any]:
    scope, scope_id = _scope(store, kiosk)
    query = ScopedSetting.select().where(
        ScopedSetting.scope == scope, ScopedSetting.scope_id == scope_id, ScopedSetting.value.is_null(False)
    )
    return {row.key: json.loads(str(row.value)) for row in query.order_by(ScopedSetting.key)}


# --- what a kiosk downloads ---------------------------------------------------------------------------


@dataclass(slots=True)
class CatalogAnswer:
    kind: str
    since: int
    version: int
    categories: list[dict[str, Any]] = field(default_factory=list)
    products: list[dict[str, Any]] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    #: staff accounts for the kiosk's store (``hq.staff.staff_for_store``)
    staff: list[dict[str, Any]] = field(default_factory=list)
    #: HQ's badge public key (base64), set by the endpoint: kiosks check staff badges with it
    badge_public_key: str = ""
    #: every promotion the kiosk's store runs now or later, in every answer (``hq.promotions``)
    promotions: list[dict[str, Any]] = field(default_factory=list)


def _effective_settings(store_id: int, device_id: int, keys: set[str] | None) -> dict[str, Any]:
    """The kiosk's settings: its store's, with its own over them key by key (None: removed)."""
    query = ScopedSetting.select().where(
        ((ScopedSetting.scope == "store") & (ScopedSetting.scope_id == store_id))
        | ((ScopedSetting.scope == "kiosk") & (ScopedSetting.scope_id == device_id))
    )
    if keys is not None:
        query = query.where(ScopedSetting.key.in_(sorted(keys)))
    store_values: dict[str, str | None] = {}
    kiosk_values: dict[str, str | None] = {}
    for row in query:
        (store_values if row.scope == "store" else kiosk_values)[row.key] = row.value
    out: dict[str, Any] = {}
    for key in sorted(set(store_values) | set(kiosk_values)):
        text = kiosk_values.get(key)
        if text is None:
            text = store_values.get(key)
        out[key] = json.loads(text) if text is not None else None
    return out


def catalog_for(store_id: int, device_id: int, since: int) -> CatalogAnswer | None:
    """The changes a kiosk needs after version ``since``; None when it has the current version.

    The version is read first and rows after, so an answer may hold a row from a change that committed
    in between (sent again next time, harmlessly) but never lacks one it claims to include.
    """
    version = current_version()
    if since == version and since != 0:
        return None
    snapshot = since == 0 or since > version
    answer = CatalogAnswer("snapshot" if snapshot else "delta", since, version)
    categories = Category.select().order_by(Category.code)
    products = Product.select().order_by(Product.sku)
    store_prices = StorePrice.select().where(StorePrice.store == store_id)
    if not snapshot:
        categories = categories.where(Category.version > since)
        store_prices = store_prices.where(StorePrice.version > since)
    prices = {sp.sku: sp.price_fen for sp in store_prices}
    if not snapshot:
        changed_skus = set(prices) | {
            p.sku for p in Product.select(Product.sku).where(Product.version > since)
        }
        found = _in(Product, Product.sku, changed_skus)
        # a product that changed itself may still have an older store price in this store
        prices.update(
            {
                sp.sku: sp.price_fen
                for chunk in chunked(sorted(changed_skus - set(prices)), 500)
                for sp in StorePrice.select().where(
                    StorePrice.store == store_id, StorePrice.product.in_(chunk)
                )
            }
        )
        product_rows: Iterable[Product] = sorted(found, key=lambda p: p.sku)
    else:
        product_rows = products
    answer.categories = [{"code": c.code, "name_zh": c.name_zh, "name_en": c.name_en} for c in categories]
    product_rows = list(product_rows)
    # without the bytes: the kiosk fetches each picture it lacks (GET /api/v1/sync/pictures/{sku})
    pictures = pictures_of(None if snapshot else {p.sku for p in product_rows})
    answer.products = [
        {
            "sku": p.sku,
            "name_zh": p.name_zh,
            "name_en": p.name_en,
            "price_fen": price if (price := prices.get(p.sku)) is not None else p.price_fen,
            "barcode": p.barcode,
            "category": p.category,
            "image_url": p.image_url,
            "active": bool(p.active),
            "picture": None
            if (pic := pictures.get(p.sku)) is None
            else {"name": pic.name, "sha256": pic.sha256, "size": pic.size},
        }
        for p in product_rows
    ]
    if snapshot:
        answer.settings = {
            k: v for k, v in _effective_settings(store_id, device_id, None).items() if v is not None
        }
    else:
        changed_keys = {
            row.key
            for row in ScopedSetting.select(ScopedSetting.key).where(
                ScopedSetting.version > since,
                ((ScopedSetting.scope == "store") & (ScopedSetting.scope_id == store_id))
                | ((ScopedSetting.scope == "kiosk") & (ScopedSetting.scope_id == device_id)),
            )
        }
        answer.settings = _effective_settings(store_id, device_id, changed_keys) if changed_keys else {}
    store_code = Store.select(Store.code).where(Store.id == store_id).scalar()
    answer.staff = staff_for_store(str(store_code or ""), since, snapshot)
    answer.promotions = promotions_for_store(str(store_code or ""))
    return answer
