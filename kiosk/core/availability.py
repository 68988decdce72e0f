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
from dataclasses import dataclass

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


def out_of_service(facts: SellingFacts) -> OutOfService | None:
    """The reason the kiosk cannot sell, most fundamental first; None when it can.

    The order matters only for what staff read first: every reason stops selling alike.
    """
    if facts.not_enrolled:
        return OutOfService.NOT_ENROLLED
    if not facts.payments_enabled:
        return OutOfService.PAYMENT_NOT_CONFIGURED
    if facts.store_fault:
        return OutOfService.STORE_NOT_WRITABLE
    if facts.update_held_s is not None and facts.update_held_s >= UPDATE_HOLD_LONG_S:
        return OutOfService.UPDATE_HELD
    return None


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
