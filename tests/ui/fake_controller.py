"""A stand-in for ``kiosk.controller.CheckoutController``: the real checkout core, no I/O.

It implements exactly the interface the UI may use (``kiosk.ui.controller_api.KioskController``)
on top of ``kiosk.core.checkout.transition``. Effects are carried out in memory: orders open at
once, the "camera" sees whatever sample code is held up while it is on, and the gateway answers
from a worker thread after a short delay, as the real one does, so the UI's hand-over from a
foreign thread is exercised. Sample names are ``<channel>_<outcome>`` with outcome ok, password
(the gateway first reports "user paying", then approves once the customer "types the password":
after a delay, or when a test sets ``password_gate``), declined or unknown (reported "checking",
never resolved). The idle and done timers are ``kiosk.core.idle``'s, on ``clock`` when one is given.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from kiosk.core import checkout as co
from kiosk.core.availability import OutOfService
from kiosk.core.cart import Product
from kiosk.core.codes import CodeKind, classify
from kiosk.core.idle import IdleRules, timer_event
from kiosk.core.members import MemberInputError, member_code_rule, normalise_phone
from kiosk.core.money import format_yuan
from kiosk.core.pricing import PricedCart, Promotion, price_cart
from kiosk.core.receipt import Receipt, ReceiptLayout, ReceiptLine, ReceiptTemplate, layout
from kiosk.maintenance.roles import Action, Role, actions_for, allowed
from kiosk.ports import MemberDirectory, MembersNotOffered, NoMemberDirectory
from kiosk.ui.controller_api import ActionAnswer, ActionArg, ActionItem, StaffView, UnlockAnswer
from kiosk_common.codes import is_member_code, mask

#: IT's actions the fake answers in ``_it``
#: the restore list's backups at HQ (kiosk.staff_it keys them "hq:" + HQ's name): one granted from
#: the kiosk this one replaced, and one whose download does not match (refused, nothing staged)
FAKE_HQ_GRANTED = "hq:backup-20261201T080000000000Z-aaaaaaaaaaaa.sqlite3"
FAKE_HQ_DAMAGED = "hq:backup-20261130T080000000000Z-bbbbbbbbbbbb.sqlite3"
FAKE_HQ_BACKUPS = {
    FAKE_HQ_GRANTED: "HQ backup  2026-12-01T08:00:00Z  176.0 KB  12 sales (from kiosk-000)",
    FAKE_HQ_DAMAGED: "HQ backup  2026-11-30T08:00:00Z  170.0 KB  9 sales",
}
FAKE_IT_ACTIONS = (Action.CONFIGURE, Action.BACKUP, Action.SUPPORT_BUNDLE, Action.RESTORE, Action.OTA_CHECK)

CATALOG: tuple[Product, ...] = (
    Product("W550", "农夫山泉 饮用天然水 550ml", "Nongfu Spring water 550ml", 200, "6921168509256", "drinks"),
    Product("COLA330", "可口可乐 330ml", "Coca-Cola 330ml", 350, "6928804011142", "drinks"),
    Product("TEA500", "康师傅 冰红茶 500ml", "Iced black tea 500ml", 300, None, "drinks"),
    Product("CHIPS", "乐事薯片 原味 75g", "Lay's chips, classic 75g", 750, None, "snacks"),
    Product("OREO", "奥利奥 夹心饼干", "Oreo cookies", 890, None, "snacks"),
    Product("CHOC", "德芙 丝滑牛奶巧克力", "Dove milk chocolate", 1200, None, "snacks"),
    Product("TISSUE", "维达 手帕纸 10包", "Vinda tissues, 10 packs", 550, None, "daily"),
    Product("AA2", "南孚 5号电池 2粒", "Nanfu AA batteries, 2-pack", 990, None, "daily"),
)

#: the longest a gated answer (password typed, receipt printed, payment unresolved) waits for its gate
GATE_LIMIT_S = 600.0

SAMPLES: tuple[str, ...] = (
    "wechat_ok",
    "alipay_ok",
    "wechat_password",
    "wechat_declined",
    "wechat_unknown",
)

#: the fake's staff: PIN -> (name, role)
STAFF: dict[str, tuple[str, Role]] = {
    "111111": ("王芳", Role.CASHIER),
    "222222": ("李强", Role.MANAGER),
    "333333": ("张工", Role.IT),
}
#: wrong PINs before the pad is locked out; from the 4th wrong PIN on, each costs a wait
LOCKOUT_AFTER = 10
BACKOFF_FROM = 4
BACKOFF_S = 5.0
#: seconds without a staff touch before maintenance mode locks itself
MAINT_IDLE_S = 120.0
#: orders the fake's "today" already holds: (order id, total fen)
SEED_ORDERS: tuple[tuple[str, int], ...] = (
    ("a1b2c3d4-0000-4000-8000-000000000001", 1250),
    ("e5f6a7b8-0000-4000-8000-000000000002", 350),
)

#: the fake's "now" for promotions' validity windows
PROMO_NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)

_CODE_PREFIX = {"wechat": ("13", CodeKind.WECHAT), "alipay": ("28", CodeKind.ALIPAY)}


class FakeController:
    def __init__(
        self,
        *,
        catalog: tuple[Product, ...] = CATALOG,
        samples: tuple[str, ...] = SAMPLES,
        language: str = "zh_CN",
        printer_ready: bool = True,
        answer_delay_s: float = 0.3,
        print_delay_s: float = 0.0,
        idle_timeout_s: float = 60.0,
        done_timeout_s: float = 30.0,
        receipt_base: str | None = None,
        print_fails: bool = False,
        still_there_s: float = 20.0,
        clock: Callable[[], float] | None = None,
        password_gate: threading.Event | None = None,
        print_gate: threading.Event | None = None,
        unresolved_gate: threading.Event | None = None,
        promotions: tuple[Promotion, ...] = (),
        members: MemberDirectory | None = None,
    ) -> None:
        #: an injected clock (seconds) for the idle timers; the UI's own tick time is then ignored
        self._clock = clock or time.monotonic
        self._clock_injected = clock is not None
        self.still_there_s = still_there_s
        #: when set, a "password" payment stays "user paying" until a test sets it
        self.password_gate = password_gate
        #: when set, the printer finishes a receipt only once a script sets it (printing stays up)
        self.print_gate = print_gate
        #: when set, a code the gateway never answers stays "checking" until a script sets it
        self.unresolved_gate = unresolved_gate
        #: an enrolled kiosk's e-receipt address (None: no HQ, receipts name the order)
        self.receipt_base = receipt_base
        #: the printer fails every receipt (out of paper mid-job)
        self.print_fails = print_fails
        self._catalog = list(catalog)
        #: promotions applied to the cart (kiosk.core.pricing), valid at ``PROMO_NOW``
        self.promotions = promotions
        #: the member directory (None: the kiosk's default, "not offered"); the button shows with one
        self.members: MemberDirectory = members or NoMemberDirectory()
        self.members_enabled = members is not None
        #: a member look-up is out, as the real controller's ``member_checking``
        self.member_checking = False
        self._samples = list(samples)
        self._language = language
        self.printer_ready = printer_ready
        self.answer_delay_s = answer_delay_s
        self.print_delay_s = print_delay_s
        self.idle_timeout_s = idle_timeout_s
        self.done_timeout_s = done_timeout_s
        self._state = co.Checkout()
        self._listeners: list[Callable[[co.Checkout], None]] = []
        self._lock = threading.RLock()
        self._pending: deque[co.Event] = deque()
        self._running = False
        self._camera_on = False
        self._held: str | None = None
        self._receipt = ""
        #: (order id, layout) of the receipt the fake printer last printed
        self._printed: tuple[str, ReceiptLayout] | None = None
        self._phase_since = self._clock()
        self._last_activity = self._clock()
        self._code_counter = 0
        self.events: list[co.Event] = []
        self.effects: list[co.Effect] = []
        self.notify_threads: list[str] = []
        # maintenance mode, faithful in small: PINs, failures, back-off, lockout, inactivity
        #: the maintenance lock's clock (seconds); tests move it with advance_maint_clock
        self.maint_now = 0.0
        self.payment_forced_in_flight = False
        self._staff: tuple[str, Role] | None = None
        self._staff_touched = 0.0
        self._failures = 0
        self._wait_until = 0.0
        self.orders: dict[str, int] = dict(SEED_ORDERS)
        self.refunds: list[tuple[str, int]] = []
        self.printed: list[tuple[str, str]] = []
        self.maint_calls: list[tuple[str, dict[str, ActionArg]]] = []
        #: maintenance work runs here, one at a time, as on the real controller's staff worker
        self._staff_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fake-staff")
        self.work_threads: list[str] = []
        self.work_gate: threading.Event | None = None
        #: IT's actions: the folder reported as a mounted USB stick, and the restore staged
        self.usb_folder: Path | None = None
        #: IT's real SSH action (kiosk.staff_it.ItConsole on temporary files), when a test sets one
        self.it_console: Any = None
        self.staged_restore = ""
        # diagnostics: the camera view (on while open), the LED test, beeps, the decode figures
        self.diag_camera_on = False
        self.diag_led_on = False
        self.diag_beeps = 0
        self.diag_frames = 0
        #: the test charge: waiting for a code; a test sets ``diag_code_shown`` (staff's phone)
        self.diag_charge_waiting = False
        self.diag_code_shown = False
        self.diag_charges = 0
        #: a manager's price overrides (sku -> fen) and out-of-stock marks, as kiosk.staff_catalog keeps them
        self.price_overrides: dict[str, int] = {}
        self.out_of_stock: set[str] = set()
        #: product pictures (sku -> file), as kiosk.product_images checks and serves them
        self.images: dict[str, str] = {}
        # faults, as the real controller reports them to the screens
        #: why the kiosk cannot sell (a kiosk.core.availability.OutOfService), None while it can
        self.out_of_service: OutOfService | None = None
        #: HQ unreachable: the attract and cart screens show the calm "offline" line
        self.hq_offline = False
        #: the enrolment screen's desk (kiosk.enrolment_desk) of a kiosk not enrolled; None: enrolled
        self.enrolment: Any = None
        #: the payment camera's fault message ("" while it works)
        self.camera_fault = ""

    # --- the UI's interface -------------------------------------------------------------------

    def priced_cart(self) -> PricedCart:
        return price_cart(self._state.cart, self.promotions, PROMO_NOW, member=self._state.member is not None)

    def member_sign_in(self, *, phone: str = "", code: str = "") -> None:
        """As the real controller: a bad number is refused at once, the directory asked off the UI thread."""
        try:
            phone = normalise_phone(phone) if phone else ""
        except MemberInputError:
            self.dispatch(co.MemberLookedUp(None, co.Notice.MEMBER_NOT_FOUND))
            return
        if not phone and not is_member_code(code):
            self.dispatch(co.MemberLookedUp(None, co.Notice.NOT_A_MEMBER_CODE))
            return
        if self.member_checking:
            return
        self.member_checking = True
        self._notify()

        def ask() -> co.Event:
            try:
                return co.MemberLookedUp(self.members.lookup(phone=phone, code=code))
            except MembersNotOffered:
                return co.MemberLookedUp(None, co.Notice.MEMBERS_NOT_OFFERED)
            except Exception:
                return co.MemberLookedUp(None, co.Notice.MEMBER_LOOKUP_FAILED)

        # off the UI thread, as the real controller: a slow HQ must leave the screen drawing
        threading.Thread(target=lambda: self._feed(ask()), name="fake-members", daemon=True).start()

    @property
    def state(self) -> co.Checkout:
        return self._state

    def subscribe(self, listener: Callable[[co.Checkout], None]) -> None:
        self._listeners.append(listener)

    def dispatch(self, event: co.Event) -> None:
        self._last_activity = self._clock()
        starts = isinstance(event, (co.StartTapped, co.ProductScanned, co.ProductTapped))
        if starts and self.out_of_service is not None and self._state.phase is co.Phase.ATTRACT:
            self._notify()
            return
        if isinstance(event, co.PayTapped) and self._state.phase is co.Phase.CART:
            # filled in as the real controller does: the printer, the e-receipt, the camera
            event = co.PayTapped(
                printer_ready=event.printer_ready and self.printer_ready,
                payment_ready=event.payment_ready,
                e_receipt=self.receipt_base is not None,
                camera_ready=event.camera_ready and not self.camera_fault,
            )
        self._feed(event)

    # --- faults, as a test makes them happen -----------------------------------------------------

    def fail_camera(self, message: str = "camera: no frames for 2 s") -> None:
        """The camera stops: on the pay screen (no charge in flight) the checkout ends the payment."""
        self.camera_fault = message
        if self._state.phase is co.Phase.PAYING and not self._state.charging:
            self._feed(co.CameraFailed(message))

    def set_out_of_service(self, reason: OutOfService | None) -> None:
        self.out_of_service = reason
        self._notify()

    def set_enrolment(self, desk: Any) -> None:
        """Not enrolled (``desk``, a kiosk.enrolment_desk.EnrolmentDesk) or enrolled (None), as the
        real controller shows it: out of service with the reason not_enrolled while it is needed."""
        self.enrolment = desk
        if desk is not None:
            desk.on_change = lambda: self.set_out_of_service(
                OutOfService.NOT_ENROLLED if desk.needed else None
            )
        self.set_out_of_service(OutOfService.NOT_ENROLLED if desk is not None else None)

    def set_hq_offline(self, offline: bool) -> None:
        self.hq_offline = offline
        self._notify()

    def catalog(self) -> list[Product]:
        return [
            replace(
                p, price_fen=self.price_overrides.get(p.sku, p.price_fen), sold_out=p.sku in self.out_of_stock
            )
            for p in self._catalog
        ]

    def scan_product(self, barcode: str) -> None:
        """A hand scanner (or the camera) reads a product barcode: looked up as the store does and
        dispatched from a scanner thread, as the real controller hands a scan over."""
        found = next((p for p in self.catalog() if p.barcode == barcode), None)
        thread = threading.Thread(
            target=self.dispatch, args=(co.ProductScanned(barcode, found),), name="fake-scanner"
        )
        thread.start()
        thread.join()

    def show_code(self, text: str, symbology: str | None = "QRCode") -> None:
        """The camera or a hand scanner reads ``text`` on a scanner thread, and it is taken as the real
        controller's ``handle_codes`` takes it: a payment code goes to the checkout, a member code
        signs in on a shopping screen, anything else on the member screen is "not a member code"."""

        def read() -> None:
            c = classify(text, symbology, (member_code_rule,))
            shopping = self.members_enabled and self._state.phase is co.Phase.CART
            if c.is_payment:
                self.dispatch(co.PaymentCodeScanned(c.kind, c.text))
            elif c.kind is CodeKind.MEMBER and shopping:
                self.member_sign_in(code=c.text)
            elif shopping and self._state.member_screen:
                self.dispatch(co.MemberLookedUp(None, co.Notice.NOT_A_MEMBER_CODE))

        thread = threading.Thread(target=read, name="fake-scanner")
        thread.start()
        thread.join()

    def product_image(self, sku: str) -> str:
        """Pictures a test put in ``images`` (sku -> file path)."""
        return self.images.get(sku, "")

    @property
    def language(self) -> str:
        return self._language

    def set_language(self, language: str) -> None:
        if language not in ("zh_CN", "en"):
            raise ValueError(f"language must be zh_CN or en, not {language!r}")
        self._language = language
        self._notify()

    def last_receipt_text(self) -> str:
        return self._receipt

    def last_receipt_layout(self) -> ReceiptLayout | None:
        printed = self._printed
        return printed[1] if printed is not None and printed[0] == self._state.order_id else None

    def current_receipt_url(self) -> str:
        oid = self._state.order_id
        return (
            ""
            if oid is None or self.receipt_base is None
            else f"{self.receipt_base}/r/kiosk-001/{oid}/{'0' * 32}"
        )

    def latest_frame(self) -> Any:
        # the real scanner keeps its newest frame whatever the screen; the fake draws one while a
        # screen shows the picture: the pay screen, the member screen, the staff's camera view
        showing = self._camera_on or self.diag_camera_on or self._state.member_screen
        return _scene(self._held) if showing else None

    def sample_codes(self) -> list[str]:
        return list(self._samples)

    def hold_up_sample(self, name: str) -> None:
        if name not in self._samples:
            raise ValueError(f"no sample code named {name!r}; choose one of {self._samples}")
        self._held = name
        if self._camera_on:
            self._scan_held()

    def tick(self, now: float) -> None:
        if self._clock_injected:
            now = self._clock()
        rules = IdleRules(self.idle_timeout_s, self.still_there_s, self.done_timeout_s)
        event = timer_event(
            self._state, quiet_s=now - self._last_activity, in_phase_s=now - self._phase_since, rules=rules
        )
        if event is not None:
            self._feed(event)

    # --- maintenance mode (kiosk.ui.controller_api.MaintenanceControl) -----------------------------

    def advance_maint_clock(self, seconds: float) -> None:
        self.maint_now += seconds

    def payment_in_flight(self) -> bool:
        return self.payment_forced_in_flight or self._state.charging

    def maintenance_unlock_pin(self, pin: str) -> UnlockAnswer:
        if self.payment_in_flight():
            return UnlockAnswer(ok=False, refused_payment=True, message="a payment is in flight")
        if self._failures >= LOCKOUT_AFTER:
            return UnlockAnswer(ok=False, locked_out=True, message="locked out")
        if self.maint_now < self._wait_until:
            return UnlockAnswer(ok=False, wait_s=self._wait_until - self.maint_now, message="back-off")
        staff = STAFF.get(pin)
        if staff is None:
            self._failures += 1
            if self._failures >= LOCKOUT_AFTER:
                return UnlockAnswer(ok=False, locked_out=True, message="locked out")
            if self._failures >= BACKOFF_FROM:
                self._wait_until = self.maint_now + BACKOFF_S
                return UnlockAnswer(ok=False, wait_s=BACKOFF_S, message="wrong PIN, back-off")
            return UnlockAnswer(ok=False, message="wrong PIN")
        self._failures = 0
        self._staff, self._staff_touched = staff, self.maint_now
        return UnlockAnswer(ok=True, role=staff[1], name=staff[0])

    def maintenance_session(self) -> StaffView | None:
        if self._staff is not None and self.maint_now - self._staff_touched >= MAINT_IDLE_S:
            self._staff = None  # locked by inactivity
        return None if self._staff is None else StaffView(self._staff[0], self._staff[1])

    def maintenance_actions(self) -> list[Action]:
        session = self.maintenance_session()
        return [] if session is None else actions_for(session.role)

    def maintenance_touch(self) -> None:
        if self.maintenance_session() is not None:
            self._staff_touched = self.maint_now

    def maintenance_lock(self) -> None:
        self._staff = None
        self.diag_camera_on = self.diag_led_on = False

    def maintenance_submit(
        self, work: Callable[[], Any], done: Callable[[Any], None], failed: Callable[[Exception], None]
    ) -> None:
        """As the real controller: ``work`` on one worker thread, the answer back on Kivy's clock.
        ``work_gate``, when set, holds every work until a test opens it (to see the busy state)."""
        from kivy.clock import Clock

        def run() -> None:
            self.work_threads.append(threading.current_thread().name)
            if self.work_gate is not None:
                self.work_gate.wait(30)  # bounds a failing test only
            try:
                result = work()
            except Exception as exc:
                Clock.schedule_once(lambda _dt, e=exc: failed(e), 0)
                return
            Clock.schedule_once(lambda _dt: done(result), 0)

        self._staff_pool.submit(run)

    def maintenance_tasks(self) -> list[ActionItem]:
        session = self.maintenance_session()
        if session is None:
            return []
        tasks = [ActionItem("paper-low", "小票纸快用完 Paper low", Action.PAPER_GUIDE)]
        if self._state.phase is co.Phase.NEEDS_HELP:
            tasks.insert(0, ActionItem("help", "顾客需要协助 Customer needs help", Action.RESOLVE_HELP))
        return [task for task in tasks if task.action is None or allowed(session.role, task.action)]

    def maintenance_run(self, action: Action, **args: ActionArg) -> ActionAnswer:
        self.maint_calls.append((action.value, dict(args)))
        session = self.maintenance_session()
        if session is None:
            return ActionAnswer(ok=False, message="已锁定 Locked")
        if not allowed(session.role, action):
            return ActionAnswer(ok=False, message=f"{session.role.value} may not {action.value}")
        if action in FAKE_IT_ACTIONS:
            return self._it(action, args)
        if action is Action.SSH and self.it_console is not None:
            answer: ActionAnswer = self.it_console.run("staff:3", action, dict(args))
            return answer
        order_id = str(args.get("order_id") or "")
        match action:
            case Action.TODAYS_SALES:
                items = tuple(
                    ActionItem(oid, f"#{oid[:8]}  {format_yuan(fen)}") for oid, fen in self.orders.items()
                )
                total = format_yuan(sum(self.orders.values()))
                return ActionAnswer(ok=True, message=f"{len(items)} 单 orders, {total}", items=items)
            case Action.REPRINT:
                if order_id not in self.orders:
                    return ActionAnswer(ok=False, message="没有这个订单 No such order")
                self.printed.append(("receipt", order_id))
                return ActionAnswer(ok=True, message=f"已补打 Reprinted #{order_id[:8]}")
            case Action.PAPER_GUIDE:
                return ActionAnswer(
                    ok=True, text="1. 打开打印机盖 Open the cover\n2. 放入新纸卷 Drop in a roll"
                )
            case Action.RESOLVE_HELP:
                if self._state.phase is not co.Phase.NEEDS_HELP:
                    return ActionAnswer(ok=False, message="没有求助 No help call")
                self._feed(co.StaffResolved())
                return ActionAnswer(ok=True, message="已恢复服务 Back in service")
            case Action.REFUND:
                return self._refund(order_id, args.get("amount_fen"))
            case Action.CLOSE_SHIFT:
                total = sum(self.orders.values()) - sum(fen for _, fen in self.refunds)
                text = f"Z 报表 Z-report\n订单 orders: {len(self.orders)}\n合计 net: {format_yuan(total)}"
                self.printed.append(("z_report", text))
                return ActionAnswer(ok=True, message="已交班并打印 Shift closed, Z-report printed", text=text)
            case Action.DIAGNOSTICS:
                return self._diagnostics(str(args.get("check") or "all"))
            case Action.OVERRIDE_PRICE | Action.OUT_OF_STOCK:
                return self._catalog_run(action, args)
            case _:
                return ActionAnswer(ok=True, message=f"{action.value}: ok")

    def _it(self, action: Action, args: dict[str, ActionArg]) -> ActionAnswer:
        """IT's actions, plausibly: settings without the secret, a backup written into the folder
        the fake reports as a USB stick (``usb_folder``), its backups listed for a restore."""
        usb = self.usb_folder
        if action is Action.OTA_CHECK:  # as kiosk.staff_it.software answers from the agent's state.json
            asked = args.get("check") == "now"
            return ActionAnswer(
                ok=True,
                message="已请求立即检查 Asked the update agent to check with HQ now"
                if asked
                else "Update status",
                text="Installed: kiosk 1.4.0\nUpdate agent: waiting for no customer to switch, running 1.4.0\n"
                "Updating to: 1.5.0",
            )
        if action is Action.CONFIGURE:
            return ActionAnswer(
                ok=True,
                message="只读 Read-only: settings come from HQ or the config file",
                text='[payments.wechat]\napi_key = "[removed]"\nmch_id = "1900000001"',
            )
        if action in (Action.BACKUP, Action.SUPPORT_BUNDLE) and not args.get("to"):
            items = ((ActionItem(f"usb:{usb}", f"USB {usb}"),) if usb else ()) + (ActionItem("hq", "HQ"),)
            return ActionAnswer(ok=True, message="请选择 choose where", items=items)
        if action is Action.BACKUP and usb is not None and args.get("to") == f"usb:{usb}":
            name = f"kiosk-001-store-2026120{len(list(usb.iterdir())) // 2}T000000Z.sqlite3"
            (usb / name).write_bytes(b"SQLite format 3\x00")
            (usb / (name + ".manifest.json")).write_text('{"sha256": "ab12"}')
            return ActionAnswer(
                ok=True, message="backup done and verified", text=f"File: {name}\nSHA-256: ab12"
            )
        if action is Action.RESTORE and not args.get("file"):
            names = sorted(p.name for p in usb.glob("*.sqlite3")) if usb else []
            items = tuple(ActionItem(str(usb / n), n) for n in names) + tuple(
                ActionItem(key, label) for key, label in FAKE_HQ_BACKUPS.items()
            )
            return ActionAnswer(ok=True, message="", items=items)
        if action is Action.RESTORE and args.get("file") == FAKE_HQ_DAMAGED:
            # as kiosk.staff_it: the download did not match HQ's listing, nothing is staged
            return ActionAnswer(
                ok=False,
                message="the backup downloaded from HQ does not match the size or SHA-256 HQ listed: "
                "nothing was staged",
            )
        if action is Action.RESTORE:
            self.staged_restore = str(args.get("file"))
            return ActionAnswer(ok=True, message="restore staged: the kiosk stops now")
        return ActionAnswer(ok=True, message=f"{action.value}: ok")

    def _diagnostics(self, check: str) -> ActionAnswer:
        """Plausible answers in the real console's shape (kiosk.staff_diagnostics): one item per check,
        ``verdict`` ok/warn/fail; the camera's figures grow with every poll while the view is open."""
        rows = {
            "printer": ("ok", "打印机就绪 printer ready (file receipts)"),
            "camera": ("ok", self._camera_figures()),
            "gpio": ("ok", "输入 inputs: key_switch_on=False, paper_low=False, printer_busy=-"),
            "network": ("ok", "本机地址 address 192.168.1.23"),
            "hq": ("ok", "总部可达 HQ reachable, kiosk-001"),
            "gateway": ("warn", "支付网关未配置 gateway: sandbox only"),
            "disk": ("ok", "剩余 free 12000 MB of 29000 MB"),
            "sd card": ("ok", "存储卡健康状况未知 SD wear not available"),
            "versions": ("ok", "app 1.4.0, OS Debian GNU/Linux 12 (bookworm)"),
        }

        def items(*names: str) -> ActionAnswer:
            got = tuple(ActionItem(n, rows[n][1], verdict=rows[n][0]) for n in names)
            return ActionAnswer(ok=all(i.verdict != "fail" for i in got), items=got)

        match check:
            case "all":
                return items(*rows)
            case "test_page":
                self.printed.append(("test_page", "TEST PAGE"))
                return ActionAnswer(
                    ok=True,
                    items=(ActionItem("printer test page", "测试页已打印 test page printed", verdict="ok"),),
                )
            case "gpio_led":
                self.diag_led_on = not self.diag_led_on
                said = "指示灯闪烁 LED blinking" if self.diag_led_on else "指示灯恢复 LED back"
                return ActionAnswer(ok=True, items=(ActionItem("gpio led", said, verdict="ok"),))
            case "gpio_buzzer":
                self.diag_beeps += 1
                return ActionAnswer(ok=True, items=(ActionItem("gpio buzzer", "蜂鸣 beeped", verdict="ok"),))
            case "camera_on":
                self.diag_camera_on = True
                return items("camera")
            case "camera_stats":
                self.diag_frames += 15
                rows["camera"] = ("ok", self._camera_figures())
                return items("camera")
            case "camera_off" | "leave" | "charge_cancel":
                self.diag_camera_on = self.diag_led_on = self.diag_charge_waiting = False
                return ActionAnswer(ok=True)
            case "charge_start":
                self.diag_camera_on = self.diag_charge_waiting = True
                return ActionAnswer(ok=True, message="请出示付款码 show a payment code")
            case "charge_poll":
                if not self.diag_charge_waiting:
                    return ActionAnswer(ok=False, message="已取消 cancelled")
                if not self.diag_code_shown:
                    return ActionAnswer(ok=True, message="请出示付款码 show a payment code")
                self.diag_camera_on = self.diag_charge_waiting = False
                self.diag_charges += 1
                said = "测试收款 1 分成功并已退款 charged 1 fen and refunded"
                return ActionAnswer(ok=True, items=(ActionItem("test charge", said, verdict="ok"),))
            case "sd_card":
                return items("sd card")
            case name if name in rows:
                return items(name)
        return ActionAnswer(ok=False, message=f"unknown check {check}")

    def _camera_figures(self) -> str:
        n = self.diag_frames
        return (
            f"已读 read {n}, decoded {n}, dropped 0, codes 0; "
            f"median 8.0 ms, p95 12.0 ms, 15.0 fps; 0 code(s) seen in this view"
        )

    def _catalog_run(self, action: Action, args: dict[str, ActionArg]) -> ActionAnswer:
        """As kiosk.staff_catalog answers: categories, a category or a search, one product, a change."""

        def row(p: Product) -> ActionItem:
            price = format_yuan(self.price_overrides.get(p.sku, p.price_fen))
            was = f" (was {format_yuan(p.price_fen)})" if p.sku in self.price_overrides else ""
            out = "  [out of stock]" if p.sku in self.out_of_stock else ""
            return ActionItem(p.sku, f"{p.name_en}  {price}{was}{out}")

        sku = str(args.get("sku") or "")
        if not sku:
            query, category = str(args.get("query") or "").casefold(), str(args.get("category") or "")
            if not query and not category:
                cats = dict.fromkeys(p.category for p in self._catalog)
                return ActionAnswer(ok=True, items=tuple(ActionItem(f"category:{c}", c) for c in cats))
            found = [
                p
                for p in self._catalog
                if (not category or p.category == category)
                and (not query or any(query in f.casefold() for f in (p.sku, p.name_en, p.barcode or "")))
            ]
            return ActionAnswer(ok=True, message=f"{len(found)} product(s)", items=tuple(map(row, found)))
        product = next((p for p in self._catalog if p.sku == sku), None)
        if product is None:
            return ActionAnswer(ok=False, message=f"not done: no product {sku} in the catalog")
        message = ""
        if action is Action.OVERRIDE_PRICE and "price_fen" in args:
            price = args["price_fen"]
            if isinstance(price, int):
                self.price_overrides[sku] = price
            else:
                self.price_overrides.pop(sku, None)
            message = f"{product.name_en} now sells at {format_yuan(self.price_overrides.get(sku, product.price_fen))}"
        elif action is Action.OUT_OF_STOCK and "out" in args:
            (self.out_of_stock.add if args["out"] else self.out_of_stock.discard)(sku)
            message = f"{product.name_en} is {'marked out of stock' if args['out'] else 'back in stock'}"
        stock = "out of stock" if sku in self.out_of_stock else "in stock"
        text = f"{product.name_en} ({sku})\nHQ price {format_yuan(product.price_fen)}\nstock: {stock}"
        return ActionAnswer(ok=True, message=message, text=text, items=(row(product),))

    def _refund(self, order_id: str, amount: ActionArg) -> ActionAnswer:
        total = self.orders.get(order_id)
        if total is None:
            return ActionAnswer(ok=False, message="没有这个订单 No such order")
        left = total - sum(fen for oid, fen in self.refunds if oid == order_id)
        fen = left if amount is None else amount
        if not isinstance(fen, int) or not 0 < fen <= left:
            return ActionAnswer(ok=False, message=f"最多可退 At most {format_yuan(left)}")
        self.refunds.append((order_id, fen))
        return ActionAnswer(ok=True, message=f"已退款 Refunded {format_yuan(fen)}")

    # --- the machine --------------------------------------------------------------------------

    def _feed(self, event: co.Event) -> None:
        with self._lock:
            self._pending.append(event)
            if self._running:
                return
            self._running = True
            try:
                while self._pending:
                    ev = self._pending.popleft()
                    self.events.append(ev)
                    if isinstance(ev, co.MemberLookedUp):
                        self.member_checking = False
                    before = self._state
                    self._state, effects = co.transition(before, ev)
                    if self._state.phase is not before.phase:
                        self._phase_since = self._last_activity = self._clock()
                    for effect in effects:
                        self.effects.append(effect)
                        self._run(effect)
                    self._notify()
            finally:
                self._running = False

    def _notify(self) -> None:
        self.notify_threads.append(threading.current_thread().name)
        for listener in list(self._listeners):
            listener(self._state)

    def _run(self, effect: co.Effect) -> None:
        match effect:
            case co.OpenOrder():
                self._pending.append(co.OrderOpened(str(uuid.uuid4()), self.priced_cart().total_fen))
            case co.StartCamera():
                self._camera_on = True
                if self.camera_fault:
                    self._pending.append(co.CameraFailed(self.camera_fault))
                if self._held is not None:
                    self._scan_held()
            case co.StopCamera():
                self._camera_on = False
            case co.ChargePayment(order_id=oid, kind=kind, code=code):
                outcome = (self._held or "x_ok").partition("_")[2]
                self._held = None
                self._answer_later(oid, kind.value, outcome, code)
            case co.PrintReceipt(order_id=oid):
                receipt = self._receipt_layout(oid)
                self._receipt = receipt.text()
                # what printed is known before the printer says so, as in the real controller
                self._printed = None if self.print_fails else (oid, receipt)
                if self.print_fails:
                    e_receipt = self.receipt_base is not None
                    self._pending.append(co.ReceiptFailed(oid, "paper: out", e_receipt=e_receipt))
                elif self.print_gate is not None:
                    self._after_gate(self.print_gate, co.ReceiptPrinted(oid), "fake-printer")
                elif self.print_delay_s > 0:
                    self._later(self.print_delay_s, co.ReceiptPrinted(oid), "fake-printer")
                else:
                    self._pending.append(co.ReceiptPrinted(oid))
            case _:
                pass  # CancelOrder, AlertStaff, Beep: recorded in self.effects

    def _scan_held(self) -> None:
        name = self._held or ""
        prefix, kind = _CODE_PREFIX.get(name.partition("_")[0], ("13", CodeKind.WECHAT))
        self._code_counter += 1
        code = f"{prefix}{self._code_counter:016d}"
        self._feed(co.PaymentCodeScanned(kind, code))

    def _answer_later(self, order_id: str, channel: str, outcome: str, code: str) -> None:
        """The gateway's answer arrives on another thread, like a real charge's."""
        delay = self.answer_delay_s * (4 if outcome == "password" else 1)
        answer: co.Event
        if outcome == "password":
            stage = co.PaymentProgressed(order_id, co.PayStage.USER_PAYING)
            self._later(self.answer_delay_s, stage, "fake-gateway")
            if self.password_gate is not None:
                gate = self.password_gate
                paid = co.PaymentSucceeded(order_id, channel, f"4200{mask(code)}")

                self._after_gate(gate, paid, "fake-gateway")
                return
        if outcome == "unknown":
            self._later(
                self.answer_delay_s, co.PaymentProgressed(order_id, co.PayStage.CHECKING), "fake-gateway"
            )
            delay = self.answer_delay_s * 4
            if self.unresolved_gate is not None:
                unresolved = co.PaymentUnresolved(order_id, "no final answer from the gateway after 45 s")
                self._after_gate(self.unresolved_gate, unresolved, "fake-gateway")
                return
        if outcome in ("ok", "password"):
            answer = co.PaymentSucceeded(order_id, channel, f"4200{mask(code)}")
        elif outcome == "declined":
            answer = co.PaymentDeclined(order_id, "NOTENOUGH: balance too low")
        else:
            answer = co.PaymentUnresolved(order_id, "no final answer from the gateway after 45 s")
        self._later(delay, answer, "fake-gateway")

    def _after_gate(self, gate: threading.Event, event: co.Event, thread_name: str) -> None:
        """``event`` arrives on another thread once a script sets ``gate`` (a screen stays up for as
        long as a slow machine needs to show it)."""

        def fire() -> None:
            gate.wait(GATE_LIMIT_S)  # bounds a failing script only
            self._feed(event)

        threading.Thread(target=fire, name=thread_name, daemon=True).start()

    def _later(self, delay_s: float, event: co.Event, thread_name: str) -> None:
        timer = threading.Timer(delay_s, self._feed, args=(event,))
        timer.name = thread_name
        timer.daemon = True
        timer.start()

    def _receipt_layout(self, order_id: str) -> ReceiptLayout:
        """The receipt in the customer's language, its QR the e-receipt URL (or the order), as the
        real controller lays it out."""
        receipt = Receipt(
            store_name="便利店 Corner Shop",
            kiosk_id="kiosk-001",
            order_id=order_id,
            time_local=datetime(2025, 5, 1, 12, 30, 5),
            lines=tuple(
                ReceiptLine(li.product.name(self._language), li.qty, li.product.price_fen)
                for li in self._state.cart.lines
            ),
            total_fen=self._state.cart.total_fen,
            channel=self._state.paid_channel or "wechat",
            transaction_masked="4200****1234",
            language=self._language,
        )
        template = ReceiptTemplate(
            header=("${store_name}", "自助收银小票 Receipt"),
            footer=("谢谢惠顾，欢迎再来", "Thank you, come again"),
            header_en=("${store_name}", "Self-checkout receipt"),
            footer_en=("Thank you, come again",),
        )
        url = self.current_receipt_url() or f"order:{order_id}"
        return layout(receipt, template, 32, url)


def _scene(held: str | None) -> np.ndarray[Any, np.dtype[np.uint8]]:
    """A 640x480 BGR "camera" picture: a counter top, and a phone when a code is held up."""
    h, w = 480, 640
    ramp = np.linspace(70, 150, h, dtype=np.uint8)[:, None]
    frame = np.empty((h, w, 3), dtype=np.uint8)
    frame[:, :, 0] = ramp
    frame[:, :, 1] = ramp
    frame[:, :, 2] = ramp // 2 + 40
    if held is not None:
        frame[90:400, 230:410] = 30
        frame[110:380, 245:395] = 250
        rng = np.random.default_rng(len(held))
        cells = rng.integers(0, 2, size=(12, 12), dtype=np.uint8) * 250
        frame[150:270, 260:380] = np.repeat(np.repeat(cells, 10, axis=0), 10, axis=1)[:, :, None]
    return frame


#: the enrolment screen's kiosk, as first boot names it, and its HQ
ENROL_KIOSK_ID = "kiosk-1a2b3c4d"
ENROL_FINGERPRINT = "3f9a-0c4e-77b1-d2e8"
ENROL_HQ = "https://hq.example-retail-group.com.cn"


def enrolment_desk(controller: FakeController, *, other_hq: bool = False) -> Any:
    """A real ``kiosk.enrolment_desk.EnrolmentDesk`` for the fake controller, with no network: its
    redeem refuses (when ``other_hq``: the longest refusal, a code for another HQ) or succeeds,
    at once, on the calling thread."""
    from kiosk.enrolment_desk import EnrolmentDesk, EnrolRefused
    from kiosk.i18n import t

    def redeem(payload: Any, language: str) -> object:
        if other_hq:
            raise EnrolRefused(t("enrol.other_hq", language, url=payload.hq_url, configured=ENROL_HQ))
        return object()

    return EnrolmentDesk(
        kiosk_id=ENROL_KIOSK_ID,
        fingerprint=ENROL_FINGERPRINT,
        hq_url=ENROL_HQ,
        redeem=redeem,
        language=lambda: controller.language,
        post=lambda fn: fn(),
        on_enrolled=lambda _result: None,
        start=lambda work: work(),
    )
