"""Finding products from what a customer types on the catalog's on-screen keypad.

The keypad has Latin letters, digits and a space: a customer finds a product by its English name
(any word's beginning, or any part of it), by barcode digits (the number under the bars, which
every package prints) or by the item code. The catalog carries no pinyin, so pinyin initials
("nfsq" for 农夫山泉) cannot be matched; typing Chinese needs an input method the kiosk does not
offer (a system keyboard would be a way out of the locked-down screen), and browsing by category
remains for a customer who reads only Chinese. A query with Chinese characters in it (a future
input method, a pasted test) still matches the Chinese name as a substring.

Pure: the products come in, the ranked matches go out. A catalog of thousands is searched in a few
milliseconds per keypress (bench/catalog_search.py, "keypad" figures).
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


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _digits_rank(product: Product, digits: str) -> int | None:
    barcode = product.barcode or ""
    sku = product.sku.lower()
    if digits in (barcode, sku):
        return _EXACT_CODE
    if barcode.startswith(digits) or sku.startswith(digits):
        return _CODE_START
    if len(digits) >= MIN_DIGITS_INSIDE and (digits in barcode or digits in sku):
        return _INSIDE
    return None


def _text_rank(product: Product, tokens: list[str]) -> int | None:
    """Every token must be found in the English name or the item code; the worst token decides."""
    words = _words(product.name_en) + _words(product.sku)
    name = product.name_en.lower()
    sku = product.sku.lower()
    worst = _EXACT_CODE
    for token in tokens:
        if token == sku:
            rank = _EXACT_CODE
        elif any(w.startswith(token) for w in words):
            rank = _WORD_START
        elif token in name or token in sku:
            rank = _INSIDE
        else:
            return None
        worst = max(worst, rank)
    return worst


def rank(product: Product, query: str) -> int | None:
    """How well ``product`` matches the normalised ``query`` (lower is better); None: no match."""
    if not query:
        return None
    if _CJK.search(query):
        return _INSIDE if query.replace(" ", "") in product.name_zh.replace(" ", "") else None
    if query.isdigit():
        return _digits_rank(product, query)
    return _text_rank(product, query.split(" "))


@dataclass(frozen=True, slots=True)
class SearchResult:
    """The matches to list (best first, at most ``MAX_RESULTS``) and how many matched in all."""

    products: tuple[Product, ...]
    total: int


def search(products: Iterable[Product], query: str, limit: int = MAX_RESULTS) -> SearchResult:
    """Products matching what the customer typed, best first (catalog order among equals).

    An empty query matches nothing: the panel then shows its hint, not the whole catalog (the grid
    behind it already does that).
    """
    q = normalise(query)
    if not q:
        return SearchResult((), 0)
    ranked = [(r, i, p) for i, p in enumerate(products) if (r := rank(p, q)) is not None]
    ranked.sort(key=lambda item: (item[0], item[1]))
    return SearchResult(tuple(p for _, _, p in ranked[: max(0, limit)]), len(ranked))
