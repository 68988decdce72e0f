"""A manager's price override and out-of-stock mark as the maintenance screens reach them: the
console's (``kiosk.staff_console``) answers for ``Action.OVERRIDE_PRICE`` and ``Action.OUT_OF_STOCK``.

One entry, ``answer``, reads the arguments the screens pass to ``maintenance_run`` (documented in
``kiosk.ui.controller_api.MaintenanceControl``): with no ``sku`` it lists (the categories, one
category's products, or a search), with a ``sku`` alone it shows that product, and with a ``sku``
and ``price_fen`` / ``out`` it changes it through the staff actions service (role check, audit
row). Either way it answers in the products' terms the screens show: a row per product (key: the
sku) and the picked product's state as text.
"""

from __future__ import annotations

from collections.abc import Callable

from kiosk.core.cart import Product
from kiosk.core.money import format_yuan
from kiosk.i18n import t
from kiosk.maintenance import catalog
from kiosk.maintenance.actions import StaffActionError, StaffActions, StaffMember
from kiosk.maintenance.roles import Action, Role, require
from kiosk.ui.controller_api import ActionAnswer, ActionArg, ActionItem
from kiosk.ui.present import category_label

#: the key prefix of a category row in the list the panel starts with
CATEGORY_KEY = "category:"


def product_state(staff: StaffActions, sku: str) -> catalog.ProductState:
    """Where ``sku`` stands: HQ's price, this kiosk's override and stock mark."""
    product = staff.store.catalog_product(sku)
    if product is None:
        raise StaffActionError(f"no product {sku} in the catalog")
    held = staff.store.product_override(sku)
    return catalog.ProductState(
        product.sku,
        product.name_zh,
        product.name_en,
        product.price_fen,
        held.price_fen if held is not None else None,
        held.out_of_stock if held is not None else False,
    )


def _row(staff: StaffActions, product: Product, language: str) -> ActionItem:
    return ActionItem(product.sku, catalog.row_label(product_state(staff, product.sku), language))


def answer(
    staff: StaffActions,
    member: StaffMember,
    role: Role,
    action: Action,
    args: dict[str, ActionArg],
    language: str,
    changed: Callable[[], None] | None = None,
) -> ActionAnswer:
    """The answer to ``maintenance_run(action, **args)`` for the two catalog actions.

    ``changed`` runs after a change, so the customer's catalog is read again (the controller keeps
    it cached). Raises what the staff actions raise (the console words it).
    """
    require(role, action)
    sku = str(args.get("sku") or "").strip()
    if not sku:
        return _listing(staff, args, language)
    if action is Action.OVERRIDE_PRICE and "price_fen" in args:
        price = args["price_fen"]
        if price is not None and (not isinstance(price, int) or isinstance(price, bool)):
            raise ValueError(f"price_fen must be whole fen or None (HQ's price again), not {price!r}")
        staff.override_price(member, sku, price)
        message_key = "maint.cat.price_cleared" if price is None else "maint.cat.price_set"
    elif action is Action.OUT_OF_STOCK and "out" in args:
        out = args["out"]
        if not isinstance(out, int):  # a bool is an int; 1/0 from a plain caller too
            raise ValueError(f"out must be True (out of stock) or False (back on sale), not {out!r}")
        staff.mark_out_of_stock(member, sku, bool(out))
        message_key = "maint.cat.marked_out" if out else "maint.cat.marked_in"
    else:
        message_key = ""
    state = product_state(staff, sku)
    if message_key and changed is not None:
        changed()
    message = (
        t(message_key, language, name=state.name(language), price=format_yuan(state.price_fen))
        if message_key
        else ""
    )
    return ActionAnswer(
        ok=True,
        message=message,
        text=catalog.state_text(state, language),
        items=(ActionItem(state.sku, catalog.row_label(state, language)),),
    )


def _listing(staff: StaffActions, args: dict[str, ActionArg], language: str) -> ActionAnswer:
    """No product named: the categories (no query, no category), or the products that match."""
    products = staff.store.products()
    query = catalog.clean_query(str(args.get("query") or ""))
    category = str(args.get("category") or "").strip()
    if not query and not category:
        items = tuple(
            ActionItem(CATEGORY_KEY + code, category_label(code, language))
            for code in catalog.categories(products)
        )
        return ActionAnswer(ok=True, items=items)
    found = catalog.find(products, query=query, category=category)
    items = tuple(_row(staff, p, language) for p in found[: catalog.LIST_LIMIT])
    return ActionAnswer(ok=True, message=t("maint.cat.listed", language, n=len(found)), items=items)
