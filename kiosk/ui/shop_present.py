"""The shopping screens' wording and arithmetic (search keypad, item detail, "+1" toast, image
placeholders): pure functions, no Kivy, so a unit test checks them without a window.

Money goes through ``money_text`` only, so a locale-aware formatter is a one-line change here.
"""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.core.cart import MAX_QTY_PER_LINE, Cart, Product
from kiosk.core.money import Fen, format_yuan
from kiosk.core.search import MAX_QUERY, normalise
from kiosk.i18n import t


def money_text(fen: Fen) -> str:
    """Every amount the shopping screens show."""
    return format_yuan(fen)


# --- the search keypad ----------------------------------------------------------------------------

#: the keypad's letter rows (QWERTY: what most customers know from their phones) and its digit row
LETTER_ROWS: tuple[str, ...] = ("QWERTYUIOP", "ASDFGHJKL", "ZXCVBNM")
DIGIT_ROW = "1234567890"
#: the keys that are not characters
KEY_BACK = "back"
KEY_CLEAR = "clear"
KEY_SPACE = "space"
KEY_DIGITS = "digits"
KEY_LETTERS = "letters"


def keypad_rows(digits: bool) -> list[list[str]]:
    """The keys, row by row: letters (with delete ending the second row and space / 123 the third), or
    digits (three rows: 1-0, then delete, clear, then space ABC) for barcodes."""
    if digits:
        return [list(DIGIT_ROW), [KEY_BACK, KEY_CLEAR], [KEY_SPACE, KEY_LETTERS]]
    return [
        list(LETTER_ROWS[0]),
        [*LETTER_ROWS[1], KEY_BACK],
        [*LETTER_ROWS[2], KEY_SPACE, KEY_DIGITS, KEY_CLEAR],
    ]


#: the most keys a keypad row has (QWERTY's first row, the digits)
FULL_ROW = 10


def fit_rows(rows: list[list[str]], columns: int) -> list[list[str]]:
    """``rows`` for a keypad only ``columns`` keys wide (a portrait screen): below ``FULL_ROW`` the
    characters go in alphabetical (then numeric) order, ``columns`` a row, since QWERTY cut into short
    rows is no longer the layout customers know; the word keys follow, two a row. Wide enough:
    ``rows`` unchanged."""
    if columns >= FULL_ROW:
        return rows
    columns = max(columns, 3)
    flat = [k for row in rows for k in row]
    chars = sorted((k for k in flat if len(k) == 1), key=lambda k: (k.isdigit(), k if k != "0" else ":"))
    words = [k for k in flat if len(k) > 1]
    out = [chars[i : i + columns] for i in range(0, len(chars), columns)]
    out += [words[i : i + 2] for i in range(0, len(words), 2)]
    return out


def key_label(key: str, language: str) -> str:
    """What a key shows: the character itself, or the special key's word in the customer's language."""
    return t(f"shop.key.{key}", language) if len(key) > 1 else key


def typed(query: str, key: str) -> str:
    """The query after one key: a character is appended (up to ``MAX_QUERY``), delete removes the last
    one, clear empties it; the mode keys (123 / ABC) leave it as it is."""
    if key == KEY_BACK:
        return query[:-1]
    if key == KEY_CLEAR:
        return ""
    if key == KEY_SPACE:
        key = " " if query and not query.endswith(" ") else ""
    elif len(key) != 1:
        return query
    return (query + key)[:MAX_QUERY]


def search_summary(query: str, total: int, shown: int, language: str) -> str:
    """The line above the results: a hint before typing, how many matched, or "nothing found"."""
    if not normalise(query):
        return t("shop.search_hint", language)
    if total == 0:
        return t("shop.search_none", language, query=query.strip())
    if total > shown:
        return t("shop.search_more", language, count=total, shown=shown)
    return t("shop.search_count", language, count=total)


# --- the item detail ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DetailView:
    """What the item detail shows: both names (the customer's language first), the price, the
    quantity chosen, the cart's, and whether − / + / add can be pressed."""

    name: str
    other_name: str
    price_text: str
    qty: int
    in_cart_text: str
    add_text: str
    can_less: bool
    can_more: bool
    can_add: bool
    sold_out: bool


def max_more(product: Product, cart: Cart) -> int:
    """How many more of ``product`` the cart may take (``kiosk.core.cart.MAX_QTY_PER_LINE``)."""
    return max(0, MAX_QTY_PER_LINE - cart.qty_of(product.sku))


def stepped(qty: int, delta: int, product: Product, cart: Cart) -> int:
    """The detail's quantity after − or +: never below 1, never past what the cart may take."""
    top = max(1, max_more(product, cart))
    return min(top, max(1, qty + delta))


def detail_view(product: Product, qty: int, cart: Cart, language: str) -> DetailView:
    other = product.name_en if language.startswith("zh") else product.name_zh
    in_cart = cart.qty_of(product.sku)
    room = max_more(product, cart)
    qty = min(max(1, qty), max(1, room))
    return DetailView(
        name=product.name(language),
        other_name=other if other != product.name(language) else "",
        price_text=t("cart.sold_out", language) if product.sold_out else money_text(product.price_fen),
        qty=qty,
        in_cart_text=t("shop.in_cart", language, count=in_cart) if in_cart else "",
        add_text=t("shop.add", language, total=money_text(product.price_fen * qty)),
        can_less=qty > 1,
        can_more=qty < room,
        can_add=not product.sold_out and room > 0,
        sold_out=product.sold_out,
    )


# --- what was just added: the "+1 name" toast and the tile that flashes ---------------------------


@dataclass(frozen=True, slots=True)
class Added:
    """One line of the cart that grew: its product and by how many."""

    product: Product
    more: int


def added(before: Cart, after: Cart) -> Added | None:
    """The line that grew from ``before`` to ``after`` (a scan, a tap, the detail's add); None when
    none grew (a line lowered or removed, a cancel, the same cart)."""
    for line in after.lines:
        more = line.qty - before.qty_of(line.product.sku)
        if more > 0:
            return Added(line.product, more)
    return None


def added_text(item: Added, language: str) -> str:
    """The toast: "+1 可口可乐 330ml"."""
    return t("shop.added", language, count=item.more, name=item.product.name(language))


# --- product pictures -----------------------------------------------------------------------------


def initial(product: Product, language: str) -> str:
    """The placeholder of a product without a picture: the first letter or character of its name
    in the customer's language (upper case), "?" for a name with none."""
    for ch in product.name(language).strip():
        if ch.isalnum():
            return ch.upper()
    return "?"
