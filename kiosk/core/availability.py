"""Whether the kiosk may sell at all, and whether HQ counts as offline: pure decisions, no I/O.

A kiosk that cannot complete a sale must say so before a customer builds a cart, not at the pay
button: the attract screen turns into "out of service, please use another checkout", with a reason
code in small print for staff. The reasons are only those the kiosk can actually tell (see
``docs/ui.md``); each clears by itself when the fact behind it changes, and the kiosk sells again.

HQ being unreachable is not a reason to stop: payments go to the gateway, not to HQ, and sales wait
in the outbox. The customer only sees a calm "offline" line, decided by :func:`hq_offline_after`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime

from kiosk.core.checkout import Phase

#: how long the update agent may hold an idle kiosk (it restarts it within moments, normally)
#: before the hold counts as out of service rather than "updating, back in a moment"
UPDATE_HOLD_LONG_S = 300.0


class OutOfService(enum.StrEnum):
    """Why the kiosk cannot sell; ``kiosk.i18n`` holds staff's short explanation of each."""

    #: ``kiosk run`` on a kiosk with no HQ credentials: the enrolment screen shows instead of selling
    NOT_ENROLLED = "not_enrolled"
    #: ``payments.gateway = "none"``: no payment can be taken until the kiosk is commissioned
    PAYMENT_NOT_CONFIGURED = "payment_not_configured"
    #: the store refused a write (disk full): a sale could not be recorded
    STORE_NOT_WRITABLE = "store_not_writable"
    #: the update agent has held the kiosk for longer than an update takes
    UPDATE_HELD = "update_held"
    #: the clock has not been set by network time yet (or reads earlier than this release was
    #: made): the gateways reject signatures with a wrong timestamp, so no payment is tried
    CLOCK_NOT_SYNCED = "clock_not_synced"
    #: the printer has not been ready for ``printer_gone_s`` and no e-receipt can stand in for paper
    PRINTER_GONE = "printer_gone"
    #: no configured payment channel answered for a while (:class:`GatewayReach`)
    GATEWAY_UNREACHABLE = "gateway_unreachable"


@dataclass(frozen=True, slots=True)
class SellingFacts:
    """What the controller knows right now about the parts a sale needs."""

    payments_enabled: bool = True
    #: the kiosk waits to be enrolled at HQ (``kiosk.enrolment_desk``): the installer's screen shows
    not_enrolled: bool = False
    #: the store's fault message ("" while it takes writes)
    store_fault: str = ""
    #: seconds the update agent has held the kiosk (None: not held)
    update_held_s: float | None = None
    #: the clock can be trusted for a gateway signature (:func:`clock_trusted`)
    clock_trusted: bool = True
    #: seconds the printer has been not ready without a break (None: ready, or not known yet)
    printer_down_s: float | None = None
    #: how long a printer may stay not ready before it counts as gone (0: never)
    printer_gone_s: float = 0.0
    #: an e-receipt from HQ can stand in for paper (``CheckoutController.e_receipt_possible``)
    e_receipt: bool = False
    #: the gateway counts as unreachable (:func:`gateway_unreachable`)
    gateway_unreachable: bool = False


def out_of_service(facts: SellingFacts) -> OutOfService | None:
    """The reason the kiosk cannot sell, most fundamental first; None when it can.

    The order matters only for what staff read first: every reason stops selling alike. A printer
    that is gone stops selling only when no e-receipt can stand in for it: with one, Pay already
    offers the e-receipt (``PrinterOfferAnswered``) and the customer leaves with a QR instead of paper.
    Without one, every customer would build a cart only to be refused at Pay (``PRINTER_NOT_READY``),
    which is why "not ready" for long (offline, no paper, cover open), not only "offline", counts.
    """
    if facts.not_enrolled:
        return OutOfService.NOT_ENROLLED
    if not facts.payments_enabled:
        return OutOfService.PAYMENT_NOT_CONFIGURED
    if facts.store_fault:
        return OutOfService.STORE_NOT_WRITABLE
    if not facts.clock_trusted:
        return OutOfService.CLOCK_NOT_SYNCED
    if facts.update_held_s is not None and facts.update_held_s >= UPDATE_HOLD_LONG_S:
        return OutOfService.UPDATE_HELD
    if facts.gateway_unreachable:
        return OutOfService.GATEWAY_UNREACHABLE
    down = facts.printer_down_s
    if facts.printer_gone_s > 0 and down is not None and down >= facts.printer_gone_s and not facts.e_receipt:
        return OutOfService.PRINTER_GONE
    return None


def turns_away(reason: OutOfService | None, phase: Phase) -> bool:
    """Whether ``reason`` stops what happens in ``phase``: only a new customer is ever turned away.

    Out of service is decided on every tick, so it can arrive in the middle of a sale; a customer
    already shopping, paying, waiting for the password on their phone, or whose payment's outcome is
    still unknown (``PAYING``, ``NEEDS_HELP``, ``RECOVERING``) finishes on the screens they are on.
    Cutting a charge short would leave money taken and no sale, or a customer paying twice; so the
    attract screen is the one place a reason takes effect.
    """
    return reason is not None and phase is Phase.ATTRACT


def clock_trusted(*, synced: bool, now_utc: datetime, floor_utc: datetime) -> bool:
    """Whether the wall clock is right enough to sign a gateway request.

    A Raspberry Pi has no real-time clock: until network time answers it runs from wherever the
    last shutdown (or 1970) left it, and the gateways refuse a request whose timestamp is off
    (Alipay's ``timestamp``), TUF metadata looks expired or not yet valid, and sales are dated
    wrongly. ``synced`` is the clock-sync probe's answer (systemd-timesyncd's flag file, or True
    where the settings do not ask for it). A clock earlier than ``floor_utc`` (when this release
    was made) is wrong whatever the probe says: nothing built then can be running before it.
    """
    return synced and now_utc >= floor_utc


# --- gateway reachability ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GatewayReachRules:
    """When failed reachability probes add up to "unreachable".

    Both must hold: ``failures`` probes in a row failed, and the first of them was at least
    ``span_s`` ago. One lost packet, a Wi-Fi roam or a gateway's few-second hiccup fails one probe
    and is forgotten at the next success; only a gateway that stays away for the span turns the
    next customer away.
    """

    failures: int = 3
    span_s: float = 60.0

    def __post_init__(self) -> None:
        if self.failures < 1:
            raise ValueError(f"failures must be at least 1, got {self.failures}")
        if self.span_s < 0:
            raise ValueError(f"span_s must not be negative, got {self.span_s}")


@dataclass(frozen=True, slots=True)
class GatewayReach:
    """What the probes said lately: failures in a row and when the first of them was (monotonic s).

    Only probes count, never a customer's charge. A probe is a request of its own (an HTTP HEAD to
    each configured channel's address, nothing signed, nothing charged) made off the UI thread and
    off the payment worker, so it never waits behind a charge nor delays one; and the decision it
    feeds (:func:`out_of_service`) only turns away the next customer (:func:`turns_away`), so a
    charge in flight or a payment whose outcome is still being checked always runs to its end by the
    channel's own rules. A charge's network errors are left to the charge's state machine (query,
    then reverse): counting them too would let one slow customer's payment declare the kiosk down.
    """

    failures: int = 0
    first_failure_at: float | None = None


def gateway_probed(reach: GatewayReach, *, ok: bool, now: float) -> GatewayReach:
    """The record after one probe: a success clears it at once, a failure adds to the run."""
    if ok:
        return GatewayReach()
    first = reach.first_failure_at if reach.first_failure_at is not None else now
    return replace(reach, failures=reach.failures + 1, first_failure_at=first)


def gateway_unreachable(reach: GatewayReach, rules: GatewayReachRules, now: float) -> bool:
    """Whether the failures in a row are enough, and have lasted long enough, to stop selling."""
    if reach.first_failure_at is None or reach.failures < rules.failures:
        return False
    return now - reach.first_failure_at >= rules.span_s


def hq_offline_after(previous: bool, *, unreachable: bool, answered: bool) -> bool:
    """Whether HQ counts as offline after one sync pass.

    ``unreachable``: a request in the pass never got an answer (refused connection, timeout).
    ``answered``: HQ answered a request in the pass (even with an error: it is there). A pass that
    did neither (the link backing off, nothing to send) tells nothing, so the last answer stands.
    An answer wins over an unreachable request in the same pass: HQ is back.
    """
    if answered:
        return False
    if unreachable:
        return True
    return previous
