"""Named places in the sale where a crash test can kill the kiosk, switched on only from the environment.

A power cut can land anywhere, but the places that matter for money are few: before and after the order
is committed, around the pay call, before "paid" is committed, before the receipt, and inside the
start-up recovery (its query, the wait before a reverse, the reverse itself). The crash test arms one of
them with ``KIOSK_CRASH_AT=name`` (or ``name@N`` for the N-th time it is reached), so each place is hit
on purpose, on any machine, however busy, instead of by a lucky timer.

Disarmed (every production kiosk), :func:`reached` is one dictionary lookup on an empty dict. Nothing
is read at import: :func:`arm_from_environment` is called by the wiring (``kiosk.bootstrap``).
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Mapping

ENV_VAR = "KIOSK_CRASH_AT"
#: where to write "crashpoint NAME" just before the kill: a file descriptor number (default 2, stderr)
ENV_REPORT_FD = "KIOSK_CRASH_REPORT_FD"

#: every crash point, in the order a sale reaches them
POINTS = (
    "order_before_commit",  # the order and its lines are written, the transaction not yet committed
    "order_committed",  # the order is committed, nothing else happened yet
    "pay_before_call",  # "submitted" and the out_trade_no are committed, the pay request not yet sent
    "pay_answered",  # the gateway has answered the pay request (it may have charged); nothing read yet
    "paid_before_commit",  # the gateway said paid; "paid" not yet committed
    "receipt_before_print",  # the sale is paid and committed; the receipt not yet sent to the printer
    "recovery_query",  # start-up recovery is about to ask the gateway about an unfinished payment
    "reverse_wait",  # waiting for the channel's reverse window (WeChat Pay: 15 s after the pay call)
    "reverse_answered",  # the gateway has answered a reverse (cancel) request; nothing read yet
)

_armed: dict[str, int] = {}
_report_fd = 2


def arm(spec: str, report_fd: int = 2) -> None:
    """Arm ``name`` or ``name@N`` (comma-separated); ValueError for a name that is not a crash point."""
    global _report_fd
    _armed.clear()
    _report_fd = report_fd
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, _, count = part.partition("@")
        if name not in POINTS:
            raise ValueError(f"{ENV_VAR}: {name!r} is not a crash point; choose from {', '.join(POINTS)}")
        if count and not (count.isdigit() and int(count) >= 1):
            raise ValueError(f"{ENV_VAR}: {part!r}: the count after @ must be a whole number from 1")
        _armed[name] = int(count or 1)


def arm_from_environment(environ: Mapping[str, str]) -> None:
    """Arm what ``KIOSK_CRASH_AT`` names, if anything; called once by the wiring."""
    spec = environ.get(ENV_VAR, "")
    if spec:
        fd = environ.get(ENV_REPORT_FD, "2")
        arm(spec, int(fd) if fd.isdigit() else 2)


def disarm() -> None:
    _armed.clear()


def reached(name: str) -> None:
    """Kill this process with SIGKILL here if ``name`` is armed (and this is its N-th time)."""
    if not _armed:
        return
    left = _armed.get(name)
    if left is None:
        return
    if left > 1:
        _armed[name] = left - 1
        return
    with contextlib.suppress(OSError):
        os.write(_report_fd, f"crashpoint {name}\n".encode())
    os.kill(os.getpid(), signal.SIGKILL)
