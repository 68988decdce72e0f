"""The one object the screens bind to: checkout state as Kivy properties, and the customer's actions.

Screens never see the controller's internals: they read properties here and call the action
methods, which only ever dispatch checkout events (or, in the demo, hold up a sample code).
The controller may report a change from a worker thread; Kivy properties must only change on the
UI thread, so such reports are handed over with ``Clock.schedule_once`` and the handover then
reads the controller's *current* state, which cannot be older than anything already shown.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from kivy.clock import Clock
from kivy.event import EventDispatcher
from kivy.properties import (
    BooleanProperty,
    ListProperty,
    NumericProperty,
    ObjectProperty,
    StringProperty,
)

from kiosk.core.cart import Cart, Product
from kiosk.core.checkout import (
    CancelTapped,
    Checkout,
    MemberBackTapped,
    MemberTapped,
    Notice,
    PayTapped,
    Phase,
    PrinterOfferAnswered,
    ProductTapped,
    QuantitySet,
    StaffResolved,
    StartTapped,
    StillHereTapped,
)
from kiosk.core.money import format_yuan
from kiosk.core.pricing import PricedCart
from kiosk.core.search import CatalogIndex
from kiosk.i18n import LANGUAGES, t
from kiosk.ports import Frame
from kiosk.ui import present, promo_present, shop_present, theme
from kiosk.ui.busy import waiting
from kiosk.ui.controller_api import KioskController

log = logging.getLogger(__name__)


class KioskViewModel(EventDispatcher):  # type: ignore[misc]
    phase = StringProperty(Phase.ATTRACT.value)
    screen = StringProperty("attract")
    language = StringProperty("zh_CN")
    store_name = StringProperty("")
    #: rows for the cart list: sku, name, qty, unit_text, total_text
    cart_lines = ListProperty()
    total_text = StringProperty(format_yuan(0))
    item_count = NumericProperty(0)
    #: the count as the customer reads it ("3 件", "1 item")
    item_count_text = StringProperty("")
    notice_text = StringProperty("")
    #: what the gateway or printer said, for staff on the help screen
    detail_text = StringProperty("")
    order_no = StringProperty("")
    charging = BooleanProperty(False)
    receipt_text = StringProperty("")
    #: the done screen's receipt as it printed (a kiosk.core.receipt.ReceiptLayout); None: not printed
    receipt_layout = ObjectProperty(None, allownone=True)
    #: the sale's e-receipt URL, when its receipt did not print and HQ is configured ("" otherwise)
    receipt_url = StringProperty("")
    #: catalog: category codes, rows for the tabs (code, text, selected), the selected code ("" = all), tiles
    categories = ListProperty()
    category_tabs = ListProperty()
    category = StringProperty("")
    product_tiles = ListProperty()
    #: demo only: rows of (name, label) for the sample payment code buttons; [] outside the demo
    samples = ListProperty()
    #: the update agent holds the kiosk (kiosk.ota_link): the attract screen says so, and starts no sale
    updating = BooleanProperty(False)
    #: the cart screen asks "empty the cart?" (Cancel was pressed on a cart with something in it)
    confirming_cancel = BooleanProperty(False)
    #: counts customers: goes up as a sale starts from the attract screen, so screens can put their
    #: scroll positions back to the start before the new customer sees them
    customer = NumericProperty(0)
    #: the catalog has no products: the attract screen says so and starts no sale
    no_products = BooleanProperty(False)
    #: why, for staff (the attract screen's small print); "" while there are products
    catalog_reason = StringProperty("")
    #: the pay screen's heading and instruction (show the code / enter the password / checking)
    pay_title = StringProperty("")
    pay_body = StringProperty("")
    #: the amount the pay screen and the done screen show: kept while they fade out (present.SaleShown)
    pay_total_text = StringProperty(format_yuan(0))
    done_total_text = StringProperty(format_yuan(0))
    #: "still there?": seconds left (0: not asking) and the countdown line
    still_there_s = NumericProperty(0)
    still_there_text = StringProperty("")
    #: the kiosk waits on something outside the screen (kiosk.ui.busy): the spinner shows
    busy = BooleanProperty(False)
    #: promotions on the cart: rows (name, amount_text), "You save ¥x" ("" when none)
    discount_lines = ListProperty()
    saved_text = StringProperty("")
    #: "Member: <name>" while a member is signed in ("" otherwise); the member button shows only when
    #: the kiosk offers members (``[members] enabled``)
    member_text = StringProperty("")
    members_enabled = BooleanProperty(False)
    #: the member directory is asked (the member screen says "checking" and Sign in waits)
    member_checking = BooleanProperty(False)
    #: large-text mode ("大字 / Aa"), for this customer only: the next customer starts without it
    large_text = BooleanProperty(False)
    #: what every customer-screen font size is multiplied by (``sp(theme.FONT_BODY) * app.vm.text_scale``)
    text_scale = NumericProperty(1.0)
    # --- shopping: search, item detail, what was just added (kiosk.ui.shop_present) ---
    #: the search panel is open; what was typed; the keypad shows digits; its rows of {key, label}
    searching = BooleanProperty(False)
    search_query = StringProperty("")
    search_digits = BooleanProperty(False)
    search_keys = ListProperty()
    #: tiles of the matches (as product_tiles), and the line above them (hint, count, none found)
    search_tiles = ListProperty()
    search_summary = StringProperty("")
    #: the item detail: the product's sku ("" while closed), the quantity chosen, what it shows
    detail_sku = StringProperty("")
    detail_qty = NumericProperty(1)
    detail = ObjectProperty(None, allownone=True)
    detail_image = StringProperty("")
    detail_initial = StringProperty("")
    #: "+1 可乐": the last line that grew (a scan, a tap, the detail's add); ``added_count`` goes up
    #: with each, so the screen plays its animation again for the same text; ``flash_sku``: the
    #: tile that flashes ("" once the toast has gone)
    added_text = StringProperty("")
    added_count = NumericProperty(0)
    flash_sku = StringProperty("")
    #: a notice that came while the search or the detail is open (an unknown scan, sold out, the
    #: cart's limit): they cover the catalog's notice bar, so they show it themselves; a notice from
    #: before they opened is not shown there again
    overlay_notice = StringProperty("")
    #: why the kiosk cannot sell (a kiosk.core.availability.OutOfService value; "" while it can),
    #: and the staff's small print about it on the out-of-service screen
    out_of_service = StringProperty("")
    out_of_service_staff = StringProperty("")
    #: the enrolment screen of a kiosk not yet enrolled at HQ (``kiosk.enrolment_desk``): its id,
    #: its device key's fingerprint, the installer's QR text, the HQ it is set to, and how it goes
    enrol_kiosk_id = StringProperty("")
    enrol_fingerprint = StringProperty("")
    enrol_qr = StringProperty("")
    enrol_hq = StringProperty("")
    #: a kiosk.enrolment_desk.EnrolStatus value ("" without a desk)
    enrol_status = StringProperty("")
    enrol_message = StringProperty("")
    #: the calm "offline: payments work as usual" line on the attract and cart screens ("" online)
    offline_text = StringProperty("")
    #: the cart asks "the printer is not available; pay and take an e-receipt?"
    printer_offer = BooleanProperty(False)
    #: the done screen's line about the receipt (take it / scan the e-receipt)
    done_receipt_line = StringProperty("")
    #: the language and text size the done screen speaks in: the paying customer's, kept while it
    #: fades out, since the next customer's language and size are set as the fade starts (reading
    #: ``language`` there switched the thank-you to Chinese, and shrank it, before the customer's eyes)
    done_language = StringProperty("zh_CN")
    done_text_scale = NumericProperty(1.0)

    def __init__(
        self,
        controller: KioskController,
        store_name: str = "",
        default_language: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.controller = controller
        self.store_name = store_name
        #: the language each new customer starts in; None keeps whatever the last customer chose
        self.default_language = default_language
        self._ui_thread = threading.get_ident()
        self._products: dict[str, Product] = {}
        self._pay_shown = present.SaleShown()
        self._done_shown = present.SaleShown()
        self._catalog: list[Product] = []
        self._catalog_error = ""
        self._index: CatalogIndex | None = None
        self._last_cart = controller.state.cart
        self._last_state = controller.state
        self._flash_event: Any = None
        self.language = controller.language
        self._load_catalog()
        self._apply(controller.state)
        controller.subscribe(self._on_state)
        self.bind(language=self._on_language, category=self._on_category, large_text=self._on_large_text)

    # --- state in ---------------------------------------------------------------------------------

    def _on_state(self, state: Checkout) -> None:
        if threading.get_ident() == self._ui_thread:
            self._apply(state)
        else:
            Clock.schedule_once(self._refresh, 0)

    def _refresh(self, _dt: float = 0.0) -> None:
        self._apply(self.controller.state)

    def _apply(self, state: Checkout) -> None:
        lang = self.controller.language
        if lang in LANGUAGES and lang != self.language:
            self.language = lang  # _on_language re-renders the texts
        entering_cart = state.phase is Phase.CART and self.phase != Phase.CART.value
        if self.phase == Phase.ATTRACT.value and state.phase is not Phase.ATTRACT:
            self.customer += 1  # before the screen changes: the cart screen resets while unseen
        entering_attract = state.phase is Phase.ATTRACT and self.phase != Phase.ATTRACT.value
        if entering_cart or entering_attract:
            self._load_catalog()
        if state.phase is not Phase.CART:
            self.confirming_cancel = False
        self.cart_lines = present.cart_rows(state.cart, self.language)
        priced = self._priced(state)
        self.discount_lines = promo_present.discount_rows(priced, self.language)
        self.saved_text = promo_present.saved_text(priced, self.language)
        self.total_text = present.amount_text(priced.total_fen, self.language)
        self.member_text = promo_present.member_text(state, self.language)
        self.members_enabled = bool(getattr(self.controller, "members_enabled", False))
        self.item_count = state.cart.item_count
        self.item_count_text = present.count_text(state.cart.item_count, self.language)
        self.notice_text = present.notice_for(state, self.language)
        self.updating = bool(getattr(self.controller, "update_hold", False))
        self.detail_text = state.detail
        self.order_no = present.order_no(state)
        self.charging = state.charging
        self._shop_apply(state)  # first: it picks the tile that flashes
        self.product_tiles = self._tiles(self._catalog, self.category, state.cart)
        printed = self.controller.last_receipt_layout() if state.phase is Phase.DONE else None
        self.receipt_url = (
            self.controller.current_receipt_url()
            if (state.phase is Phase.NEEDS_HELP and state.notice is Notice.RECEIPT_FAILED)
            or (state.phase is Phase.DONE and printed is None)  # nothing printed: the e-receipt
            else ""
        )
        prompt = present.pay_prompt(state, self.language)
        self.pay_title, self.pay_body = prompt.title, prompt.body
        self._pay_shown = present.pay_shown(state, self._pay_shown, self.language)
        self.pay_total_text = self._pay_shown.total_text
        receipt = self.controller.last_receipt_text() if state.phase is Phase.DONE else ""
        self._done_shown = present.done_shown(state, self._done_shown, receipt, self.language)
        self.done_total_text = self._done_shown.total_text
        self.receipt_text = self._done_shown.receipt_text
        if state.phase is Phase.DONE:
            # kept while the done screen fades out, like the receipt text (forget_done clears it)
            self.receipt_layout = printed
        self.still_there_s = state.still_there_s
        self.still_there_text = present.still_there_text(state, self.language)
        reason = getattr(self.controller, "out_of_service", None)
        self.out_of_service = str(reason or "")
        self.out_of_service_staff = present.out_of_service_staff(self.out_of_service, self.language)
        self._enrol_apply()
        offline = bool(getattr(self.controller, "hq_offline", False))
        self.offline_text = present.offline_text(offline, state.phase, self.language)
        self.printer_offer = state.printer_offer and state.phase is Phase.CART
        if state.phase is Phase.DONE:  # kept while the done screen fades out
            self.done_receipt_line = present.done_receipt_line(state, self.language)
            self.done_language = self.language
            self.done_text_scale = self.text_scale
        if state.phase is Phase.ATTRACT:
            self.category = ""
            if self.phase != Phase.ATTRACT.value:
                self._reset_language()
                self.large_text = False  # the next customer starts at the normal size
        # set while this state is applied, so the spinner shows in the very frame the wait starts
        self.member_checking = bool(getattr(self.controller, "member_checking", False))
        self.busy = waiting(
            state,
            pay_checking=bool(getattr(self.controller, "pay_checking", False)),
            member_checking=self.member_checking,
        )
        # the phase last, so screens entered on its change see every other value already updated
        self.phase = state.phase.value
        self.screen = present.customer_screen(state.phase, self.out_of_service, state.member_screen)

    def _enrol_apply(self) -> None:
        desk = getattr(self.controller, "enrolment", None)
        if desk is None:
            self.enrol_status = ""
            return
        view = desk.view()
        self.enrol_kiosk_id = view.kiosk_id
        self.enrol_fingerprint = view.fingerprint
        self.enrol_qr = view.installer_qr
        self.enrol_hq = view.hq_url
        self.enrol_message = view.message
        self.enrol_status = str(view.status)

    def _priced(self, state: Checkout) -> PricedCart:
        """The cart with its promotions (the controller knows which run now); the plain cart when the
        controller cannot say, so a fault in promotions never hides the cart."""
        if state.cart.is_empty:
            return PricedCart(state.cart)
        try:
            priced = self.controller.priced_cart()
        except Exception:
            log.exception("the cart's promotions could not be worked out; normal prices shown")
            return PricedCart(state.cart)
        return priced if priced.cart == state.cart else PricedCart(state.cart)

    def sign_in_member(self, phone: str = "", code: str = "") -> None:
        """The member screen's "sign in": the controller asks its member directory off the UI thread."""
        self.controller.member_sign_in(phone=phone, code=code)

    def open_member(self) -> None:
        """The cart's 会员 / Member button: the member screen (only on a kiosk that offers members)."""
        if self.members_enabled:
            self.controller.dispatch(MemberTapped())

    def close_member(self) -> None:
        """The member screen's Back: the cart as it was."""
        self.controller.dispatch(MemberBackTapped())

    def _reset_language(self) -> None:
        """The next customer starts in the kiosk's language, not the one the last customer picked.

        Scheduled rather than done here: set_language notifies, and a nested state update in the
        middle of this one would be overwritten by the rest of it.
        """
        wanted = self.default_language
        if wanted and wanted != self.controller.language:
            Clock.schedule_once(lambda _dt: self.set_language(wanted), 0)

    def _load_catalog(self) -> None:
        try:
            self._catalog = self.controller.catalog()
            self._catalog_error = ""
        except Exception as exc:  # a store fault must not take the screen down: "nothing for sale"
            log.exception("catalog could not be read")
            self._catalog = []
            self._catalog_error = type(exc).__name__
        self.no_products = not present.can_start_sale(len(self._catalog))
        self.catalog_reason = present.catalog_reason(len(self._catalog), self._catalog_error, self.language)
        self._products = {p.sku: p for p in self._catalog}
        self._index = None  # built when the search first needs it
        self.categories = present.categories(self._catalog)
        if self.category not in self.categories:
            self.category = ""
        self._render_tabs()
        try:
            names = self.controller.sample_codes()
        except Exception:
            log.exception("sample codes could not be listed")
            names = []
        self._sample_names = names
        self.samples = [{"name": n, "label": present.sample_label(n, self.language)} for n in names]

    def _render_tabs(self) -> None:
        """Tabs for the catalog: "all" first, then each category; only with two or more categories."""
        codes = ["", *self.categories] if len(self.categories) > 1 else []
        self.category_tabs = [
            {
                "code": code,
                "text": present.category_label(code, self.language)
                if code
                else t("cart.category_all", self.language),
                "selected": code == self.category,
            }
            for code in codes
        ]

    def _on_language(self, *_args: Any) -> None:
        self._render_tabs()
        self.catalog_reason = present.catalog_reason(len(self._catalog), self._catalog_error, self.language)
        self.samples = [
            {"name": n, "label": present.sample_label(n, self.language)} for n in self._sample_names
        ]
        self._apply(self.controller.state)

    def _on_large_text(self, *_args: Any) -> None:
        self.text_scale = theme.text_scale(self.large_text)
        if self.controller.state.phase is Phase.DONE:  # not the next customer's reset
            self.done_text_scale = self.text_scale

    def _on_category(self, *_args: Any) -> None:
        self._render_tabs()
        self.product_tiles = self._tiles(self._catalog, self.category, self.controller.state.cart)

    # --- actions out (each is one checkout event) -------------------------------------------------

    def start(self) -> None:
        """A touch on the attract screen. With no products, nothing: the screen already says so.

        The catalog is read again first when it was empty, so products a sync brought since are
        on sale at the first touch rather than at the next phase change.
        """
        if self.no_products:
            self._load_catalog()
        if self.no_products:
            log.info("start ignored: the catalog has no products (%s)", self._catalog_error or "empty")
            return
        self.controller.dispatch(StartTapped())

    def tap_product(self, sku: str) -> None:
        product = self._products.get(sku)
        if product is None:
            log.warning("tapped a product that is no longer in the catalog: %s", sku)
            return
        self.controller.dispatch(ProductTapped(product))

    def change_qty(self, sku: str, delta: int) -> None:
        line = next((li for li in self.controller.state.cart.lines if li.product.sku == sku), None)
        if line is None:
            return
        self.controller.dispatch(QuantitySet(line.product, max(0, line.qty + delta)))

    def pay(self) -> None:
        # The controller asks the printer and fills in printer_ready; the screen cannot know.
        self.controller.dispatch(PayTapped())

    def answer_printer_offer(self, go: bool) -> None:
        """The printer offer's "continue to pay" (``go``) or "cancel" (the cart stays)."""
        self.controller.dispatch(PrinterOfferAnswered(go=go))

    def ask_cancel(self) -> None:
        """The cart's Cancel: asks "empty the cart?" first when there is something to lose."""
        if present.cancel_needs_confirm(self.controller.state.cart):
            self.confirming_cancel = True
        else:
            self.cancel()

    def keep_cart(self) -> None:
        """The question's "keep shopping": nothing changes."""
        self.confirming_cancel = False

    def cancel(self) -> None:
        self.confirming_cancel = False
        self.controller.dispatch(CancelTapped())

    def still_here(self) -> None:
        """The "still there?" prompt's "continue": the cart (or payment) stays, the quiet time restarts."""
        self.controller.dispatch(StillHereTapped())

    def forget_done(self) -> None:
        """The done screen has faded out: the last customer's total and receipt leave memory too."""
        if self.phase != Phase.DONE.value:
            self._done_shown = present.SaleShown()
            self.done_total_text = self._done_shown.total_text
            self.receipt_text = ""
            self.receipt_layout = None

    def finish(self) -> None:
        """The done screen's button: back to the attract screen (the machine takes cancel there)."""
        self.controller.dispatch(CancelTapped())

    def resolve(self) -> None:
        """Clears needs-help without a PIN: only for a controller without maintenance mode
        (``KioskApp.request_resolve`` goes through the PIN pad whenever the controller offers it)."""
        self.controller.dispatch(StaffResolved())

    def select_category(self, code: str) -> None:
        self.category = code

    def toggle_large_text(self) -> None:
        """The "大字 / Aa" button: bigger text on every screen for this customer, or back to normal."""
        self.large_text = not self.large_text

    def set_language(self, language: str) -> None:
        if language not in LANGUAGES:
            raise ValueError(f"language must be one of {LANGUAGES}, not {language!r}")
        self.controller.set_language(language)
        self.language = self.controller.language

    def hold_up_sample(self, name: str) -> None:
        try:
            self.controller.hold_up_sample(name)
        except ValueError:
            log.warning("the demo has no sample code named %r", name)

    def latest_frame(self) -> Frame | None:
        return self.controller.latest_frame()

    def tick(self, now: float) -> None:
        self.controller.tick(now)

    # --- shopping: pictures, search, item detail, what was just added ----------------------------

    def _tiles(self, products: list[Product], category: str, cart: Cart) -> list[dict[str, Any]]:
        """``present.product_tiles`` with each tile's picture (or initial) and whether it flashes."""
        rows = present.product_tiles(products, category, cart, self.language)
        for row in rows:
            product = self._products.get(row["sku"])
            row["image"] = self._image(row["sku"])
            row["initial"] = shop_present.initial(product, self.language) if product else "?"
            row["flash"] = row["sku"] == self.flash_sku
        return rows

    def _image(self, sku: str) -> str:
        try:
            return self.controller.product_image(sku)
        except Exception:  # a picture is a nicety: the initial shows instead
            log.exception("product picture of %s could not be looked up", sku)
            return ""

    def _shop_apply(self, state: Checkout) -> None:
        """Search results, the item detail and the "+1" toast follow every state change."""
        grew = shop_present.added(self._last_cart, state.cart)
        self._last_cart = state.cart
        if state is not self._last_state:
            self._last_state = state
            self.overlay_notice = present.notice_for(state, self.language)
        elif self.overlay_notice:  # the same state in another language
            self.overlay_notice = present.notice_for(state, self.language)
        if grew is not None:
            self.added_text = shop_present.added_text(grew, self.language)
            self.flash_sku = ""  # the same tile again: its flash starts over
            self.flash_sku = grew.product.sku
            self.added_count += 1
            if self._flash_event is not None:
                self._flash_event.cancel()
            self._flash_event = Clock.schedule_once(self._end_flash, ADDED_SHOW_S)
        if state.phase is not Phase.CART:
            self.searching = False
            self.detail_sku = ""
        self._render_search(state.cart)
        self._render_detail(state.cart)

    def _end_flash(self, _dt: float = 0.0) -> None:
        self._flash_event = None
        self.flash_sku = ""
        self.product_tiles = self._tiles(self._catalog, self.category, self.controller.state.cart)
        self._render_search(self.controller.state.cart)

    def _render_search(self, cart: Cart) -> None:
        self.search_keys = [
            [{"key": k, "label": shop_present.key_label(k, self.language)} for k in row]
            for row in shop_present.keypad_rows(self.search_digits)
        ]
        if not self.searching:
            self.search_tiles = []
            self.search_summary = ""
            return
        if self._index is None:
            self._index = CatalogIndex(self._catalog)
        found = self._index.search(self.search_query)
        rows = present.product_tiles(found.products, "", cart, self.language)
        for row, product in zip(rows, found.products, strict=True):
            row["image"] = self._image(product.sku)
            row["initial"] = shop_present.initial(product, self.language)
            row["flash"] = product.sku == self.flash_sku
        self.search_tiles = rows
        self.search_summary = shop_present.search_summary(
            self.search_query, found.total, len(found.products), self.language
        )

    def _render_detail(self, cart: Cart) -> None:
        product = self._products.get(self.detail_sku) if self.detail_sku else None
        if product is None:
            self.detail_sku = ""
            self.detail = None
            return
        view = shop_present.detail_view(product, int(self.detail_qty), cart, self.language)
        self.detail_qty = view.qty
        self.detail = view
        self.detail_image = self._image(product.sku)
        self.detail_initial = shop_present.initial(product, self.language)

    def open_search(self) -> None:
        """The catalog's search button: the keypad and an empty query."""
        self.detail_sku = ""
        self.search_query = ""
        self.search_digits = False
        self.overlay_notice = ""
        self.searching = True
        self._render_search(self.controller.state.cart)

    def close_search(self) -> None:
        self.searching = False
        self.search_query = ""
        self._render_search(self.controller.state.cart)

    def press_key(self, key: str) -> None:
        """One key of the search keypad."""
        if key in (shop_present.KEY_DIGITS, shop_present.KEY_LETTERS):
            self.search_digits = key == shop_present.KEY_DIGITS
        else:
            self.search_query = shop_present.typed(self.search_query, key)
        self._render_search(self.controller.state.cart)

    def open_detail(self, sku: str) -> None:
        """A tile's info button: the item detail, quantity 1."""
        if sku not in self._products:
            log.warning("detail asked for a product that is no longer in the catalog: %s", sku)
            return
        self.detail_qty = 1
        self.overlay_notice = ""
        self.detail_sku = sku
        self._render_detail(self.controller.state.cart)

    def close_detail(self) -> None:
        self.detail_sku = ""
        self._render_detail(self.controller.state.cart)

    def step_detail(self, delta: int) -> None:
        """The detail's − / +."""
        product = self._products.get(self.detail_sku)
        if product is None:
            return
        self.detail_qty = shop_present.stepped(
            int(self.detail_qty), delta, product, self.controller.state.cart
        )
        self._render_detail(self.controller.state.cart)

    def add_detail(self) -> None:
        """The detail's "add to cart": the chosen quantity, one event, then the detail closes."""
        product = self._products.get(self.detail_sku)
        if product is None:
            return
        qty = int(self.detail_qty)
        self.detail_sku = ""
        self.controller.dispatch(ProductTapped(product, qty))
        self._render_detail(self.controller.state.cart)


#: seconds the "+1" toast and the tile's flash stay
ADDED_SHOW_S = 1.6
