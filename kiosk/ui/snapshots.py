"""A scripted customer walks through every screen while the real app runs, and each screen is saved as PNG.

Used by ``kiosk demo --headless`` (in a child process under Xvfb) and by the UI smoke test. The
script dispatches the same events a customer's touches would; nothing is drawn or faked for the
pictures. A script is a function of the controller that yields steps lazily, so a step can look
at what earlier steps did (the catalog, the samples) before it is chosen:

* ``Do(action)`` runs ``action`` on the UI thread;
* ``WaitFor(phase)`` waits until that phase's screen is showing;
* ``Shot(name, phase)`` waits like ``WaitFor``, lets the screen settle, and saves ``name.png``.

Each step is bounded by ``timeout_s`` from when it began (a stalled tour, not a slow machine, is what
it catches: a loaded Pi draws slowly but keeps moving); a tour that stalls stops the app and raises
``SnapshotTourIncomplete`` naming the step it was waiting for and the screens it never reached.
``tour.json`` in the output folder records the shots, the screens visited and the smallest
button height seen on each shot (touch targets must stay at least 60 px high).

Kivy can open one window per process: call this once per process.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk.core.checkout import (
    CancelTapped,
    Checkout,
    PayTapped,
    Phase,
    PrinterOfferAnswered,
    ProductTapped,
    RecoveryFinished,
    RecoveryStarted,
    StartTapped,
)
from kiosk.settings import KioskSection, UiSection
from kiosk.ui.controller_api import KioskController
from kiosk.ui.kivy_config import configure_kivy
from kiosk.ui.present import SCREENS, preferred_sample

if TYPE_CHECKING:
    from kiosk.ui.app import KioskApp

log = logging.getLogger(__name__)

#: the longest one step may wait for its screen
DEFAULT_TIMEOUT_S = 60.0
POLL_S = 0.05


@dataclass(frozen=True, slots=True)
class Do:
    action: Callable[[], None]
    label: str = ""


@dataclass(frozen=True, slots=True)
class WaitFor:
    #: None: any phase (``until`` decides)
    phase: Phase | None
    #: an extra condition on the state (e.g. an order opened), checked with the phase
    until: Callable[[Checkout], bool] | None = None
    #: the screen showing, when it is not the phase's own (out of service, the PIN pad, the staff menu)
    screen: str | None = None


@dataclass(frozen=True, slots=True)
class Shot:
    name: str
    phase: Phase
    settle_s: float = 0.5
    until: Callable[[Checkout], bool] | None = None
    #: the screen showing, when it is not the phase's own (out of service and the enrolment screen
    #: stand in for the attract screen; the PIN pad, the staff menu)
    screen: str | None = None


Step = Do | WaitFor | Shot
TourScript = Callable[[KioskController], Iterable[Step]]


class SnapshotTourIncomplete(RuntimeError):
    """The tour stopped before its script ended (time limit, or a step that raised)."""

    def __init__(self, reason: str, taken: list[Path], missing: list[str]) -> None:
        super().__init__(
            f"snapshot tour incomplete: {reason}; screens not captured: {', '.join(missing) or 'none'}"
        )
        self.reason = reason
        self.taken = taken
        self.missing = missing


def recovery_screen(controller: KioskController) -> Iterator[Step]:
    """The screen a restart shows while the last payment is checked (played, not a real recovery)."""
    yield Do(lambda: controller.dispatch(RecoveryStarted()), "restart: checking the last payment")
    yield Shot("recovering", Phase.RECOVERING, settle_s=0.4)
    yield Do(lambda: controller.dispatch(RecoveryFinished()), "nothing was left open")
    yield WaitFor(Phase.ATTRACT)


def pay(controller: KioskController) -> Iterator[Step]:
    """Tap pay as a customer does: the printer is asked first (on the controller's worker); when it is
    out and an e-receipt can stand in, the kiosk asks, and the customer goes on; then wait for the
    order, which is written on the worker too (a code shown before it exists is not charged)."""
    yield Do(lambda: controller.dispatch(PayTapped()), "tap pay")
    yield WaitFor(None, until=lambda s: s.printer_offer or s.phase is not Phase.CART)

    def take_e_receipt() -> None:
        if controller.state.printer_offer:
            controller.dispatch(PrinterOfferAnswered(go=True))

    yield Do(take_e_receipt, "pay and take the e-receipt if the printer is out")
    yield WaitFor(Phase.PAYING, until=lambda s: s.order_id is not None)


def customer_order(controller: KioskController) -> Iterator[Step]:
    """The kiosk starting (its recovery screen), then one order the way a customer places it: start,
    one item, pay, show a sample code (demo only)."""
    yield from recovery_screen(controller)
    yield Shot("attract", Phase.ATTRACT)
    yield Do(lambda: controller.dispatch(StartTapped()), "tap start")
    yield WaitFor(Phase.CART)
    catalog = controller.catalog()
    if catalog:
        first = catalog[0]
        yield Do(lambda: controller.dispatch(ProductTapped(first)), f"tap {first.sku}")
    yield Shot("cart", Phase.CART, until=lambda s: not s.cart.is_empty or not catalog)
    if not catalog:
        return
    yield from pay(controller)
    yield Shot("pay", Phase.PAYING, settle_s=1.0, until=lambda s: s.order_id is not None)
    sample = preferred_sample(controller.sample_codes())
    if sample is None:
        return
    yield Do(lambda: controller.hold_up_sample(sample), f"hold up {sample}")
    yield Shot("done", Phase.DONE, settle_s=0.8)


def default_tour(controller: KioskController) -> Iterator[Step]:
    """``customer_order``, then, when the demo has a code the gateway never answers, the help screen."""
    yield from customer_order(controller)
    unanswered = [n for n in controller.sample_codes() if "unknown" in n or "timeout" in n]
    catalog = controller.catalog()
    if not unanswered or not catalog:
        return
    first, sample = catalog[0], unanswered[0]
    yield Do(lambda: controller.dispatch(CancelTapped()), "finish")
    yield WaitFor(Phase.ATTRACT)
    yield Do(lambda: controller.dispatch(StartTapped()), "tap start")
    yield Do(lambda: controller.dispatch(ProductTapped(first)), f"tap {first.sku}")
    yield from pay(controller)
    yield Do(lambda: controller.hold_up_sample(sample), f"hold up {sample}")
    yield Shot("help", Phase.NEEDS_HELP, settle_s=0.6)


class _TourRunner:
    def __init__(self, app: KioskApp, steps: Iterator[Step], out_dir: Path, timeout_s: float) -> None:
        self.app = app
        self.steps = steps
        self.out_dir = out_dir
        self.step_limit_s = timeout_s
        self.deadline = time.monotonic() + timeout_s
        self.step: Step | None = None
        self.ready_since: float | None = None
        self.taken: list[Path] = []
        self.min_button_h: dict[str, float] = {}
        self.languages: dict[str, str] = {}
        self.failure = ""
        self._event: Any = None

    def start(self, *_args: Any) -> None:
        from kivy.clock import Clock

        self._event = Clock.schedule_interval(self._poll, POLL_S)

    def _finish(self, failure: str = "") -> None:
        self.failure = failure
        if failure:
            log.error("snapshot tour: %s", failure)
        if self._event is not None:
            self._event.cancel()
        self.app.stop()

    def _describe(self, step: Step) -> str:
        match step:
            case Shot(name=name, phase=phase):
                return f"screenshot {name} (phase {phase.value})"
            case WaitFor(phase=phase):
                return f"phase {phase.value}" if phase is not None else "the checkout's answer"
            case Do(label=label):
                return f"action {label or 'unnamed'}"

    def _showing(
        self, phase: Phase | None, until: Callable[[Checkout], bool] | None, screen: str | None = None
    ) -> bool:
        vm, sm = self.app.vm, self.app.sm
        if vm is None or sm is None:
            return False
        if phase is None:
            return until is None or until(self.app.controller.state)
        return (
            vm.phase == phase.value
            and sm.current == (screen or vm.screen)  # the phase's screen, or the one the tour names
            and not sm.transition.is_active
            and (until is None or until(self.app.controller.state))
        )

    def _poll(self, _dt: float) -> None:
        now = time.monotonic()
        if self.step is None:
            try:
                self.step = next(self.steps)
            except StopIteration:
                self._finish()
                return
            self.ready_since = None
            self.deadline = now + self.step_limit_s
        if now > self.deadline:
            self._finish(
                f"time limit reached while waiting for {self._describe(self.step)} "
                f"(no progress for {self.step_limit_s:.0f} s)"
            )
            return
        step = self.step
        try:
            match step:
                case Do(action=action):
                    action()
                    self.step = None
                case WaitFor(phase=phase, until=until, screen=screen):
                    if self._showing(phase, until, screen):
                        self.step = None
                case Shot(name=name, phase=phase, settle_s=settle, until=until, screen=screen):
                    if not self._showing(phase, until, screen):
                        self.ready_since = None
                    elif self.ready_since is None:
                        self.ready_since = now
                    elif now - self.ready_since >= settle:
                        self._shoot(name)
                        self.step = None
        except Exception as exc:
            log.exception("snapshot tour step failed")
            self._finish(f"{self._describe(step)} failed: {exc}")

    def _shoot(self, name: str) -> None:
        from kivy.uix.behaviors import ButtonBehavior

        path = self.app.screenshot(self.out_dir / f"{name}.png")
        self.taken.append(path)
        if self.app.vm is not None:
            self.languages[name] = self.app.vm.language
        sm = self.app.sm
        if sm is not None:
            heights = [
                w.height
                for w in sm.current_screen.walk(restrict=True)
                if isinstance(w, ButtonBehavior) and w.opacity > 0 and w.get_root_window() is not None
            ]
            if heights:
                self.min_button_h[name] = min(heights)
        log.info("snapshot tour: saved %s", path)


def run_snapshot_tour(
    controller: KioskController,
    ui_settings: UiSection,
    out_dir: Path,
    script: TourScript | None = None,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    kiosk_settings: KioskSection | None = None,
) -> list[Path]:
    """Run the app in a window, walk ``script`` (default: ``default_tour``), return the PNGs saved.

    Runs windowed at ``ui_settings`` width x height whatever ``ui_settings.fullscreen`` says, so
    the pictures have a known size. Blocks until the script ends or ``timeout_s`` passes; then
    writes ``out_dir/tour.json`` and, if the script did not end, raises ``SnapshotTourIncomplete``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    configure_kivy(ui_settings, fullscreen=False)
    from kiosk.ui.app import KioskApp

    app = KioskApp(controller, ui_settings, fullscreen=False, kiosk_settings=kiosk_settings)
    steps = iter((script or default_tour)(controller))
    runner = _TourRunner(app, steps, out_dir, timeout_s)
    app.bind(on_start=runner.start)
    app.run()
    shot_names = [p.stem for p in runner.taken]
    missing = [s for s in SCREENS if s not in app.screens_visited]
    manifest = {
        "complete": not runner.failure,
        "failure": runner.failure,
        "shots": shot_names,
        "screens_visited": app.screens_visited,
        "screens_not_visited": missing,
        "min_button_height_px": runner.min_button_h,
        "language_per_shot": runner.languages,
        "font": str(app.font_path or ""),
    }
    (out_dir / "tour.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    if runner.failure:
        raise SnapshotTourIncomplete(
            runner.failure, runner.taken, [s for s in SCREENS if s not in shot_names]
        )
    return runner.taken
