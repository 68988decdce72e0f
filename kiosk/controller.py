"""The one controller the UI (or a scripted customer) talks to: runs the checkout and carries out its effects.

``dispatch`` runs on one thread (the UI thread); slow effects (a charge, a receipt, the start-up
recovery) run on a worker and come back as events through ``post``, so the screen never freezes while
the gateway thinks. The rules that protect money are in the store (reached through the
``SaleRepository`` port), the payment service and the pure core; this class only connects them.

A fault in the store (a full disk) or a driver never escapes ``dispatch``: it is logged, staff are
told, and the customer sees a notice. The kiosk keeps running and never loses a paid sale.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Protocol, TypeVar
from zoneinfo import ZoneInfo

from kiosk import crashpoints
from kiosk.clock import RELEASE_FLOOR_UTC, SystemClock
from kiosk.core import checkout as co
from kiosk.core.availability import (
    GatewayReach,
    GatewayReachRules,
    OutOfService,
    SellingFacts,
    clock_trusted,
    gateway_probed,
    gateway_unreachable,
    out_of_service,
    turns_away,
)
from kiosk.core.cart import Cart, Product
from kiosk.core.codes import CodeKind, CodeRule, classify
from kiosk.core.dedupe import PaymentCodeGuard
from kiosk.core.idle import IdleRules, timer_event
from kiosk.core.members import MemberInputError, mask_phone, member_code_rule, normalise_phone
from kiosk.core.payment import PayState
from kiosk.core.pricing import PricedCart, Promotion, price_cart
from kiosk.core.receipt import Receipt, ReceiptDiscount, ReceiptLayout, ReceiptLine, ReceiptTemplate, layout
from kiosk.core.records import StoreFull
from kiosk.maintenance.badges import PREFIX as BADGE_PREFIX
from kiosk.maintenance.roles import Action
from kiosk.maintenance.session import MaintenanceLock
from kiosk.payments import service
from kiosk.ports import (
    ChargeStatus,
    Clock,
    ClockSync,
    Decoded,
    Frame,
    Indicators,
    Light,
    MemberDirectory,
    MembersNotOffered,
    NoMemberDirectory,
    PaymentGateway,
    PrinterError,
    PrinterStatus,
    ReceiptPrinter,
    SaleRepository,
)
from kiosk.product_images import ProductImages
from kiosk.ui.controller_api import ActionAnswer, ActionArg, ActionItem, StaffView, UnlockAnswer
from kiosk_common.codes import is_member_code, mask, mask_member_code, member_code_problem

if TYPE_CHECKING:
    from kiosk.staff_console import StaffConsole

log = logging.getLogger(__name__)

Job = Callable[[], "co.Event | None"]
_R = TypeVar("_R")


class Scanner(Protocol):
    def latest_frame(self) -> Frame | None: ...


class StaffCodeTap(Protocol):
    """A staff view that takes the camera's codes before the checkout (``kiosk.staff_diagnostics``:
    the diagnostics camera view, where a payment code is a staff test, never a payment)."""

    def take(self, codes: Sequence[Decoded]) -> bool:
        """True: the view took ``codes`` and the checkout must not see them."""

    def tick(self) -> None: ...

    def release(self) -> None:
        """Maintenance mode ended: the view closes."""


class EnrolmentGate(Protocol):
    """The enrolment screen's desk (``kiosk.enrolment_desk``): while ``needed``, the kiosk does not
    sell and every code (but a staff badge) goes to it."""

    @property
    def needed(self) -> bool: ...

    def take(self, text: str) -> bool: ...


class SampleCamera(Protocol):
    """The demo's camera: shows whatever is held up to it."""

    def hold_up(self, image: Frame) -> None: ...


class SampleCodes(Protocol):
    """The demo's supply of fresh payment codes, one picture per press of a demo button."""

    def names(self) -> list[str]: ...

    def frame(self, name: str) -> Frame: ...


@dataclass(frozen=True, slots=True)
class ControllerOptions:
    kiosk_id: str
    store_name: str
    language: str = "zh_CN"
    timezone: str = "Asia/Shanghai"
    paper_columns: int = 32
    #: quiet seconds on the cart (or an unpaid pay screen) before "still there?" is asked
    idle_timeout_s: float = 60.0
    #: seconds "still there?" counts down before the sale is cleared (``kiosk.core.idle``)
    still_there_s: float = 20.0
    done_timeout_s: float = 6.0
    #: False on a kiosk with ``payments.gateway = "none"``: "pay" calls staff instead of taking a code
    payments_enabled: bool = True
    #: order id -> the sale's e-receipt URL at HQ (an enrolled kiosk); None: receipts name the order
    receipt_link: Callable[[str], str] | None = None
    #: a printer not ready this long, with no e-receipt, puts the kiosk out of service; 0 = never
    printer_gone_s: float = 0.0
    #: when failed gateway probes add up to out of service (``gateway_probed`` feeds them)
    gateway_reach: GatewayReachRules = field(default_factory=GatewayReachRules)


def _nothing() -> None:
    """What a recovery with nothing to run after it runs."""


@dataclass(slots=True)
class StaffAlert:
    at: float
    reason: str
    order_id: str | None = None


@dataclass(slots=True)
class _Timers:
    phase_since: float = 0.0
    last_activity: float = 0.0


class _Worker:
    """One background thread for the jobs that talk to the outside (charges, receipts, recovery).

    A daemon thread rather than a thread pool: on shutdown the kiosk waits for the job in flight only
    a bounded time. A charge left running is parked, not lost: its state is committed before every
    gateway call, and the next start settles it with the gateway.
    """

    def __init__(self, name: str = "kiosk-io") -> None:
        self.name = name
        self._jobs: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._idle = threading.Event()
        self._idle.set()
        #: set by ``stop``: jobs still queued then are dropped (a charge not yet begun is not begun;
        #: a receipt not yet printed is found and printed by the next start's recovery)
        self._stopping = threading.Event()
        #: started by the first job, so building a kiosk starts no thread
        self._thread: threading.Thread | None = None

    def submit(self, job: Callable[[], None]) -> None:
        self._idle.clear()
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()
        self._jobs.put(job)

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            try:
                if not self._stopping.is_set():
                    job()
            finally:
                if self._jobs.empty():
                    self._idle.set()

    def busy(self) -> bool:
        return not self._idle.is_set()

    def request_stop(self) -> None:
        """Ask the worker to end after the job in flight; jobs still queued are dropped."""
        if self._thread is None:
            return
        self._stopping.set()
        self._jobs.put(None)

    def join(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` for the thread asked to stop; True once it has ended."""
        if self._thread is None:
            return True
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def stop(self, timeout_s: float) -> bool:
        """Ask the worker to stop after the queued jobs; True if it did within ``timeout_s``."""
        self.request_stop()
        return self.join(timeout_s)


#: the gateway states the customer is told about (the rest need nothing of them)
_PAY_STAGES = {
    PayState.USER_PAYING: co.PayStage.USER_PAYING,
    PayState.UNKNOWN: co.PayStage.CHECKING,
    PayState.CANCELLING: co.PayStage.CHECKING,
}

#: the events that start a sale from the attract screen (refused while held for an update)
_SALE_STARTS = (co.StartTapped, co.ProductScanned, co.ProductTapped)

#: the device name the camera's faults carry ("camera: no frames", drivers.camera.scanner)
CAMERA = "camera"
#: how often a store that refused a write (a full disk) is tried again while the kiosk is out of service
STORE_RETRY_S = 30.0


class CheckoutController:
    """Holds the checkout state and turns effects into port calls. Not thread-safe by design: one UI thread."""

    def __init__(
        self,
        *,
        options: ControllerOptions,
        store: SaleRepository,
        gateway: PaymentGateway,
        printer: ReceiptPrinter,
        indicators: Indicators,
        template: ReceiptTemplate,
        wake: Callable[[], None] | None = None,
        scanner: Scanner | None = None,
        samples: SampleCodes | None = None,
        sample_camera: SampleCamera | None = None,
        clock: Clock | None = None,
        background: bool = True,
        utcnow: Callable[[], datetime] | None = None,
        members: MemberDirectory | None = None,
        clock_sync: ClockSync | None = None,
    ) -> None:
        self.options = options
        self.store = store
        self.gateway = gateway
        self.printer = printer
        self.indicators = indicators
        self.template = template
        self.scanner = scanner
        self._samples = samples
        self._sample_camera = sample_camera
        self.clock: Clock = clock or SystemClock()
        #: wall-clock UTC for promotions' validity windows (injected by tests)
        self._utcnow = utcnow or (lambda: datetime.now(UTC))
        #: who answers the member sign-in screen (``kiosk.ports.NoMemberDirectory``: nobody yet)
        self.members: MemberDirectory = members or NoMemberDirectory()
        self._promotions_cache: list[Promotion] | None = None
        #: ``[members] enabled``: the cart shows the member button (set by kiosk.bootstrap)
        self.members_enabled = False
        #: rules that recognise member (and staff) codes (``kiosk.core.codes``): the member QR's
        #: ``KM1`` format always, so a member code is never taken for anything else
        self.code_rules: tuple[CodeRule, ...] = (member_code_rule,)
        self._wake = wake or (lambda: None)
        self._state = co.Checkout()
        self._language = options.language
        self._listeners: list[Callable[[co.Checkout], None]] = []
        self._inbox: queue.Queue[Callable[[], None]] = queue.Queue()
        self._events: list[co.Event] = []
        self._dispatching = False
        self._worker = _Worker() if background else None
        #: maintenance calls that can wait (argon2, a refund at the gateway, USB, HQ): never on the
        #: UI thread, and never queued behind a customer's charge
        self._staff_worker = _Worker("kiosk-staff") if background else None
        #: the customer's quick store writes (the receipt's language, a cancelled order): off the UI
        #: thread, and never queued behind a charge that waits on the gateway
        self._store_worker = _Worker("kiosk-store") if background else None
        #: the thread that dispatches (the UI thread): events from other threads are posted to it
        self._owner = threading.get_ident()
        now = self.clock.monotonic()
        self._timers = _Timers(phase_since=now, last_activity=now)
        self._last_receipt = ""
        #: (order id, layout) of the receipt that last came out of the printer
        self._printed: tuple[str, ReceiptLayout] | None = None
        self.alerts: list[StaffAlert] = []
        self.payment_camera_on = False
        self._tz = ZoneInfo(options.timezone)
        self._catalog_cache: list[Product] | None = None
        self._code_guard = PaymentCodeGuard()
        #: devices that reported a fault and have not recovered: name -> message
        self.device_faults: dict[str, str] = {}
        #: what the last start-up recovery found (None until it ran)
        self.recovery: service.RecoveryReport | None = None
        #: told the recovery's report on the worker as soon as it is made (``kiosk.bootstrap`` keeps
        #: its outcomes as staff tasks in the store, so a restart before anyone looks loses none)
        self.on_recovered: Callable[[service.RecoveryReport], None] | None = None
        #: the start-up recovery waits for a trusted clock (``start_recovery``); this runs when it
        #: starts. None: no recovery is waiting
        self._recovery_waiting: Callable[[], None] | None = None
        #: a member look-up is out (``member_checking``)
        self._member_asking = False
        #: who may enter maintenance mode (kiosk.maintenance.session); set by kiosk.bootstrap
        self.maintenance: MaintenanceLock | None = None
        #: maintenance mode in the screens' terms (kiosk.staff_console); set by kiosk.bootstrap
        self.console: StaffConsole | None = None
        #: the diagnostics camera view, which takes codes while open; set by kiosk.bootstrap
        self.code_tap: StaffCodeTap | None = None
        #: a kiosk not enrolled at HQ: its enrolment screen's desk; set by kiosk.bootstrap (None:
        #: enrolled, or built without the screen, as tests and ``kiosk demo`` are)
        self.enrolment: EnrolmentGate | None = None
        #: the update agent holds an idle kiosk before it restarts it (kiosk.ota_link): no new sale
        self.update_hold = False
        #: the catalog's checked product pictures (kiosk.product_images); set by kiosk.bootstrap
        self.images: ProductImages | None = None
        self._closed = False
        #: the cart whose "pay" waits for the printer's answer (None: not asking)
        self._pay_check: Cart | None = None
        #: the ``PayTapped`` carrying the printer's answer: the one that is stepped, not asked again
        self._checked_pay: co.PayTapped | None = None
        #: monotonic time the update hold was first seen (its length decides "out of service")
        self._held_since: float | None = None
        #: whether network time has set the clock (None: not asked, as in tests of other things);
        #: kiosk.bootstrap always gives one (``kiosk.clock``), which the release floor applies to
        self.clock_sync = clock_sync
        #: the printer's last polled status, read without talking to the printer (the printing
        #: service's ``last_status``; set by kiosk.bootstrap); None: the printer is not watched
        self.printer_status: Callable[[], PrinterStatus | None] | None = None
        #: monotonic time the printer was first seen not ready in the current run of not ready
        self._printer_down_since: float | None = None
        #: the gateway probes' run of failures (``gateway_probed``)
        self._gateway_reach = GatewayReach()
        #: why the kiosk cannot sell (kiosk.core.availability); None while it can. Known from the
        #: settings and the clock at once (no screen to tell yet), so the first screen is the right one
        self.out_of_service: OutOfService | None = out_of_service(
            SellingFacts(payments_enabled=options.payments_enabled, clock_trusted=self._clock_trusted())
        )
        #: HQ did not answer the sync loop (set through ``set_hq_offline``): the screens say so calmly
        self.hq_offline = False
        self._store_retry_at = 0.0
        #: the camera is the only reader of payment codes (no hand scanner, which reads a phone's code
        #: too): only then does a camera fault end a payment; set by kiosk.bootstrap
        self.camera_required = True

    # --- what the UI reads ------------------------------------------------------------------------

    @property
    def state(self) -> co.Checkout:
        return self._state

    @property
    def language(self) -> str:
        return self._language

    def set_language(self, language: str) -> None:
        if language not in ("zh_CN", "en"):
            raise ValueError(f"language must be zh_CN or en, not {language!r}")
        self._language = language
        order_id = self._state.order_id
        if order_id is not None and self._state.phase is co.Phase.PAYING:
            # the receipt follows the language the customer pays in; written on the worker (a store
            # write can wait seconds for the sync thread's transaction), ahead of the sale's receipt
            self._background(lambda: self._set_order_language(order_id, language))
        self._notify()

    def _set_order_language(self, order_id: str, language: str) -> None:
        try:
            self.store.set_order_language(order_id, language)
        except Exception:  # the screen still switches; the receipt keeps the language it had
            log.exception("the receipt language of %s was not changed", order_id)

    def subscribe(self, listener: Callable[[co.Checkout], None]) -> None:
        self._listeners.append(listener)

    def catalog(self) -> list[Product]:
        if self._catalog_cache is None:
            self._catalog_cache = self.store.products()
        return list(self._catalog_cache)

    def refresh_catalog(self) -> None:
        self._catalog_cache = None
        self._promotions_cache = None

    def _promotions(self) -> list[Promotion]:
        if self._promotions_cache is None:
            try:
                self._promotions_cache = self.store.promotions()
            except Exception:  # a store fault: normal prices rather than no sale
                log.exception("promotions could not be read; normal prices apply")
                return []
        return self._promotions_cache

    def priced_cart(self) -> PricedCart:
        """The cart on screen with the promotions valid now (and the member's, when one signed in):
        what the cart screen shows, and what ``OpenOrder`` commits and the customer is charged."""
        state = self._state
        return price_cart(state.cart, self._promotions(), self._utcnow(), member=state.member is not None)

    def member_sign_in(self, *, phone: str = "", code: str = "") -> None:
        """The member screen's number (or member QR): asked off the UI thread, the answer comes back
        as ``MemberLookedUp``. A number that is not a mobile number, or a code that is not a whole
        member code (``kiosk_common.codes.member_code``), is refused on the spot: the directory is
        only ever asked about well-formed input."""
        if phone:
            try:
                phone = normalise_phone(phone)
            except MemberInputError:
                self.dispatch(co.MemberLookedUp(None, co.Notice.MEMBER_NOT_FOUND))
                return
        elif not is_member_code(code):
            log.info("member sign-in refused: %s (%s)", member_code_problem(code), mask(code))
            self.dispatch(co.MemberLookedUp(None, co.Notice.NOT_A_MEMBER_CODE))
            return
        if self._member_asking:
            return  # the answer to the first tap is on its way
        shown = mask_phone(phone) if phone else mask_member_code(code)
        self._member_asking = True
        self._notify()  # the member screen says "checking" in this frame
        self._submit(
            lambda: self._member_job(phone, code, shown),
            lambda exc: co.MemberLookedUp(None, co.Notice.MEMBER_LOOKUP_FAILED),
        )

    def _member_job(self, phone: str, code: str, shown: str) -> co.Event:
        try:
            member = self.members.lookup(phone=phone, code=code)
        except MembersNotOffered:
            return co.MemberLookedUp(None, co.Notice.MEMBERS_NOT_OFFERED)
        except Exception as exc:
            log.warning("member lookup for %s failed: %s", shown, exc)
            return co.MemberLookedUp(None, co.Notice.MEMBER_LOOKUP_FAILED)
        log.info("member lookup for %s: %s", shown, "found" if member else "not found")
        return co.MemberLookedUp(member, co.Notice.MEMBER_NOT_FOUND)

    def product_image(self, sku: str) -> str:
        """The checked picture of ``sku`` ("" for none): a look-up, never a file read."""
        return "" if self.images is None else self.images.path_for(sku)

    def images_changed(self) -> None:
        """The pictures were scanned again (any thread): the screens redraw the catalog."""
        self.post(self._notify)

    def last_receipt_text(self) -> str:
        return self._last_receipt

    def last_receipt_layout(self) -> ReceiptLayout | None:
        """The receipt of the sale on screen as it printed (header, body, footer and QR), for the
        done screen's preview; None when it did not print (the screen shows the e-receipt QR)."""
        order_id = self._state.order_id
        if order_id is None:
            return None
        printed = self._printed
        if printed is not None and printed[0] == order_id:
            return printed[1]
        try:  # printed by the reprint queue, or by the start-up recovery
            if not self.store.order(order_id).receipt_printed:
                return None
            printed = (order_id, self.receipt_layout(order_id))
        except Exception:
            log.exception("the receipt of %s cannot be shown", order_id)
            return None
        self._printed = printed
        return printed[1]

    def receipt_url(self, order_id: str) -> str:
        """What the receipt's QR holds: the e-receipt URL at HQ, or ``order:<uuid>`` without HQ."""
        link = self.options.receipt_link
        return link(order_id) if link is not None else f"order:{order_id}"

    def current_receipt_url(self) -> str:
        """The e-receipt URL of the sale on screen, "" when there is none (or no HQ is configured):
        the screen shows it as a QR when the receipt did not print."""
        order_id = self._state.order_id
        if order_id is None or self.options.receipt_link is None:
            return ""
        return self.options.receipt_link(order_id)

    def latest_frame(self) -> Frame | None:
        return None if self.scanner is None else self.scanner.latest_frame()

    def sample_codes(self) -> list[str]:
        if self._sample_camera is None or self._samples is None:
            return []
        return self._samples.names()

    def hold_up_sample(self, name: str) -> None:
        """Demo only: hold a fresh payment code of this kind up to the simulated camera."""
        if self._sample_camera is None or self._samples is None or name not in self._samples.names():
            raise ValueError(f"no sample code named {name!r}; choose one of {self.sample_codes()}")
        self._sample_camera.hold_up(self._samples.frame(name))

    def busy(self) -> bool:
        """True while a background job (a charge, a receipt, the recovery, a store write) is running
        or queued."""
        return any(w is not None and w.busy() for w in (self._worker, self._store_worker))

    # --- input ------------------------------------------------------------------------------------

    def dispatch(self, event: co.Event) -> None:
        """Run one event (and every event its effects produce synchronously) through the checkout.

        Called from another thread (a staff action on the maintenance worker), the event is posted
        to the dispatching thread instead: the checkout is only ever stepped on one thread.
        """
        if threading.get_ident() != self._owner:
            self.post(lambda: self.dispatch(event))
            return
        if self.update_hold and self._state.phase is co.Phase.ATTRACT and isinstance(event, _SALE_STARTS):
            log.info("a sale was not started: the kiosk is held for an update")
            self._notify()  # the attract screen says "updating, back in a moment"
            return
        if turns_away(self.out_of_service, self._state.phase) and isinstance(event, _SALE_STARTS):
            log.info("a sale was not started: out of service (%s)", self.out_of_service)
            self._notify()  # the screen shows "out of service"
            return
        if isinstance(event, co.OrderOpened) and not self._awaits_order():
            # opened on the worker after the customer left the pay screen: nothing will be paid on it
            self._background(partial(self._cancel_order, event.order_id))
            return
        if isinstance(event, co.PayTapped) and self._state.phase is co.Phase.CART:
            if event is not self._checked_pay:
                self._check_printer_then_pay(event)
                return
            self._checked_pay = None
        self._events.append(event)
        if self._dispatching:
            return
        self._dispatching = True
        try:
            while self._events:
                ev = self._events.pop(0)
                self._step(ev)
        finally:
            self._dispatching = False

    def _awaits_order(self) -> bool:
        return self._state.phase is co.Phase.PAYING and self._state.order_id is None

    @property
    def member_checking(self) -> bool:
        """True from "sign in" (or a member QR read) until the member directory has answered: HQ may
        take its whole timeout, so the member screen says "checking" with the spinner, and a second
        tap meanwhile is ignored."""
        return self._member_asking

    @property
    def pay_checking(self) -> bool:
        """True from "pay" until the printer has answered whether it can print (the screen shows
        that it is busy; a second tap meanwhile is ignored)."""
        return self._pay_check is not None

    def _check_printer_then_pay(self, event: co.PayTapped) -> None:
        """Ask the printer before taking money (a customer charged without a receipt calls staff
        anyway), on the worker: a status query over USB or serial can take seconds, and the UI
        thread must keep drawing. The answer comes back as the ``PayTapped`` the checkout steps."""
        payment_ready = event.payment_ready and self.options.payments_enabled
        if not (event.printer_ready and payment_ready):
            self._pay_with(self._pay_event(event, printer_ready=False, payment_ready=payment_ready))
            return
        if self._worker is None:
            self._pay_with(self._pay_event(event, printer_ready=self._printer_ready(), payment_ready=True))
            return
        if self._pay_check is not None:
            return  # already asking for this cart
        cart = self._state.cart
        self._pay_check = cart
        self._notify()  # the screen shows it is busy in this frame

        def ask() -> None:
            ready = self._printer_ready()
            self.post(lambda: self._printer_answered(event, cart, ready))

        self._worker.submit(ask)

    def _printer_answered(self, asked: co.PayTapped, cart: Cart, ready: bool) -> None:
        self._pay_check = None
        if self._state.phase is co.Phase.CART and self._state.cart == cart:
            self._pay_with(self._pay_event(asked, printer_ready=ready, payment_ready=True))
        else:  # the customer changed the cart or left meanwhile: they tap "pay" again
            log.info("printer answered after the cart changed; pay not taken")
            self._notify()

    def _pay_event(self, asked: co.PayTapped, *, printer_ready: bool, payment_ready: bool) -> co.PayTapped:
        """The ``PayTapped`` the checkout steps: the printer's and the gateway's answers, whether an
        e-receipt can stand in for paper, and whether the camera that reads payment codes works."""
        return co.PayTapped(
            printer_ready=printer_ready,
            payment_ready=payment_ready,
            e_receipt=self.e_receipt_possible(),
            camera_ready=asked.camera_ready and not self._camera_down(),
        )

    def _pay_with(self, event: co.PayTapped) -> None:
        self._checked_pay = event
        self.dispatch(event)

    def _background(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` (a quick store write that handles its own faults) on the store worker, in the
        order given; inline without workers (scripted runs and tests)."""
        if self._store_worker is None:
            fn()
        else:
            self._store_worker.submit(fn)

    def _on_owner(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the dispatching thread: now if this is it, else posted."""
        if threading.get_ident() == self._owner:
            fn()
        else:
            self.post(fn)

    def _cancel_order(self, order_id: str) -> None:
        try:
            self.store.cancel_order(order_id)
        except StoreFull as exc:  # the order stays open; the next start closes it
            message = str(exc)
            self._on_owner(lambda: self._store_full(message))
        except Exception:  # the next start's recovery closes an order left open
            log.exception("order %s could not be cancelled", order_id)

    def _open_order_job(self, cart: Cart, language: str, priced: PricedCart) -> co.Event:
        try:
            return co.OrderOpened(self.store.open_order(cart, language, priced.discounts), priced.total_fen)
        except StoreFull as exc:
            message = str(exc)
            self._on_owner(lambda: self._store_full(message))
            return co.OrderFailed("disk full")

    def e_receipt_possible(self) -> bool:
        """A sale here can be given an e-receipt from HQ (an enrolled kiosk, ``receipt_link``): then a
        printer that is not ready need not stop a customer from paying, nor hold a paid one."""
        return self.options.receipt_link is not None

    def set_hq_offline(self, offline: bool) -> None:
        """The sync loop found HQ unreachable (True) or answering again (False); any thread."""
        self.post(lambda: self._hq_offline(offline))

    def _hq_offline(self, offline: bool) -> None:
        if offline != self.hq_offline:
            self.hq_offline = offline
            log.info("HQ %s", "unreachable: selling offline" if offline else "reachable again")
            self._notify()

    def gateway_probed(self, ok: bool) -> None:
        """A gateway reachability probe answered (``kiosk.payments.reach.GatewayWatch``); any thread."""
        at = self.clock.monotonic()  # when it was answered, not when the UI thread gets to it
        self.post(lambda: self._gateway_probed(ok, at))

    def _gateway_probed(self, ok: bool, at: float) -> None:
        now = max(at, self.clock.monotonic())
        before = self._gateway_reach
        self._gateway_reach = gateway_probed(before, ok=ok, now=at)
        if not ok and before.failures == 0:
            log.warning("the payment gateway did not answer a reachability check")
        elif ok and before.failures:
            log.info("the payment gateway answers again (after %d failed checks)", before.failures)
        self._review_service(now)

    def _clock_trusted(self) -> bool:
        """The clock-sync probe's answer and the release floor (``availability.clock_trusted``)."""
        if self.clock_sync is None:
            return True
        try:
            synced = self.clock_sync.synced()
        except Exception:  # a probe that cannot tell: not synced, and staff read why
            log.exception("clock sync probe failed")
            synced = False
        return clock_trusted(synced=synced, now_utc=self._utcnow(), floor_utc=RELEASE_FLOOR_UTC)

    def _printer_down_s(self, now: float) -> float | None:
        """How long the printer has been not ready without a break, from its last poll (no I/O here)."""
        status: PrinterStatus | None = None
        if self.printer_status is not None:
            try:
                status = self.printer_status()
            except Exception:
                log.exception("printer status not read")
        if status is None or status.ready:
            self._printer_down_since = None
            return None
        if self._printer_down_since is None:
            self._printer_down_since = now
        return now - self._printer_down_since

    def _review_service(self, now: float) -> None:
        """Decide again whether the kiosk can sell (``kiosk.core.availability``); tell the screens
        and staff when the answer changes. Called on every tick and every device fault or recovery.

        Nothing here talks to a device or the network: the clock probe reads one file's existence,
        the printer's status is the printing thread's last poll, the gateway's reachability the
        probes' record. A reason only turns away the next customer (``availability.turns_away``)."""
        if self.update_hold and self._held_since is None:
            self._held_since = now
        elif not self.update_hold:
            self._held_since = None
        facts = SellingFacts(
            not_enrolled=self.enrolment is not None and self.enrolment.needed,
            payments_enabled=self.options.payments_enabled,
            store_fault=self.device_faults.get("store", ""),
            update_held_s=None if self._held_since is None else now - self._held_since,
            clock_trusted=self._clock_trusted(),
            printer_down_s=self._printer_down_s(now),
            printer_gone_s=self.options.printer_gone_s,
            e_receipt=self.e_receipt_possible(),
            gateway_unreachable=gateway_unreachable(self._gateway_reach, self.options.gateway_reach, now),
        )
        reason = out_of_service(facts)
        if reason is self.out_of_service:
            return
        before, self.out_of_service = self.out_of_service, reason
        if reason is None:
            log.info("back in service (was out of service: %s)", before)
        else:
            log.warning("staff needed: out of service: %s", reason)
            self.alerts.append(StaffAlert(now, f"out of service: {reason}"))
        self._show_phase(self._state.phase)
        self._notify()

    def enrolment_changed(self) -> None:
        """The enrolment desk's view changed (UI thread): decide the screen again, and tell it."""
        self._review_service(self.clock.monotonic())
        self._notify()

    def _retry_store(self, now: float) -> None:
        """A store that refused a write is tried again now and then, by writing the audit row that
        says it is back: only a write that succeeds proves the disk takes writes again."""
        if "store" not in self.device_faults or now < self._store_retry_at:
            return
        self._store_retry_at = now + STORE_RETRY_S
        try:
            self.store.audit("kiosk", "device_recovered", "store: takes writes again")
        except Exception as exc:
            log.info("the store still refuses writes: %s", type(exc).__name__)
            return
        del self.device_faults["store"]
        log.info("device back: store takes writes again")

    def _printer_ready(self) -> bool:
        try:
            return self.printer.is_ready()
        except Exception:  # a broken driver means "not ready", never a crashed kiosk
            log.exception("printer status check failed")
            return False

    def post(self, fn: Callable[[], None]) -> None:
        """Hand work to the dispatching thread from any other thread (scanner, worker)."""
        self._inbox.put(fn)
        self._wake()

    def pump(self, timeout: float = 0.0) -> int:
        """Run what other threads posted; wait up to ``timeout`` for the first item. Returns how many ran."""
        ran = 0
        try:
            fn = self._inbox.get(timeout=timeout) if timeout > 0 else self._inbox.get_nowait()
        except queue.Empty:
            return 0
        while True:
            try:
                fn()
            except Exception:  # work posted by a device thread must never stop the UI's clock
                log.exception("posted work failed")
            ran += 1
            try:
                fn = self._inbox.get_nowait()
            except queue.Empty:
                return ran

    def on_codes(self, codes: Sequence[Decoded]) -> None:
        """Scanner callback (any thread): classify and hand over to the dispatching thread."""
        self.post(lambda: self.handle_codes(codes))

    def handle_codes(self, codes: Sequence[Decoded]) -> None:
        if self.code_tap is not None and self.code_tap.take(codes):
            return  # staff are testing the camera: nothing they show is a sale or a payment
        for d in codes:
            if d.text.startswith(BADGE_PREFIX + ".") and self.maintenance is not None:
                # a staff badge shown to the camera: maintenance mode opens (the screens follow the
                # session); refused, like a PIN, while a payment is in flight
                result = self.maintenance.unlock_badge(d.text)
                log.info("staff badge shown: %s", "unlocked" if result.ok else f"refused ({result.refusal})")
                return
            if self.enrolment is not None and self.enrolment.needed:
                # not enrolled: nothing shown is a sale or a payment; the enrolment screen reads it
                self.enrolment.take(d.text)
                return
            c = classify(d.text, d.symbology, self.code_rules)
            if c.is_payment:
                st = self._state
                about_to_charge = st.phase is co.Phase.PAYING and st.order_id is not None and not st.charging
                if about_to_charge and not self._code_guard.admit(c.text, self.clock.monotonic()):
                    log.info("payment code %s shown again within its lifetime: refused", mask(c.text))
                    self.dispatch(co.PaymentCodeRefused())
                    return
                self.dispatch(co.PaymentCodeScanned(c.kind, c.text))
                return
            if c.kind is CodeKind.PRODUCT:
                self.dispatch(co.ProductScanned(c.text, self._product(c.text)))
                return
            shopping = self.members_enabled and self._state.phase is co.Phase.CART
            if c.kind is CodeKind.MEMBER and shopping:
                # a member QR shown while shopping (the cart or the member screen) signs the member in
                self.member_sign_in(code=c.text)
                return
            shown = mask_member_code(c.text) if c.kind is CodeKind.MEMBER else mask(c.text)
            log.info("ignored code (%s): %s", c.reason or c.kind.value, shown)
        st = self._state
        if codes and self.members_enabled and st.phase is co.Phase.CART and st.member_screen:
            # nothing shown to the member screen was a member code (nor a product, nor a payment
            # code, which the checkout answers itself): say so rather than wait in silence
            self.dispatch(co.MemberLookedUp(None, co.Notice.NOT_A_MEMBER_CODE))

    def _product(self, barcode: str) -> Product | None:
        try:
            return self.store.product_by_barcode(barcode)
        except Exception:  # a store that cannot be read says "unknown item", never crashes the scan
            log.exception("product lookup failed")
            return None

    def on_device_fault(self, message: str) -> None:
        """A device (camera, hand scanner) stopped working; any thread. Staff are told, the kiosk sells on."""
        self.post(lambda: self._device_fault(message))

    def on_device_recovered(self, message: str) -> None:
        self.post(lambda: self._device_recovered(message))

    def _device_fault(self, message: str) -> None:
        device = message.split(":", 1)[0]
        self.device_faults[device] = message
        log.warning("staff needed: %s", message)
        self.alerts.append(StaffAlert(self.clock.monotonic(), message))
        self.audit("kiosk", "device_fault", message)
        self._show_phase(self._state.phase)
        self._camera_check()

    def _camera_down(self) -> bool:
        """The camera reported a fault and nothing else can read the customer's payment code."""
        return self.camera_required and CAMERA in self.device_faults

    def _camera_check(self) -> None:
        """On the pay screen with no charge in flight, a camera fault ends the payment (the checkout
        cancels the unpaid order); while a charge is in flight only the gateway's answer may."""
        st = self._state
        if self._camera_down() and st.phase is co.Phase.PAYING and not st.charging:
            self.dispatch(co.CameraFailed(self.device_faults[CAMERA]))

    def _device_recovered(self, message: str) -> None:
        device = message.split(":", 1)[0]
        if self.device_faults.pop(device, None) is not None:
            log.info("device back: %s", message)
            self.audit("kiosk", "device_recovered", message)
            self._show_phase(self._state.phase)
            self._review_service(self.clock.monotonic())

    def tick(self, now: float | None = None) -> None:
        """Run the idle and done timers; the UI calls this about once a second."""
        now = self.clock.monotonic() if now is None else now
        if self.code_tap is not None:
            self.code_tap.tick()
        rules = IdleRules(
            self.options.idle_timeout_s, self.options.still_there_s, self.options.done_timeout_s
        )
        event = timer_event(
            self._state,
            quiet_s=now - self._timers.last_activity,
            in_phase_s=now - self._timers.phase_since,
            rules=rules,
        )
        if event is not None:
            self.dispatch(event)
        self._camera_check()  # a charge that failed while the camera was down ends on the fault screen
        self._retry_store(now)
        self._start_waiting_recovery()
        self._review_service(now)

    # --- start-up recovery ------------------------------------------------------------------------

    def start_recovery(self, then: Callable[[], None] | None = None) -> None:
        """Settle what a crash or power cut left unfinished, on the worker, while the screen says
        "we are checking the last payment"; selling starts when it is done (bounded by the channels'
        rules). Payments found paid get their receipt printed and staff are told.

        Not before the clock is trusted (``_clock_trusted``): a Pi boots with no real-time clock,
        and a query signed with a wrong time is refused (Alipay's ``timestamp``) or dates the sale
        wrongly, which would leave a payment the gateway could have settled "unresolved" for staff.
        Until then the kiosk is out of service for the clock (the reason staff read), and a tick that
        finds the clock trusted starts the recovery. ``then`` (the refunds to repeat, which talk to the
        gateway too) runs on the UI thread as the recovery starts.
        """
        if not self._clock_trusted():
            if self._recovery_waiting is None:
                log.warning("start-up recovery waits for network time: a wrong clock spoils gateway queries")
            self._recovery_waiting = then or _nothing
            self._review_service(self.clock.monotonic())
            return
        self._recovery_waiting = None
        self.dispatch(co.RecoveryStarted())
        self._submit(self._recovery_job, self._recovery_failed)
        if then is not None:
            then()

    def _start_waiting_recovery(self) -> None:
        """On a tick: the recovery that waited for the clock starts as soon as it is trusted, in the
        same call that lifts the clock's out-of-service, so no customer starts before it."""
        then = self._recovery_waiting
        if then is not None and self._clock_trusted():
            log.info("network time is set: the start-up recovery starts")
            self.start_recovery(then)

    def _recovery_failed(self, exc: Exception) -> co.Event:
        if isinstance(exc, StoreFull):
            message = str(exc)
            self.post(lambda: self._store_full(message))
        return co.RecoveryFinished(failure=f"{type(exc).__name__}: {exc}"[:300])

    def _recovery_job(self) -> co.Event:
        report = service.recover(self.store, self.gateway, self.clock)
        self.recovery = report
        if self.on_recovered is not None:
            try:
                self.on_recovered(report)
            except Exception:  # selling must start even if the tasks could not be kept
                log.exception("the start-up recovery's outcomes were not kept as staff tasks")
        if report.anything:
            log.warning(
                "after restart: %d payment(s) settled, %d unresolved, %d open order(s) closed, "
                "%d receipt(s) to print, %d refund(s) to repeat",
                len(report.resolved),
                len(report.unresolved),
                len(report.closed_orders),
                len(report.paid_orders),
                len(report.refunds_pending),
            )
        failures = "; ".join(report.failures)[:300]
        if report.store_full:
            self.post(lambda: self._store_full(failures))
        return co.RecoveryFinished(tuple(report.paid_orders), tuple(report.unresolved), failures)

    # --- the machine ------------------------------------------------------------------------------

    def _step(self, event: co.Event) -> None:
        if isinstance(event, co.MemberLookedUp):
            self._member_asking = False
        before = self._state
        after, effects = co.transition(before, event)
        self._state = after
        now = self.clock.monotonic()
        if not isinstance(event, (co.TimedOut, co.IdleAsked)):
            self._timers.last_activity = now
        if after.phase is not before.phase:
            self._timers.phase_since = now
            self._timers.last_activity = now
            self._show_phase(after.phase)
            log.info("checkout %s -> %s on %s", before.phase, after.phase, type(event).__name__)
        for effect in effects:
            try:
                self._run(effect)
            except Exception:  # an effect's fault must never take the kiosk down: the customer waits
                log.exception("effect %s failed", type(effect).__name__)
        self._notify()

    def _notify(self) -> None:
        for listener in list(self._listeners):
            try:
                listener(self._state)
            except Exception:
                log.exception("state listener failed")

    def _show_phase(self, phase: co.Phase) -> None:
        light = {
            co.Phase.PAYING: Light.BUSY,
            co.Phase.PRINTING: Light.BUSY,
            co.Phase.RECOVERING: Light.BUSY,
            co.Phase.NEEDS_HELP: Light.FAULT,
        }.get(phase, Light.READY)
        if light is Light.READY and (self.device_faults or self.out_of_service is not None):
            light = Light.FAULT  # selling goes on, but the light calls staff to the broken device
        try:
            self.indicators.show(light)
        except Exception:
            log.exception("indicator failed")

    def audit(self, actor: str, action: str, detail: str) -> None:
        """Audit what staff must see, from the dispatching thread; a store that cannot take it (a full
        disk) is itself a fault to report, never an exception."""
        try:
            self.store.audit(actor, action, detail)
        except StoreFull as exc:
            self._store_full(str(exc))
        except Exception:
            log.exception("audit %s not written", action)

    def _store_full(self, message: str) -> None:
        if "store" not in self.device_faults:
            self.device_faults["store"] = f"store: disk full: {message}"
            self._store_retry_at = self.clock.monotonic() + STORE_RETRY_S
            log.error("staff needed: store: disk full: %s", message)
            self.alerts.append(StaffAlert(self.clock.monotonic(), f"store: disk full: {message}"))
            self._show_phase(self._state.phase)
            self._review_service(self.clock.monotonic())

    def _submit(self, job: Job, on_error: Callable[[Exception], co.Event]) -> None:
        """Run ``job`` on the worker; its event (or ``on_error``'s, if it raised) comes back to dispatch.

        A job that raises must still answer: a checkout left waiting for a charge that will never
        report would freeze the kiosk in front of the customer.
        """

        def run() -> co.Event | None:
            try:
                return job()
            except Exception as exc:
                log.exception("background job failed")
                return on_error(exc)

        if self._worker is None:
            result = run()
            if result is not None:
                self.dispatch(result)  # queued behind the current event when called from dispatch
            return

        def run_and_post() -> None:
            ev = run()
            if ev is not None:
                self.post(lambda: self.dispatch(ev))

        self._worker.submit(run_and_post)

    def _run(self, effect: co.Effect) -> None:
        match effect:
            case co.OpenOrder(cart=cart):
                # priced here, on the owner thread, with what the cart screen showed; written on the
                # worker: a store write can wait for the sync thread's transaction; a corrupt file (an
                # exception) tells the customer, and nothing is charged
                language = self._language
                priced = price_cart(
                    cart, self._promotions(), self._utcnow(), member=self._state.member is not None
                )
                self._submit(
                    lambda: self._open_order_job(cart, language, priced),
                    lambda exc: co.OrderFailed(str(exc)),
                )
            case co.StartCamera():
                self.payment_camera_on = True
                if self._camera_down():  # it failed before this payment began: the customer asks staff
                    self._events.append(co.CameraFailed(self.device_faults[CAMERA]))
            case co.StopCamera():
                self.payment_camera_on = False
            case co.ChargePayment(order_id=charge_oid, kind=kind, code=code):
                self._submit(
                    lambda: self._charge_job(charge_oid, kind, code),
                    # begin_payment or the outcome's commit failed: the payment row, if written,
                    # stays unfinished and is settled with the gateway at the next start.
                    lambda exc: co.PaymentUnresolved(charge_oid, f"internal error: {exc}"),
                )
            case co.CancelOrder(order_id=cancel_oid):
                self._background(partial(self._cancel_order, cancel_oid))
            case co.PrintReceipt(order_id=print_oid):
                self._submit(
                    lambda: self._print_job(print_oid),
                    lambda exc: co.ReceiptFailed(
                        print_oid, f"internal error: {exc}", e_receipt=self.e_receipt_possible()
                    ),
                )
            case co.AlertStaff(reason=reason, order_id=oid):
                log.warning("staff needed: %s", reason)
                self.alerts.append(StaffAlert(self.clock.monotonic(), reason, oid))
                self.audit("kiosk", "alert", reason)
            case co.Beep(error=error):
                self.indicators.beep(error=error)

    # --- jobs (worker thread) ---------------------------------------------------------------------

    def _charge_job(self, order_id: str, kind: CodeKind, code: str) -> co.Event:
        try:
            outcome = service.charge_order(
                self.store,
                self.gateway,
                order_id,
                kind.value,
                code,
                self.options.store_name,
                self.clock,
                on_progress=lambda state: self._charge_progressed(order_id, state),
            )
        except StoreFull as exc:
            message = str(exc)
            self.post(lambda: self._store_full(message))
            return co.PaymentDeclined(order_id, "disk full: nothing was charged")
        if outcome.status is ChargeStatus.PAID and not outcome.recorded:
            # The customer paid: never decline. Staff hand over the goods; the sale is recorded
            # from the gateway's answer at the next start, once the store can take it.
            return co.PaymentUnresolved(order_id, outcome.reason)
        if outcome.status is ChargeStatus.PAID:
            return co.PaymentSucceeded(order_id, kind.value, outcome.transaction_id)
        if outcome.status in (ChargeStatus.FAILED, ChargeStatus.CANCELLED):
            return co.PaymentDeclined(order_id, outcome.reason)
        return co.PaymentUnresolved(order_id, outcome.reason or "no final answer from the gateway")

    def _charge_progressed(self, order_id: str, state: PayState) -> None:
        """The worker's charge moved on at the gateway: the pay screen says what the customer must do
        (type the password; or wait, and not pay again, while the outcome is checked)."""
        stage = _PAY_STAGES.get(state)
        if stage is not None:
            self.dispatch(co.PaymentProgressed(order_id, stage))  # posted to the UI thread from the worker

    def receipt_for(self, order_id: str) -> Receipt:
        """The sale's receipt in the language the customer paid in (kept with the order), so a
        reprint or the receipt the next start's recovery prints reads as the sale did."""
        order = self.store.order(order_id)
        payment = self.store.paid_payment(order_id)
        return Receipt(
            store_name=self.options.store_name,
            kiosk_id=self.options.kiosk_id,
            order_id=order_id,
            time_local=order.created_at.astimezone(self._tz),
            lines=tuple(
                ReceiptLine(li.name_in(order.language), li.qty, li.unit_price_fen)
                for li in self.store.order_lines(order_id)
            ),
            total_fen=order.total_fen,
            discounts=tuple(
                ReceiptDiscount(d.name(order.language), d.amount_fen)
                for d in self.store.order_discounts(order_id)
            ),
            channel=payment.channel if payment else "",
            transaction_masked=mask(payment.transaction_id) if payment else "",
            language=order.language,
        )

    def receipt_layout(self, order_id: str) -> ReceiptLayout:
        """The receipt of ``order_id`` as it prints (also staff's reprint, kiosk.maintenance.actions)."""
        return layout(
            self.receipt_for(order_id), self.template, self.options.paper_columns, self.receipt_url(order_id)
        )

    def _print_job(self, order_id: str) -> co.Event:
        crashpoints.reached("receipt_before_print")
        try:
            text_layout = self.receipt_layout(order_id)
            self._last_receipt = text_layout.text()
            self.printer.print_receipt(order_id, text_layout)
        except PrinterError as exc:
            return co.ReceiptFailed(order_id, str(exc), e_receipt=self.e_receipt_possible())
        self._printed = (order_id, text_layout)
        try:
            self.store.mark_receipt_printed(order_id)
        except Exception:  # the customer has the receipt; at worst the next start prints it again
            log.exception("receipt of %s printed but not recorded as printed", order_id)
        return co.ReceiptPrinted(order_id)

    # --- maintenance mode (kiosk.ui.controller_api.MaintenanceControl), through kiosk.staff_console ---

    def payment_in_flight(self) -> bool:
        return self._state.phase is co.Phase.PAYING

    def maintenance_unlock_pin(self, pin: str) -> UnlockAnswer:
        if self.console is None:
            return UnlockAnswer(ok=False, message="maintenance mode is not set up on this kiosk")
        return self.console.unlock_pin(pin)

    def maintenance_session(self) -> StaffView | None:
        return None if self.console is None else self.console.session()

    def maintenance_actions(self) -> list[Action]:
        return [] if self.console is None else self.console.menu()

    def maintenance_tasks(self) -> list[ActionItem]:
        return [] if self.console is None else self.console.tasks()

    def maintenance_run(self, action: Action, **args: ActionArg) -> ActionAnswer:
        if self.console is None:
            return ActionAnswer(ok=False, message="maintenance mode is not set up on this kiosk")
        return self.console.run(action, args)

    def maintenance_touch(self) -> None:
        if self.maintenance is not None:
            self.maintenance.touch()

    def maintenance_lock(self) -> None:
        if self.maintenance is not None:
            self.maintenance.lock()
        if self.code_tap is not None:
            self.code_tap.release()

    def maintenance_submit(
        self,
        work: Callable[[], _R],
        done: Callable[[_R], None],
        failed: Callable[[Exception], None],
    ) -> None:
        """Run ``work`` on the staff worker; ``done`` or ``failed`` comes back through ``post``.

        Without a worker (``background=False``: scripted runs and tests) ``work`` runs at once.
        """
        if self._staff_worker is None:
            try:
                result = work()
            except Exception as exc:
                log.exception("maintenance work failed")
                failed(exc)
                return
            done(result)
            return

        def run() -> None:
            try:
                result = work()
            except Exception as exc:
                log.exception("maintenance work failed")
                self.post(partial(failed, exc))
                return
            self.post(lambda: done(result))

        self._staff_worker.submit(run)

    def close(self, timeout_s: float = 3.0) -> bool:
        """Stop the workers within ``timeout_s`` in all: each is asked at once and all share one
        deadline (one after another, three stuck workers took three times as long, past the unit's
        ``TimeoutStopSec``). A job still running then is parked (see ``_Worker``).

        True when nothing was left running.
        """
        if self._closed or self._worker is None:
            self._closed = True
            return True
        self._closed = True
        workers = [w for w in (self._staff_worker, self._store_worker, self._worker) if w is not None]
        for worker in workers:
            worker.request_stop()
        deadline = self.clock.monotonic() + timeout_s
        left = [w.name for w in workers if not w.join(max(0.0, deadline - self.clock.monotonic()))]
        if self._worker.name in left:
            log.warning("a background job (charge or receipt) was still running at shutdown; parked")
        if left:
            log.warning("still running after %.1f s at shutdown: %s", timeout_s, ", ".join(left))
        return not left


def wait_until(
    controller: CheckoutController, predicate: Callable[[], bool], timeout_s: float, step_s: float = 0.02
) -> bool:
    """Pump the controller on this thread until ``predicate`` holds or the time is up (scripted use)."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() >= deadline:
            return False
        controller.pump(timeout=step_s)
    return True
