"""A stand-in for ``kiosk.controller.CheckoutController``: the real checkout core, no I/O.

It implements exactly the interface the UI may use (``kiosk.ui.controller_api.KioskController``)
on top of ``kiosk.core.checkout.transition``. Effects are carried out in memory: orders open at
once, the "camera" sees whatever sample code is held up while it is on, and the gateway answers
from a worker thread after a short delay, as the real one does, so the UI's hand-over from a
foreign thread is exercised. Sample names are ``<channel>_<outcome>`` with outcome ok, password
(approved after the customer "types the password"), declined or unknown (never resolved).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import Any

import numpy as np

from kiosk.core import checkout as co
from kiosk.core.cart import Product
from kiosk.core.codes import CodeKind
from kiosk.core.receipt import Receipt, ReceiptLine, ReceiptTemplate, layout
from kiosk_common.codes import mask

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

SAMPLES: tuple[str, ...] = (
    "wechat_ok",
    "alipay_ok",
    "wechat_password",
    "wechat_declined",
    "wechat_unknown",
)

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
    ) -> None:
        #: an enrolled kiosk's e-receipt address (None: no HQ, receipts name the order)
        self.receipt_base = receipt_base
        #: the printer fails every receipt (out of paper mid-job)
        self.print_fails = print_fails
        self._catalog = list(catalog)
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
        self._phase_since = time.monotonic()
        self._last_activity = time.monotonic()
        self._code_counter = 0
        self.events: list[co.Event] = []
        self.effects: list[co.Effect] = []
        self.notify_threads: list[str] = []

    # --- the UI's interface -------------------------------------------------------------------

    @property
    def state(self) -> co.Checkout:
        return self._state

    def subscribe(self, listener: Callable[[co.Checkout], None]) -> None:
        self._listeners.append(listener)

    def dispatch(self, event: co.Event) -> None:
        self._last_activity = time.monotonic()
        self._feed(event)

    def catalog(self) -> list[Product]:
        return list(self._catalog)

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

    def current_receipt_url(self) -> str:
        oid = self._state.order_id
        return (
            ""
            if oid is None or self.receipt_base is None
            else f"{self.receipt_base}/r/kiosk-001/{oid}/{'0' * 32}"
        )

    def latest_frame(self) -> Any:
        return _scene(self._held) if self._camera_on else None

    def sample_codes(self) -> list[str]:
        return list(self._samples)

    def hold_up_sample(self, name: str) -> None:
        if name not in self._samples:
            raise ValueError(f"no sample code named {name!r}; choose one of {self._samples}")
        self._held = name
        if self._camera_on:
            self._scan_held()

    def tick(self, now: float) -> None:
        phase = self._state.phase
        if (phase is co.Phase.DONE and now - self._phase_since >= self.done_timeout_s) or (
            phase is co.Phase.CART and now - self._last_activity >= self.idle_timeout_s
        ):
            self._feed(co.TimedOut())

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
                    before = self._state
                    self._state, effects = co.transition(before, ev)
                    if self._state.phase is not before.phase:
                        self._phase_since = time.monotonic()
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
                self._pending.append(co.OrderOpened(str(uuid.uuid4())))
            case co.StartCamera():
                self._camera_on = True
                if self._held is not None:
                    self._scan_held()
            case co.StopCamera():
                self._camera_on = False
            case co.ChargePayment(order_id=oid, kind=kind, code=code):
                outcome = (self._held or "x_ok").partition("_")[2]
                self._held = None
                self._answer_later(oid, kind.value, outcome, code)
            case co.PrintReceipt(order_id=oid):
                self._receipt = self._receipt_text(oid)
                if self.print_fails:
                    self._pending.append(co.ReceiptFailed(oid, "paper: out"))
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
        if outcome in ("ok", "password"):
            answer = co.PaymentSucceeded(order_id, channel, f"4200{mask(code)}")
        elif outcome == "declined":
            answer = co.PaymentDeclined(order_id, "NOTENOUGH: balance too low")
        else:
            answer = co.PaymentUnresolved(order_id, "no final answer from the gateway after 45 s")
        self._later(delay, answer, "fake-gateway")

    def _later(self, delay_s: float, event: co.Event, thread_name: str) -> None:
        timer = threading.Timer(delay_s, self._feed, args=(event,))
        timer.name = thread_name
        timer.daemon = True
        timer.start()

    def _receipt_text(self, order_id: str) -> str:
        receipt = Receipt(
            store_name="便利店 Corner Shop",
            kiosk_id="kiosk-001",
            order_id=order_id,
            time_local=datetime(2025, 5, 1, 12, 30, 5),
            lines=tuple(
                ReceiptLine(li.product.name_zh, li.qty, li.product.price_fen) for li in self._state.cart.lines
            ),
            total_fen=self._state.cart.total_fen,
            channel=self._state.paid_channel or "wechat",
            transaction_masked="4200****1234",
            language=self._language,
        )
        template = ReceiptTemplate(
            header=("${store_name}", "自助收银小票 Receipt"),
            footer=("谢谢惠顾，欢迎再来", "Thank you, come again"),
        )
        return layout(receipt, template, 32).text()


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
