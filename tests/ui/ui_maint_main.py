"""Child-process entry point of the maintenance-mode UI tests: the real KioskApp, the FakeController,
and a staff member's fingers: every press is a touch event sent through Kivy's input
(``EventLoop.post_dispatch_input``), so it reaches the buttons the way a touchscreen's does.

Run as ``python tests/ui/ui_maint_main.py OUT_DIR --script menus|lockout|work`` with
``KIVY_NO_ARGS=1``, ``KIVY_HOME`` and a ``DISPLAY`` (Xvfb). Prints one JSON line: what the script
observed (``obs``) and a failure, if any. Time is driven, never waited for: the hidden corner's
long press reads an injected clock, the maintenance lock's inactivity timer the fake controller's.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fake_controller import FakeController

from kiosk.core.checkout import PayTapped, Phase, ProductTapped, StartTapped
from kiosk.settings import KioskSection, UiSection
from kiosk.ui.kivy_config import configure_kivy

POLL_S = 0.05
#: bounds one step of a script that cannot go on (from when that step began), nothing more: a passing
#: script ends when its steps do. Per step, not per script: a long script on a 2-core machine running
#: the suite beside other work draws frames slowly but keeps moving, and only a stall should fail it
SCRIPT_LIMIT_S = 120.0
SETTLE_S = 0.4
#: real frames to let pass when checking that something did NOT happen
QUIET_FRAMES = 10


@dataclass
class Do:
    action: Callable[[], None]
    label: str


@dataclass
class Peek:
    """Like ``Do``, but also while the screen is busy (to see what staff see while they wait)."""

    action: Callable[[], None]
    label: str


@dataclass
class Until:
    ready: Callable[[], bool]
    label: str


@dataclass
class Tap:
    """Touch down on the widget ``find`` returns (once it exists and no transition runs), up next frame."""

    find: Callable[[], Any]
    label: str
    hold: bool = False  # press only: a Release() ends it


@dataclass
class Release:
    label: str = "release"


@dataclass
class Frames:
    count: int
    label: str


@dataclass
class Shot:
    name: str


Step = Do | Peek | Until | Tap | Release | Frames | Shot


class Fingers:
    """Finds widgets on the screen showing and touches them."""

    def __init__(self, app: Any) -> None:
        self.app = app

    @property
    def screen(self) -> Any:
        return self.app.sm.current_screen

    def showing(self, name: str) -> bool:
        sm = self.app.sm
        return bool(sm is not None and sm.current == name and not sm.transition.is_active)

    def tagged(self, tag: str) -> Any:
        for w in self.screen.walk(restrict=True):
            if getattr(w, "tag", None) == tag and w.get_root_window() is not None and not w.disabled:
                return w if self.visible(w) else None
        return None

    @staticmethod
    def visible(w: Any) -> bool:
        """A finger can only touch what is on screen: not scrolled out of a ScrollView."""
        from kivy.uix.scrollview import ScrollView

        x, y = w.to_window(*w.center)
        parent = w.parent
        while parent is not None and parent is not parent.parent:
            if isinstance(parent, ScrollView):
                px, py = parent.to_window(parent.x, parent.y)
                if not (px <= x <= px + parent.width and py <= y <= py + parent.height):
                    return False
            parent = parent.parent
        return True

    def tags(self, prefix: str) -> list[str]:
        return [
            w.tag
            for w in self.screen.walk(restrict=True)
            if isinstance(getattr(w, "tag", None), str) and w.tag.startswith(prefix)
        ]


def pin_keys(f: Fingers, pin: str) -> Iterator[Step]:
    for digit in pin:
        yield Tap(lambda d=digit: f.tagged(d), f"key {digit}")
    yield Tap(lambda: f.tagged("ok"), "ok")


def corner_xy(f: Fingers) -> tuple[float, float]:
    attract = f.app.sm.get_screen("attract")
    return attract.x + 20, attract.top - 20


def open_pad(f: Fingers, clock: list[float]) -> Iterator[Step]:
    """Hold the hidden corner 2 s on the injected clock: the PIN pad opens."""
    yield Until(lambda: f.showing("attract"), "attract")
    yield Tap(lambda: corner_xy(f), "corner", hold=True)
    yield Do(lambda: clock.__setitem__(0, clock[0] + 2.0), "2 s pass")
    yield Until(lambda: f.showing("pin"), "pin pad")
    yield Release()


def sign_in(f: Fingers, clock: list[float], pin: str) -> Iterator[Step]:
    yield from open_pad(f, clock)
    yield from pin_keys(f, pin)
    yield Until(lambda: f.showing("maint"), "menu")


def menus(f: Fingers, c: FakeController, obs: dict[str, Any], clock: list[float]) -> Iterator[Step]:
    # a short tap in the corner is still a customer
    yield Until(lambda: f.showing("attract"), "attract")
    yield Tap(lambda: corner_xy(f), "corner tap")
    yield Until(lambda: c.state.phase is Phase.CART, "a sale started")
    yield Do(lambda: obs.__setitem__("short_tap_phase", c.state.phase.value), "note")
    yield Tap(lambda: _cancel_button(f), "cancel sale")
    yield Until(lambda: f.showing("attract"), "attract again")
    # 1.9 s on the clock is not long enough; 2.0 s is
    yield Tap(lambda: corner_xy(f), "corner", hold=True)
    yield Do(lambda: clock.__setitem__(0, clock[0] + 1.9), "1.9 s pass")
    yield Frames(QUIET_FRAMES, "frames at 1.9 s")
    yield Do(lambda: obs.__setitem__("screen_at_1_9_s", f.app.sm.current), "note")
    yield Do(lambda: clock.__setitem__(0, clock[0] + 0.1), "0.1 s more")
    yield Until(lambda: f.showing("pin"), "pin pad")
    yield Release()
    yield Do(lambda: obs.__setitem__("phase_after_long_press", c.state.phase.value), "note")
    # too short for any PIN HQ issues: said at once, and no attempt counted
    yield from pin_keys(f, "1234")
    yield Until(lambda: bool(f.screen.message), "a message")
    yield Do(lambda: obs.__setitem__("short_pin", [f.screen.message, c._failures]), "note")
    yield Tap(lambda: f.tagged("clear"), "clear")
    # a wrong PIN: the pad says so and stays
    yield from pin_keys(f, "999999")
    yield Until(lambda: bool(f.screen.message), "a message")
    yield Do(lambda: obs.__setitem__("wrong_pin_message", f.screen.message), "note")
    yield Do(lambda: obs.__setitem__("wrong_pin_screen", f.app.sm.current), "note")
    yield Shot("pin_wrong")
    yield Tap(lambda: f.tagged("cancel"), "cancel")
    yield Until(lambda: f.showing("attract"), "attract")
    for pin, role in (("111111", "cashier"), ("222222", "manager"), ("333333", "it")):
        yield from sign_in(f, clock, pin)
        yield Do(lambda r=role: obs.__setitem__(f"menu_{r}", f.tags("action:")), "note")
        yield Do(lambda r=role: obs.__setitem__(f"staff_{r}", f.screen.staff_line), "note")
        yield Shot(f"menu_{role}")
        yield Tap(lambda: f.tagged("lock"), "lock")
        yield Until(lambda: f.showing("attract"), "attract")
        yield Do(lambda r=role: obs.__setitem__(f"session_after_lock_{r}", c.maintenance_session()), "note")


def _cancel_button(f: Fingers) -> Any:
    from kiosk.ui.widgets import DangerButton

    for w in f.screen.walk(restrict=True):
        if isinstance(w, DangerButton) and w.get_root_window() is not None:
            return w
    return None


def lockout(f: Fingers, c: FakeController, obs: dict[str, Any], clock: list[float]) -> Iterator[Step]:
    yield from open_pad(f, clock)
    messages: list[str] = []
    obs["messages"] = messages
    for i in range(10):
        yield Until(lambda: c.maint_now >= c._wait_until, f"no wait before try {i + 1}")
        yield from pin_keys(f, "999999")
        yield Until(lambda n=i + 1: c._failures == n, f"try {i + 1} counted")
        yield Do(lambda: messages.append(f.screen.message), "note")
        if i == 4:
            yield Shot("pin_wait")
        # the back-off's wait passes on the lock's clock
        yield Do(lambda: c.advance_maint_clock(10.0), "the wait passes")
    yield Shot("pin_locked")
    yield from pin_keys(f, "222222")  # the right PIN, too late
    yield Frames(QUIET_FRAMES, "frames")
    yield Do(lambda: obs.__setitem__("right_pin_after_lockout", f.screen.message), "note")
    yield Do(lambda: obs.__setitem__("screen_after_lockout", f.app.sm.current), "note")
    yield Do(lambda: obs.__setitem__("session_after_lockout", c.maintenance_session()), "note")


def work(f: Fingers, c: FakeController, obs: dict[str, Any], clock: list[float]) -> Iterator[Step]:
    order = next(iter(c.orders))
    # the PIN is checked off the UI thread: the pad says so, and the screen keeps drawing meanwhile
    yield from open_pad(f, clock)
    yield Do(lambda: setattr(c, "work_gate", threading.Event()), "hold the check")
    yield from pin_keys(f, "222222")
    yield Frames(QUIET_FRAMES, "frames while the PIN is checked")
    yield Peek(lambda: obs.__setitem__("pin_while_checking", [f.screen.busy, f.screen.message]), "note")
    yield Peek(lambda: obs.__setitem__("pin_checked_on", list(c.work_threads)), "note")
    yield Peek(lambda: c.work_gate.set() if c.work_gate else None, "the check ends")
    yield Until(lambda: f.showing("maint"), "menu")
    yield Do(lambda: setattr(c, "work_gate", None), "no more holding")
    # a refund of ¥3.50 of the first order: pick it, type 3.5, press twice
    yield Tap(lambda: f.tagged("action:refund"), "refund")
    yield Tap(lambda: f.tagged(f"item:{order}"), "the order")
    for key in "3.5":
        yield Tap(lambda k=key: f.tagged(f"amt:{k}"), f"amount {key}")
    yield Tap(lambda: f.tagged("confirm"), "refund (arm)")
    yield Do(lambda: obs.__setitem__("refunds_after_first_press", list(c.refunds)), "note")
    yield Do(lambda: obs.__setitem__("refund_confirm_message", f.screen.message), "note")
    yield Shot("refund_confirm")
    yield Tap(lambda: f.tagged("confirm"), "refund (confirm)")
    yield Until(lambda: bool(c.refunds), "refund done")
    yield Do(lambda: obs.__setitem__("refunds", list(c.refunds)), "note")
    yield Do(lambda: obs.__setitem__("refund_message", f.screen.message), "note")
    # today's sales and a reprint
    yield Tap(lambda: f.tagged("action:todays_sales"), "today's sales")
    yield Do(lambda: obs.__setitem__("sales_items", f.tags("item:")), "note")
    yield Tap(lambda: f.tagged(f"item:{order}"), "the order")
    yield Tap(lambda: f.tagged("confirm"), "reprint")
    yield Until(lambda: ("receipt", order) in c.printed, "reprinted")
    # the Z-report: close the shift (two presses), the report prints and shows
    yield Tap(lambda: f.tagged("action:close_shift"), "close shift")
    yield Tap(lambda: f.tagged("confirm"), "close shift (arm)")
    yield Do(lambda: obs.__setitem__("printed_after_first_press", list(c.printed)), "note")
    yield Tap(lambda: f.tagged("confirm"), "close shift (confirm)")
    yield Until(lambda: any(kind == "z_report" for kind, _ in c.printed), "z-report printed")
    yield Do(lambda: obs.__setitem__("z_report_message", f.screen.message), "note")
    yield Do(lambda: obs.__setitem__("printed", list(c.printed)), "note")
    yield Shot("z_report")
    # tasks with a one-tap action, and the paper guide text
    yield Tap(lambda: f.tagged("tasks"), "tasks")
    yield Do(lambda: obs.__setitem__("task_items", f.tags("item:")), "note")
    yield Tap(lambda: f.tagged("item:paper-low"), "paper task")
    yield Until(lambda: any(call[0] == "paper_guide" for call in c.maint_calls), "paper guide run")
    # touches keep the session alive; none for the idle time locks it and the attract screen returns
    yield Do(lambda: c.advance_maint_clock(100.0), "100 s")
    yield Tap(lambda: f.tagged("tasks"), "a touch")
    yield Do(lambda: c.advance_maint_clock(100.0), "another 100 s")
    yield Frames(QUIET_FRAMES * 3, "frames")
    yield Do(lambda: obs.__setitem__("screen_after_touch_and_200_s", f.app.sm.current), "note")
    yield Do(lambda: c.advance_maint_clock(30.0), "idle time passes")
    yield Until(lambda: f.showing("attract"), "auto-locked back to attract")
    yield Do(lambda: obs.__setitem__("session_after_idle", c.maintenance_session()), "note")
    # a payment in flight: the right PIN is refused, the cart stays
    yield Do(lambda: c.dispatch(StartTapped()), "a customer starts")
    yield Do(lambda: c.dispatch(ProductTapped(c.catalog()[0])), "adds an item")
    yield Until(lambda: f.showing("cart"), "cart")
    yield Do(lambda: setattr(c, "payment_forced_in_flight", True), "a charge is outstanding")
    yield Do(lambda: f.app.open_pin("menu"), "a badge or key would open the pad here")
    yield Until(lambda: f.showing("pin"), "pin pad")
    yield from pin_keys(f, "222222")
    yield Until(lambda: bool(f.screen.message), "refused")
    yield Do(lambda: obs.__setitem__("in_flight_message", f.screen.message), "note")
    yield Do(lambda: obs.__setitem__("in_flight_session", c.maintenance_session()), "note")
    yield Tap(lambda: f.tagged("cancel"), "cancel")
    yield Until(lambda: f.showing("cart"), "back to the cart")
    yield Do(lambda: obs.__setitem__("cart_after_refusal", c.state.cart.item_count), "note")
    yield Do(lambda: setattr(c, "payment_forced_in_flight", False), "settled")
    # the help screen's "resolved" goes through the PIN pad, then resolves (printer not ready: cart kept)
    yield Do(lambda: setattr(c, "printer_ready", False), "printer out of paper")
    yield Do(lambda: c.dispatch(PayTapped(printer_ready=False)), "pay")
    yield Until(lambda: f.showing("help"), "help")
    yield Tap(lambda: _resolve_button(f), "resolved")
    yield Until(lambda: f.showing("pin"), "pin pad for help")
    yield Do(lambda: obs.__setitem__("phase_on_help_pin", c.state.phase.value), "note")
    yield from pin_keys(f, "111111")
    yield Until(lambda: f.showing("cart"), "back to the cart")
    yield Do(
        lambda: obs.__setitem__("after_help_resolved", [c.state.phase.value, c.state.cart.item_count]), "note"
    )
    yield Do(lambda: obs.__setitem__("session_after_help", c.maintenance_session()), "note")


def catalog(f: Fingers, c: FakeController, obs: dict[str, Any], clock: list[float]) -> Iterator[Step]:
    """A manager sells cola at ¥2.80 (typed on the price keypad, pressed twice) and marks the crisps
    out of stock (found by typing part of the item code), then the customer's catalog shows both."""
    yield from sign_in(f, clock, "222222")
    yield Tap(lambda: f.tagged("action:override_price"), "override price")
    yield Until(lambda: f.tagged("item:category:drinks") is not None, "categories listed")
    yield Do(lambda: obs.__setitem__("categories", f.tags("item:")), "note")
    yield Tap(lambda: f.tagged("item:category:drinks"), "drinks")
    yield Until(lambda: f.tagged("item:COLA330") is not None, "drinks listed")
    yield Tap(lambda: f.tagged("item:COLA330"), "cola")
    yield Until(lambda: _shown(f, c, "COLA330"), "cola shown")
    for key in "2.8":
        yield Tap(lambda k=key: f.tagged(f"price:{k}"), f"price {key}")
    yield Tap(lambda: f.tagged("cat.set_price"), "set price (arm)")
    yield Do(lambda: obs.__setitem__("overrides_after_first_press", dict(c.price_overrides)), "note")
    yield Do(lambda: obs.__setitem__("price_confirm_message", f.screen.message), "note")
    yield Shot("price_confirm")
    yield Tap(lambda: f.tagged("cat.set_price"), "set price (confirm)")
    yield Until(lambda: bool(c.price_overrides), "price set")
    yield Until(lambda: "now sells" in f.screen.message, "answer shown")
    yield Do(lambda: obs.__setitem__("overrides", dict(c.price_overrides)), "note")
    yield Do(lambda: obs.__setitem__("price_message", f.screen.message), "note")
    # out of stock: type part of the item code, search, pick, press twice
    yield Tap(lambda: f.tagged("action:out_of_stock"), "out of stock")
    for key in "CHI":
        yield Tap(lambda k=key: f.tagged(f"q:{k}"), f"search {key}")
    yield Tap(lambda: f.tagged("cat.search"), "search")
    yield Until(lambda: f.tagged("item:CHIPS") is not None, "found")
    yield Do(lambda: obs.__setitem__("found", f.tags("item:")), "note")
    yield Tap(lambda: f.tagged("item:CHIPS"), "chips")
    yield Until(lambda: _shown(f, c, "CHIPS"), "chips shown")
    yield Tap(lambda: f.tagged("cat.mark_out"), "mark out (arm)")
    yield Do(lambda: obs.__setitem__("out_after_first_press", sorted(c.out_of_stock)), "note")
    yield Tap(lambda: f.tagged("cat.mark_out"), "mark out (confirm)")
    yield Until(lambda: bool(c.out_of_stock), "marked")
    yield Until(lambda: "out of stock" in f.screen.message, "answer shown")
    yield Do(lambda: obs.__setitem__("out_of_stock", sorted(c.out_of_stock)), "note")
    yield Shot("out_of_stock")
    yield Tap(lambda: f.tagged("lock"), "lock")
    yield Until(lambda: f.showing("attract"), "attract")
    # the customer's catalog: cola at the new price, the crisps sold out and not addable
    yield Do(lambda: c.dispatch(StartTapped()), "a customer starts")
    yield Until(lambda: f.showing("cart"), "cart")
    yield Do(lambda: c.dispatch(ProductTapped(next(p for p in c.catalog() if p.sku == "CHIPS"))), "tap chips")
    yield Do(
        lambda: obs.__setitem__("after_sold_out_tap", [c.state.notice.value, c.state.cart.item_count]), "note"
    )
    yield Do(lambda: obs.__setitem__("tiles", _tiles(f)), "note")
    yield Shot("sold_out_tile")


def _shown(f: Fingers, c: FakeController, sku: str) -> bool:
    """The panel asked for ``sku`` and has its answer."""
    return not f.screen.busy and bool(c.maint_calls) and c.maint_calls[-1][1] == {"sku": sku}


def _tiles(f: Fingers) -> dict[str, list[Any]]:
    return {
        row["sku"]: [row["price_text"], row["sold_out"]]
        for row in f.app.vm.product_tiles
        if row["sku"] in ("COLA330", "CHIPS")
    }


def _resolve_button(f: Fingers) -> Any:
    from kiosk.ui.widgets import KButton

    for w in f.screen.walk(restrict=True):
        if (
            isinstance(w, KButton)
            and w.get_root_window() is not None
            and w.text in ("已处理，恢复服务", "Resolved, back to service")
        ):
            return w
    return None


class Runner:
    def __init__(self, app: Any, script: Iterator[Step], out: Path, timeout_s: float) -> None:
        self.app, self.script, self.out = app, script, out
        self.step_limit_s = timeout_s
        self.deadline = time.monotonic() + timeout_s
        self.step: Step | None = None
        self.failure = ""
        self.shots: list[str] = []
        self.touch: Any = None
        self.frames = 0
        self.ready_since: float | None = None
        self.done_steps: list[str] = []
        #: polls spent waiting for a busy screen (a call off the UI thread)
        self.busy_polls = 0

    def start(self, *_a: Any) -> None:
        from kivy.clock import Clock

        Clock.schedule_interval(self.poll, POLL_S)

    def finish(self, failure: str = "") -> None:
        self.failure = failure
        self.app.stop()

    def poll(self, _dt: float) -> bool | None:
        if self.failure or time.monotonic() > self.deadline:
            if not self.failure:
                self.finish(f"time limit while at {self.step} (no progress for {self.step_limit_s:.0f} s)")
            return False
        try:
            return self._poll()
        except Exception as exc:
            import traceback

            traceback.print_exc()
            self.finish(f"{self.step} failed: {exc!r}")
            return False

    def _poll(self) -> bool | None:
        from kivy.tests.common import UnitTestTouch

        if self.step is None:
            try:
                self.step = next(self.script)
            except StopIteration:
                self.finish()
                return False
            self.frames, self.ready_since = 0, None
            self.deadline = time.monotonic() + self.step_limit_s
        step = self.step
        waits = isinstance(step, Do | Until) or (isinstance(step, Tap) and self.touch is None)
        if waits and getattr(self.app.sm.current_screen, "busy", False):
            # a maintenance call is out (off the UI thread): a finger waits for its answer, as staff do
            self.busy_polls += 1
            return None
        match step:
            case Do(action=action) | Peek(action=action):
                action()
                self.step = None
            case Until(ready=ready):
                if ready():
                    self.step = None
            case Frames(count=count):
                self.frames += 1
                if self.frames >= count:
                    self.step = None
            case Release():
                if self.touch is not None:
                    self.touch.touch_up()
                    self.touch = None
                self.step = None
            case Tap(find=find, hold=hold):
                if self.touch is not None and not hold:
                    self.touch.touch_up()
                    self.touch = None
                    self.step = None
                    return None
                sm = self.app.sm
                if sm.transition.is_active:
                    return None
                target = find()
                if target is None:
                    return None
                x, y = target if isinstance(target, tuple) else target.to_window(*target.center)
                self.touch = UnitTestTouch(x, y)
                self.touch.touch_down()
                if hold:
                    self.step = None
            case Shot(name=name):
                sm = self.app.sm
                if sm.transition.is_active:
                    self.ready_since = None
                elif self.ready_since is None:
                    self.ready_since = time.monotonic()
                elif time.monotonic() - self.ready_since >= SETTLE_S:
                    self.app.screenshot(self.out / f"{name}.png")
                    self.shots.append(name)
                    self.step = None
        if self.step is None:
            self.done_steps.append(str(step)[:60])
        return None


def run_script(
    app: Any,
    out: Path,
    timeout_s: float,
    script: Callable[[Fingers], Iterator[Step]],
    *,
    clock: list[float] | None = None,
    report: Callable[[], dict[str, Any]] = dict,
) -> int:
    """Run ``app`` with ``script`` driving it once the app has started, then print the one JSON line
    the test reads: the failure (if any), the screenshots taken, the steps done and ``report()``.

    ``clock``, when given, is the attract screen's injected clock (the hidden corner's long press).
    Exit status 3 when the script failed.
    """
    runner = Runner(app, iter(()), out, timeout_s)

    def begin(*_a: Any) -> None:
        if clock is not None:
            app.sm.get_screen("attract").clock = lambda: clock[0]
        runner.script = script(Fingers(app))
        runner.start()

    app.bind(on_start=begin)
    out.mkdir(parents=True, exist_ok=True)
    app.run()
    print(
        json.dumps(
            {"failure": runner.failure, "shots": runner.shots, "steps": len(runner.done_steps), **report()},
            ensure_ascii=False,
            default=repr,
        )
    )
    return 3 if runner.failure else 0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--script", choices=("menus", "lockout", "work", "catalog"), required=True)
    parser.add_argument("--timeout", type=float, default=SCRIPT_LIMIT_S)
    args = parser.parse_args()
    ui = UiSection(fullscreen=False, width=1024, height=600)
    configure_kivy(ui, fullscreen=False)
    from kiosk.ui.app import KioskApp

    controller = FakeController(answer_delay_s=0.05)
    app = KioskApp(
        controller, ui, fullscreen=False, kiosk_settings=KioskSection(store_name="便利店 Corner Shop")
    )
    obs: dict[str, Any] = {}
    clock = [1000.0]
    script = {"menus": menus, "lockout": lockout, "work": work, "catalog": catalog}[args.script]
    return run_script(
        app,
        args.out,
        args.timeout,
        lambda f: script(f, controller, obs, clock),
        clock=clock,
        report=lambda: {"obs": obs},
    )


if __name__ == "__main__":
    sys.exit(main())
