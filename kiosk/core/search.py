"""Finding products from what a customer types on the catalog's on-screen keypad.

The keypad has Latin letters, digits and a space: a customer finds a product by its English name
(any word's beginning, or any part of it), by barcode digits (the number under the bars, which
every package prints) or by the item code. The catalog carries no pinyin, so pinyin initials
("nfsq" for 农夫山泉) cannot be matched; typing Chinese needs an input method the kiosk does not
offer (a system keyboard would be a way out of the locked-down screen), and browsing by category
remains for a customer who reads only Chinese. A query with Chinese characters in it (a future
input method, a pasted test) still matches the Chinese name as a substring.

Pure: the products come in, the ranked matches go out. ``CatalogIndex`` lower-cases and splits the
catalog once, so each key press only compares strings (bench/catalog_search.py, "keypad" figures).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from kiosk.core.cart import Product

#: a query longer than this is cut: the keypad cannot type more, and no name needs more
MAX_QUERY = 32
#: at most this many matches are listed; a customer who needs more types another letter
MAX_RESULTS = 40
#: fewer barcode digits than this match only a barcode's start (any 2 digits are in most barcodes)
MIN_DIGITS_INSIDE = 4

_WORD = re.compile(r"[0-9a-z]+")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")

# ranks: lower is better; equal ranks keep catalog order
_EXACT_CODE = 0
_CODE_START = 1
_WORD_START = 2
_INSIDE = 3


def normalise(query: str) -> str:
    """The query as matched: lower case, single spaces, no outer spaces, at most ``MAX_QUERY`` long."""
    return " ".join(query.lower().split())[:MAX_QUERY]


@dataclass(frozen=True, slots=True)
class _Entry:
    """One product as it is matched: lower-cased once, when the catalog is indexed."""

    product: Product
    name: str
    words: tuple[str, ...]
    sku: str
    barcode: str
    name_zh: str


def _entry(product: Product) -> _Entry:
    name = product.name_en.lower()
    sku = product.sku.lower()
    return _Entry(
        product,
        name,
        tuple(_WORD.findall(name)) + tuple(_WORD.findall(sku)),
        sku,
        product.barcode or "",
        product.name_zh.replace(" ", ""),
    )


def _digits_rank(e: _Entry, digits: str) -> int | None:
    if digits in (e.barcode, e.sku):
        return _EXACT_CODE
    if e.barcode.startswith(digits) or e.sku.startswith(digits):
        return _CODE_START
    if len(digits) >= MIN_DIGITS_INSIDE and (digits in e.barcode or digits in e.sku):
        return _INSIDE
    return None


def _text_rank(e: _Entry, tokens: list[str]) -> int | None:
    """Every token must be found in the English name or the item code; the worst token decides."""
    worst = _EXACT_CODE
    for token in tokens:
        if token == e.sku:
            rank = _EXACT_CODE
        elif any(w.startswith(token) for w in e.words):
            rank = _WORD_START
        elif token in e.name or token in e.sku:
            rank = _INSIDE
        else:
            return None
        worst = max(worst, rank)
    return worst


def _rank(e: _Entry, query: str) -> int | None:
    if not query:
        return None
    if _CJK.search(query):
        return _INSIDE if query.replace(" ", "") in e.name_zh else None
    if query.isdigit():
        return _digits_rank(e, query)
    return _text_rank(e, query.split(" "))


def rank(product: Product, query: str) -> int | None:
    """How well ``product`` matches the normalised ``query`` (lower is better); None: no match."""
    return _rank(_entry(product), query)


@dataclass(frozen=True, slots=True)
class SearchResult:
    """The matches to list (best first, at most ``MAX_RESULTS``) and how many matched in all."""

    products: tuple[Product, ...]
    total: int


class CatalogIndex:
    """The catalog prepared for searching once (when it is loaded), then searched on every key."""

    def __init__(self, products: Iterable[Product]) -> None:
        self._entries = tuple(_entry(p) for p in products)

    def search(self, query: str, limit: int = MAX_RESULTS) -> SearchResult:
        """Products matching what the customer typed, best first (catalog order among equals).

        An empty query matches nothing: the panel then shows its hint, not the whole catalog (the
        grid behind it already does that).
        """
        q = normalise(query)
        if not q:
            return SearchResult((), 0)
        ranked = [(r, i, e.product) for i, e in enumerate(self._entries) if (r := _rank(e, q)) is not None]
        ranked.sort(key=lambda item: (item[0], item[1]))
        return SearchResult(tuple(p for _, _, p in ranked[: max(0, limit)]), len(ranked))


def search(products: Iterable[Product], query: str, limit: int = MAX_RESULTS) -> SearchResult:
    """``CatalogIndex(products).search(query, limit)``, for a catalog searched once."""
    return CatalogIndex(products).search(query, limit)
