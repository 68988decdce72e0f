"""The cart: immutable values, so a state machine step can never half-change it."""

from __future__ import annotations

from dataclasses import dataclass, replace

from kiosk.core.money import Fen

MAX_QTY_PER_LINE = 99
MAX_LINES = 50


@dataclass(frozen=True, slots=True)
class Product:
    """A sellable item as the kiosk knows it (from the local catalog)."""

    sku: str
    name_zh: str
    name_en: str
    price_fen: Fen
    barcode: str | None = None
    category: str = ""
    #: staff marked it out of stock on this kiosk: shown on the catalog as sold out, never added
    sold_out: bool = False

    def name(self, language: str) -> str:
        return self.name_zh if language.startswith("zh") else self.name_en


@dataclass(frozen=True, slots=True)
class CartLine:
    product: Product
    qty: int

    @property
    def total_fen(self) -> Fen:
        return self.product.price_fen * self.qty


class CartError(ValueError):
    """A cart change that is not allowed (too many items, unknown line)."""


@dataclass(frozen=True, slots=True)
class Cart:
    lines: tuple[CartLine, ...] = ()

    @property
    def total_fen(self) -> Fen:
        return sum(line.total_fen for line in self.lines)

    @property
    def item_count(self) -> int:
        return sum(line.qty for line in self.lines)

    @property
    def is_empty(self) -> bool:
        return not self.lines

    def qty_of(self, sku: str) -> int:
        return next((line.qty for line in self.lines if line.product.sku == sku), 0)

    def add(self, product: Product, qty: int = 1) -> Cart:
        """Add qty of product, merging with an existing line so a receipt never lists an item twice."""
        if qty <= 0:
            raise CartError(f"quantity to add must be positive, got {qty}")
        if product.price_fen < 0:
            raise CartError(f"price of {product.sku} is negative")
        return self.set_qty(product, self.qty_of(product.sku) + qty)

    def set_qty(self, product: Product, qty: int) -> Cart:
        """Set a line's quantity; 0 removes it."""
        if qty < 0:
            raise CartError(f"quantity must not be negative, got {qty}")
        if qty > MAX_QTY_PER_LINE:
            raise CartError(f"at most {MAX_QTY_PER_LINE} of one item per sale")
        lines = [line for line in self.lines if line.product.sku != product.sku]
        existing = next((i for i, line in enumerate(self.lines) if line.product.sku == product.sku), None)
        if qty == 0:
            return Cart(tuple(lines))
        if existing is None:
            if len(self.lines) >= MAX_LINES:
                raise CartError(f"at most {MAX_LINES} different items per sale")
            return Cart((*self.lines, CartLine(product, qty)))
        new = list(self.lines)
        new[existing] = replace(new[existing], qty=qty)
        return Cart(tuple(new))

    def remove(self, sku: str) -> Cart:
        return Cart(tuple(line for line in self.lines if line.product.sku != sku))
