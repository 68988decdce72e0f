"""Finding a product for a manager's price override or out-of-stock mark, and saying where it stands.

Pure: the console (``kiosk.staff_catalog``) reads the products and their overrides from the store
and hands them here to be filtered and worded, so a unit test checks the search and the texts with
no store or screen.

The search runs over the till's own product list in memory: a kiosk holds a few thousand products
at most (bench/), the list is already read for the customer's catalog, and matching in Python keeps
the rule ("part of the name in either language, the item code or the barcode, any case") in one
place that both the screen's keypad and the console follow.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from kiosk.core.cart import Product
from kiosk.core.money import Fen, format_yuan
from kiosk.i18n import t

#: the most rows one list shows: a manager narrows a longer one by category or search
LIST_LIMIT = 50
#: the longest search text the console takes (a barcode is 14 digits at most; names are short)
QUERY_MAX = 40


@dataclass(frozen=True, slots=True)
class ProductState:
    """A product as the manager sees it: HQ's price, this kiosk's override (None: none), the stock mark."""

    sku: str
    name_zh: str
    name_en: str
    catalog_fen: Fen
    override_fen: Fen | None
    out_of_stock: bool

    @property
    def price_fen(self) -> Fen:
        """What the till charges now."""
        return self.catalog_fen if self.override_fen is None else self.override_fen

    def name(self, language: str) -> str:
        return self.name_zh if language.startswith("zh") else self.name_en


def clean_query(text: str) -> str:
    """The search text as the console uses it: trimmed, at most ``QUERY_MAX`` characters."""
    return text.strip()[:QUERY_MAX]


def matches(product: Product, query: str) -> bool:
    """``query`` (any case) is part of the product's name in either language, its code or barcode."""
    needle = query.strip().casefold()
    if not needle:
        return False
    fields = (product.name_zh, product.name_en, product.sku, product.barcode or "")
    return any(needle in f.casefold() for f in fields)


def category_of(product: Product) -> str:
    """The product's category code; none is "other" (as the customer's catalog files it)."""
    return product.category.strip() or "other"


def categories(products: Iterable[Product]) -> list[str]:
    """Category codes in catalog order, each once."""
    return list(dict.fromkeys(category_of(p) for p in products))


def find(products: Iterable[Product], *, query: str = "", category: str = "") -> list[Product]:
    """The products that match ``query`` (when given) within ``category`` (when given), in catalog
    order; all of them when neither is given."""
    out = []
    for p in products:
        if category and category_of(p) != category:
            continue
        if query and not matches(p, query):
            continue
        out.append(p)
    return out


def row_label(state: ProductState, language: str) -> str:
    """One list row: name, the price charged, HQ's price when overridden, and the stock mark."""
    label = f"{state.name(language)}  {format_yuan(state.price_fen)}"
    if state.override_fen is not None:
        label += t("maint.cat.row_override", language, price=format_yuan(state.catalog_fen))
    if state.out_of_stock:
        label += t("maint.cat.row_out", language)
    return label


def state_text(state: ProductState, language: str) -> str:
    """Where one product stands, for the panel beside the keypad."""
    return t(
        "maint.cat.state",
        language,
        name=state.name(language),
        sku=state.sku,
        catalog=format_yuan(state.catalog_fen),
        price=format_yuan(state.price_fen),
        override="" if state.override_fen is None else t("maint.cat.state_override", language),
        stock=t("maint.cat.out_of_stock" if state.out_of_stock else "maint.cat.in_stock", language),
    )
