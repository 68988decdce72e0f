"""The printing service: the checkout's printer, a persistent reprint queue, and a status watcher.

``PrintService`` wraps the configured printer and is what the controller gets as its
``ReceiptPrinter``. A receipt that fails is written to the reprint queue (kiosk/store/reprints.py)
before the error reaches the checkout, so the sale stays paid and the receipt is not lost even if
the kiosk restarts. A background thread asks the printer for its status every ``poll_s`` seconds;
once it is ready again, queued receipts print one by one, each marked as a reprint, so the kiosk is
back within ``poll_s`` plus one receipt of the fault clearing (10 s with the default 2 s).

Never twice: a receipt that *may* have printed (the printer went silent after the bytes left, the
kiosk stopped mid-attempt, or paper ran out within ``SETTLE_S`` of the receipt being sent, while the
printer may still have been printing it) is "held", and only staff release it
(``kiosk printer reprint``).

A receipt the driver could not print because of a bug in the kiosk's code (``FaultKind.INTERNAL``)
is held too: printing it again would only fail again.

The order a receipt belongs to is the ``order_id`` it is printed with, never read back from the
receipt's text or QR code.

The poll also keeps ``is_ready`` fast on the UI thread: a printer that did not answer the last poll
is reported not ready at once instead of costing another ``status_timeout_ms``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from kiosk.core.receipt import ReceiptLayout
from kiosk.ports import FaultKind, PrinterError, PrinterStatus, PrintFault, ReceiptPrinter
from kiosk.store.reprints import ReprintError, ReprintItem, ReprintStore, check_order_id

log = logging.getLogger(__name__)

REPRINT_MARK = "** 补打 REPRINT **"
DEFAULT_POLL_S = 2.0
#: A printer has received a receipt before it has printed it (a short receipt prints in 1-3 s at
#: 50-100 mm/s), so a fault seen this soon after a receipt was sent may have cut it short
SETTLE_S = 5.0
#: how long stop() (and so close()) waits for the printing thread
STOP_TIMEOUT_S = 5.0


def layout_to_json(layout: ReceiptLayout) -> str:
    return json.dumps(
        {
            "header": list(layout.header),
            "body": list(layout.body),
            "footer": list(layout.footer),
            "qr_payload": layout.qr_payload,
        },
        ensure_ascii=False,
    )


def layout_from_json(text: str) -> ReceiptLayout:
    """Parse a stored layout; a damaged row is a ValueError naming what is wrong."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"stored receipt is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError("stored receipt is not a JSON object")
    parts: dict[str, tuple[str, ...]] = {}
    for key in ("header", "body", "footer"):
        value = data.get(key)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"stored receipt: {key} must be a list of strings")
        parts[key] = tuple(value)
    qr = data.get("qr_payload", "")
    if not isinstance(qr, str):
        raise ValueError("stored receipt: qr_payload must be a string")
    return ReceiptLayout(parts["header"], parts["body"], parts["footer"], qr)


def marked_as_reprint(layout: ReceiptLayout) -> ReceiptLayout:
    """A reprint says so on its header, so two copies of one sale are told apart at a glance."""
    if REPRINT_MARK in layout.header:
        return layout
    return replace(layout, header=(*layout.header, REPRINT_MARK))


def held_for_staff(exc: PrinterError) -> bool:
    """Whether a failed receipt waits for staff instead of printing again by itself.

    It may have printed (never twice blindly), or the kiosk's own code failed (it would fail again);
    a plain PrinterError says neither, so it is held to be safe.
    """
    if isinstance(exc, PrintFault):
        return exc.may_have_printed or exc.kind is FaultKind.INTERNAL
    return True


class PrintService:
    """A ReceiptPrinter that queues what failed and reprints it when the printer is back."""

    def __init__(
        self,
        printer: ReceiptPrinter,
        queue: ReprintStore,
        *,
        alert: Callable[[str], None] | None = None,
        poll_s: float = DEFAULT_POLL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0.05 <= poll_s <= 60:
            raise ValueError(f"poll_s must be 0.05..60 s, got {poll_s}")
        self.printer = printer
        self.queue = queue
        self._alert = alert or (lambda reason: log.warning("staff needed: %s", reason))
        self._poll_s = poll_s
        self._clock = clock
        self._lock = threading.Lock()
        self._last: tuple[float, PrinterStatus] | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        #: called (on the printing thread) with the order id once a queued receipt has printed, so the
        #: checkout can leave "needs help" for that order without staff
        self.on_reprinted: Callable[[str], None] | None = None
        self._just_printed: tuple[float, str, ReceiptLayout] | None = None

    # --- ReceiptPrinter ---------------------------------------------------------------------------

    def is_ready(self) -> bool:
        """Ready now? A printer silent or faulty at the last poll answers False at once (UI thread)."""
        with self._lock:
            last = self._last
        if last is not None and self._clock() - last[0] <= 1.5 * self._poll_s and not last[1].ready:
            return False
        return self.status().ready

    def last_status(self) -> PrinterStatus | None:
        """The status the last check saw (the watch thread checks every few seconds), None before
        the first: for the heartbeat, which must not talk to the printer from the sync thread."""
        with self._lock:
            return None if self._last is None else self._last[1]

    def status(self) -> PrinterStatus:
        try:
            status = self.printer.status()
        except Exception as exc:  # a broken driver is "unknown", never a crashed kiosk
            log.exception("printer status check failed")
            status = PrinterStatus(online=None, paper="unknown", detail=f"status check failed: {exc}")
        with self._lock:
            now = self._clock()
            self._last = (now, status)
            suspect = None
            if self._just_printed is not None and (status.paper == "out" or status.cover_open is True):
                sent_at, order_id, layout = self._just_printed
                self._just_printed = None
                if now - sent_at <= SETTLE_S:
                    suspect = (order_id, layout)
        if suspect is not None:
            self._hold_suspect(*suspect, status)
        return status

    def _hold_suspect(self, order_id: str, layout: ReceiptLayout, status: PrinterStatus) -> None:
        """A fault right after a receipt left: it may be cut short. Held, so staff look (never reprinted blindly)."""
        reason = (
            f"printer reported {status.detail} within {SETTLE_S:.0f} s of this receipt; it may be incomplete"
        )
        job = self.queue.enqueue(order_id, layout_to_json(layout), held=True, reason=reason)
        log.warning("receipt for order %s held as reprint job %d: %s", order_id, job, reason)
        self._alert(f"receipt for order {order_id[:8].upper()} may be incomplete ({status.detail}); check it")

    def print_receipt(self, order_id: str, layout: ReceiptLayout) -> None:
        """Print, or queue the receipt persistently and raise PrinterError (the sale stays paid).

        ValueError, before anything is printed, for an ``order_id`` the queue could not keep.
        """
        check_order_id(order_id)
        try:
            self.printer.print_receipt(order_id, layout)
        except PrinterError as exc:
            self._queue_failed(order_id, layout, exc)
            raise
        with self._lock:
            self._just_printed = (self._clock(), order_id, layout)

    def close(self) -> None:
        self.stop()
        self.printer.close()

    # --- the queue --------------------------------------------------------------------------------

    def _queue_failed(self, order_id: str, layout: ReceiptLayout, exc: PrinterError) -> None:
        held = held_for_staff(exc)
        job = self.queue.enqueue(order_id, layout_to_json(layout), held=held, reason=str(exc))
        with self._lock:
            self._last = None  # the next is_ready asks the printer afresh
        what = "held for staff" if held else "will reprint when the printer is ready"
        log.warning("receipt for order %s queued as reprint job %d, %s: %s", order_id, job, what, exc)
        self._alert(f"receipt for order {order_id[:8].upper()} did not print ({exc}); {what}")
        self._wake.set()

    def reprint_due(self) -> int:
        """Print pending jobs while the printer is ready; return how many printed. Never raises."""
        printed = 0
        while not self._stop.is_set():
            job = self.queue.next_pending()
            if job is None or not self.status().ready:
                return printed
            if not self._reprint(job):
                return printed
            printed += 1
        return printed

    def _reprint(self, job: ReprintItem) -> bool:
        try:
            layout = marked_as_reprint(layout_from_json(job.layout_json))
        except ValueError as exc:
            log.error("reprint job %d cannot be read (%s); holding it for staff", job.id, exc)
            self.queue.fail(job.id, may_have_printed=True, reason=str(exc))
            return True
        try:
            self.queue.start_attempt(job.id)
        except ReprintError:  # taken by another worker or by staff in the meantime
            return True
        try:
            self.printer.print_receipt(job.order_id, layout)
        except PrinterError as exc:
            held = held_for_staff(exc)
            self.queue.fail(job.id, may_have_printed=held, reason=str(exc))
            if held:
                self._alert(f"reprint of order {job.order_id[:8].upper()} held for staff ({exc}); check it")
            log.warning("reprint job %d failed: %s", job.id, exc)
            return False
        self.queue.finish(job.id)
        with self._lock:
            self._just_printed = (self._clock(), job.order_id, layout)
        log.info("reprint job %d (order %s) printed", job.id, job.order_id)
        listener = self.on_reprinted
        if listener is not None and job.order_id:
            try:
                listener(job.order_id)
            except Exception:  # the receipt is out; a listener's bug must not stop the queue
                log.exception("on_reprinted listener failed")
        return True

    # --- the watcher thread -----------------------------------------------------------------------

    def start(self) -> None:
        """Hold interrupted attempts for staff, then watch the printer and reprint in the background."""
        if self._thread is not None:
            return
        held = self.queue.recover_interrupted()
        if held:
            self._alert(f"{held} receipt(s) were printing when the kiosk stopped; check and reprint them")
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="kiosk-printing", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        self._stop.set()
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout_s)
            if thread.is_alive():
                log.warning("printing thread did not stop within %.1f s", timeout_s)

    def poll_once(self) -> int:
        """One round of the watcher: ask the printer, then print what is due; return how many printed.

        The thread repeats it every ``poll_s``; tests call it to take one round at a known moment.
        """
        self.status()
        return self.reprint_due()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception:  # the store or the driver broke: keep watching, never die silently
                log.exception("printing service: poll failed")
            self._wake.wait(self._poll_s)
            self._wake.clear()

    def snapshot(self) -> dict[str, Any]:
        """What the maintenance screen and ``kiosk printer status`` show about the queue."""
        return {"queue": self.queue.counts()}
