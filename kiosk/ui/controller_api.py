"""What the touch UI may ask of the checkout controller, and nothing more.

``kiosk.controller.CheckoutController`` satisfies this protocol; so does the test's
``FakeController``. Typing the UI against the protocol keeps the screens from reaching into the
store, the drivers or the controller's internals.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar, runtime_checkable

from kiosk.core.cart import Product
from kiosk.core.checkout import Checkout, Event
from kiosk.core.pricing import PricedCart
from kiosk.core.receipt import ReceiptLayout
from kiosk.maintenance.roles import Action, Role
from kiosk.ports import Frame

_R = TypeVar("_R")


class KioskController(Protocol):
    @property
    def state(self) -> Checkout: ...

    def subscribe(self, listener: Callable[[Checkout], None]) -> None:
        """``listener`` runs after every state change, on whichever thread made the change."""

    def dispatch(self, event: Event) -> None:
        """Call from the UI thread only."""

    def catalog(self) -> list[Product]: ...

    def product_image(self, sku: str) -> str:
        """The checked picture file of ``sku`` ("" when it has none, or it was refused): a look-up
        the UI thread may make; the image loader reads the file on its own thread."""

    @property
    def language(self) -> str: ...

    def set_language(self, language: str) -> None: ...

    def last_receipt_text(self) -> str: ...

    def last_receipt_layout(self) -> ReceiptLayout | None:
        """The receipt of the sale on screen as it printed (header, body, footer, QR): the done
        screen draws it as the paper shows it. None when it did not print."""

    def current_receipt_url(self) -> str:
        """The e-receipt URL of the sale on screen ("" when none): shown as a QR when it did not print."""

    def latest_frame(self) -> Frame | None:
        """The camera's newest BGR (or grey) uint8 frame, or None when there is none."""

    def sample_codes(self) -> list[str]:
        """Demo only: names of the sample payment codes; [] outside the demo."""

    def hold_up_sample(self, name: str) -> None: ...

    def tick(self, now: float) -> None: ...

    def priced_cart(self) -> PricedCart:
        """The cart on screen with the promotions that apply now (and the member's): its total is
        what the order will be opened with and charged."""

    def member_sign_in(self, *, phone: str = "", code: str = "") -> None:
        """Ask the member directory (off the UI thread); the answer arrives as ``MemberLookedUp``."""


# --- maintenance mode: what the staff screens may ask -------------------------------------------


@dataclass(frozen=True, slots=True)
class UnlockAnswer:
    """The answer to one PIN (or badge) attempt, in facts the screen words in the staff's language.

    ``ok``: a session is open (``name``, ``role``). Otherwise exactly one reason holds:
    ``refused_payment`` (a payment is in flight: try again when it is settled), ``locked_out``
    (too many wrong PINs: the kiosk is locked until IT clears it), ``wait_s > 0`` (back-off: try again
    in that many seconds), or a plain wrong PIN. ``message`` is the lock's own English detail for logs
    and support; the screens do not show it to staff as their only text.
    """

    ok: bool
    role: Role | None = None
    name: str = ""
    wait_s: float = 0.0
    locked_out: bool = False
    refused_payment: bool = False
    message: str = ""


@dataclass(frozen=True, slots=True)
class StaffView:
    """Who is signed in to maintenance mode: shown in the menu's header."""

    name: str
    role: Role


@dataclass(frozen=True, slots=True)
class ActionItem:
    """One row a staff action lists: an order (today's sales) or a task.

    ``key`` is what the row's button passes back (``order_id=key`` for orders, ``task_id=key`` for
    tasks); ``action`` is the one-tap action a task offers (None: the row is for reading or picking).
    ``verdict`` is a diagnostics row's "ok" / "warn" / "fail" (its colour); "" for other rows.
    """

    key: str
    label: str
    action: Action | None = None
    verdict: str = ""


@dataclass(frozen=True, slots=True)
class ActionAnswer:
    """What a staff action did: ``ok`` and a one-line ``message`` in the kiosk's language, a longer
    ``text`` to show in monospace (a Z-report, the paper guide), and ``items`` to list."""

    ok: bool
    message: str = ""
    text: str = ""
    items: tuple[ActionItem, ...] = ()


#: the arguments ``maintenance_run`` passes on: order ids, task ids, skus, searches (str), amounts
#: and prices (int fen; None: all of it / HQ's price) and flags (bool, an int)
ActionArg = str | int | None


@runtime_checkable
class MaintenanceControl(Protocol):
    """Maintenance mode as the screens see it: unlock, who is in, what they may do, doing it.

    The controller delegates to the maintenance lock (PIN, badge, key switch, back-off, lockout,
    auto-lock) and to the staff actions service. The screens call these methods only: the quick
    ones (session, menu, touch, lock) on the UI thread, and the ones that can wait
    (``maintenance_unlock_pin``, ``maintenance_run``, ``maintenance_tasks``) inside
    ``maintenance_submit``, which runs them off the UI thread. A kiosk whose controller lacks them
    shows no maintenance entry at all.

    ``maintenance_run`` arguments, per action (all keyword): ``reprint(order_id)``,
    ``todays_sales()`` (items: today's orders), ``paper_guide()`` (text), ``resolve_help()``,
    ``void_order(order_id)``, ``refund(order_id, amount_fen=None)`` (None: the whole order),
    ``resolve_payment(order_id)``, ``close_shift()`` (closes the shift, prints the Z-report, text:
    the report), and each task's one-tap action with ``task_id=item.key``.
    ``diagnostics(check="all")`` runs every check that needs nobody at the kiosk (items: one per
    check, ``key`` its name, ``verdict`` ok/warn/fail); ``check`` may also name one check
    ("printer", "camera", "gpio", "network", "hq", "gateway", "disk", "sd_card", "versions") or a
    button: "test_page", "gpio_led" (LED blinking / back), "gpio_buzzer" (one beep), "camera_on" /
    "camera_stats" / "camera_off" (the live camera view: while it is open the camera is on and the
    codes it reads go to the view, never to the checkout), "charge_start" (waits for one payment
    code at the camera), "charge_poll" (no items while waiting; the 1-fen charge and refund's
    outcome once a code came), "charge_cancel", and "leave" (staff left the panel: view closed, LED
    back). The view also closes when the session ends. ``camera_stats`` and ``charge_poll`` are polls
    and do not restart the inactivity timer (``kiosk.staff_diagnostics``).

    A manager's catalog actions, ``override_price`` and ``out_of_stock``, take the same arguments
    for finding a product: none (items: the categories, key ``category:<code>``),
    ``category=<code>`` or ``query=<part of a name, item code or barcode>`` (items: the products,
    key: the sku, label: name, price charged, HQ's price when overridden, out of stock; message:
    how many matched, at most 50 listed), ``sku=`` alone (text: where the product stands; items:
    its one row). To change: ``override_price(sku=, price_fen=<fen>)`` sells at that price here,
    ``price_fen=None`` goes back to HQ's price; ``out_of_stock(sku=, out=True)`` takes it off sale,
    ``out=False`` puts it back. A change answers like ``sku=`` alone, with a message saying what
    was done.
    An action the role may not do, or one the kiosk does not offer yet, answers ``ok=False`` with a
    message; it never raises for a staff mistake.
    """

    def payment_in_flight(self) -> bool:
        """True while a charge is outstanding: maintenance mode may not open then."""

    def maintenance_unlock_pin(self, pin: str) -> UnlockAnswer: ...

    def maintenance_session(self) -> StaffView | None:
        """The open session, or None (never opened, locked, or locked by inactivity)."""

    def maintenance_actions(self) -> list[Action]:
        """The signed-in role's actions (``roles.actions_for``); [] when locked."""

    def maintenance_run(self, action: Action, **args: ActionArg) -> ActionAnswer: ...

    def maintenance_tasks(self) -> list[ActionItem]:
        """What needs staff now (help calls, unsettled payments, paper low), each with its one-tap
        action; only actions the signed-in role may do; [] when locked."""

    def maintenance_touch(self) -> None:
        """Staff touched the screen: restart the inactivity timer."""

    def maintenance_submit(
        self,
        work: Callable[[], _R],
        done: Callable[[_R], None],
        failed: Callable[[Exception], None],
    ) -> None:
        """Run ``work`` off the UI thread, then ``done(result)`` (or ``failed(error)``) on it.

        Every maintenance call that can wait (a PIN's argon2 hash, a refund or payment query at the
        gateway, printing, HQ, USB, diagnostics) goes through here, so the screen keeps drawing and
        shows that it is busy. Works run one at a time, in the order submitted.
        """

    def maintenance_lock(self) -> None:
        """Close the session now (the lock button, or leaving the menu)."""
