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

from kiosk.core.cart import Product
from kiosk.core.checkout import (
    CancelTapped,
    Checkout,
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
from kiosk.i18n import LANGUAGES, t
from kiosk.ports import Frame
from kiosk.ui import present
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
    #: why the kiosk cannot sell (a kiosk.core.availability.OutOfService value; "" while it can),
    #: and the staff's small print about it on the out-of-service screen
    out_of_service = StringProperty("")
    out_of_service_staff = StringProperty("")
    #: the calm "offline: payments work as usual" line on the attract and cart screens ("" online)
    offline_text = StringProperty("")
    #: the cart asks "the printer is not available; pay and take an e-receipt?"
    printer_offer = BooleanProperty(False)
    #: the done screen's line about the receipt (take it / scan the e-receipt)
    done_receipt_line = StringProperty("")

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
        self.language = controller.language
        self._load_catalog()
        self._apply(controller.state)
        controller.subscribe(self._on_state)
        self.bind(language=self._on_language, category=self._on_category)

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
        self.total_text = format_yuan(state.cart.total_fen)
        self.item_count = state.cart.item_count
        self.notice_text = present.notice_for(state, self.language)
        self.updating = bool(getattr(self.controller, "update_hold", False))
        self.detail_text = state.detail
        self.order_no = present.order_no(state)
        self.charging = state.charging
        self.product_tiles = present.product_tiles(self._catalog, self.category, state.cart, self.language)
        printed = self.controller.last_receipt_layout() if state.phase is Phase.DONE else None
        self.receipt_url = (
            self.controller.current_receipt_url()
            if (state.phase is Phase.NEEDS_HELP and state.notice is Notice.RECEIPT_FAILED)
            or (state.phase is Phase.DONE and printed is None)  # nothing printed: the e-receipt
            else ""
        )
        prompt = present.pay_prompt(state, self.language)
        self.pay_title, self.pay_body = prompt.title, prompt.body
        self._pay_shown = present.pay_shown(state, self._pay_shown)
        self.pay_total_text = self._pay_shown.total_text
        receipt = self.controller.last_receipt_text() if state.phase is Phase.DONE else ""
        self._done_shown = present.done_shown(state, self._done_shown, receipt)
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
        offline = bool(getattr(self.controller, "hq_offline", False))
        self.offline_text = present.offline_text(offline, state.phase, self.language)
        self.printer_offer = state.printer_offer and state.phase is Phase.CART
        if state.phase is Phase.DONE:  # kept while the done screen fades out
            self.done_receipt_line = present.done_receipt_line(state, self.language)
        if state.phase is Phase.ATTRACT:
            self.category = ""
            if self.phase != Phase.ATTRACT.value:
                self._reset_language()
        # the phase last, so screens entered on its change see every other value already updated
        self.phase = state.phase.value
        self.screen = present.customer_screen(state.phase, self.out_of_service)

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

    def _on_category(self, *_args: Any) -> None:
        self._render_tabs()
        self.product_tiles = present.product_tiles(
            self._catalog, self.category, self.controller.state.cart, self.language
        )

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
