"""Moving the outbox to HQ: ``OutboxPusher`` does one pass, ``SyncWorker`` repeats it on a thread.

Sales go to ``push_sales``, refunds to ``push_refunds`` (a batch's sales first, so a refund follows
its sale). An item leaves the outbox only when HQ has confirmed its order id (a sale) or refund
number. Anything else (HQ down, key refused, a record HQ would not take, a refund of a sale HQ does
not hold yet) counts an attempt and holds the item back for
``base * 2**attempts`` seconds (capped, with a little jitter so a fleet that lost HQ together does not
come back in lockstep). Nothing here raises on an HQ failure: the kiosk keeps selling and the report
says what happened.
"""

from __future__ import annotations

import logging
import random
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from kiosk.ports import HqClient, HqError, Outbox, OutboxItem
from kiosk.sync.hq_client import canonical_order_id

log = logging.getLogger(__name__)

SALE_KIND = "sale"
REFUND_KIND = "refund"
#: a pass stops after this many batches, so a huge backlog cannot keep one pass (and stop()) waiting
MAX_BATCHES_PER_PASS = 100
#: the jitter is up to this fraction of the delay
JITTER_FRACTION = 0.1
#: 2**attempts stops growing here; the cap applies long before, this only keeps the float finite
_MAX_EXPONENT = 32


@dataclass(frozen=True, slots=True)
class PushReport:
    sent: int
    failed: int
    pending: int
    error: str = ""


class OutboxPusher:
    """One pass over the due outbox items: upload sales and refunds in batches, mark what HQ confirmed."""

    def __init__(
        self,
        outbox: Outbox,
        client: HqClient,
        batch_size: int = 500,
        base_backoff_s: float = 2.0,
        max_backoff_s: float = 300.0,
        rng: random.Random | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if not 0 < base_backoff_s <= max_backoff_s:
            raise ValueError(
                f"need 0 < base_backoff_s <= max_backoff_s, got {base_backoff_s} and {max_backoff_s}"
            )
        self.outbox = outbox
        self.client = client
        self.batch_size = batch_size
        self.base_backoff_s = base_backoff_s
        self.max_backoff_s = max_backoff_s
        self._rng = rng or random.Random()  # noqa: S311 (jitter, not a secret)

    def backoff_s(self, attempts: int) -> float:
        """Seconds to hold an item back after its attempt number ``attempts`` (0 for the first) failed."""
        delay = self.base_backoff_s * 2.0 ** min(max(attempts, 0), _MAX_EXPONENT)
        delay *= 1.0 + self._rng.uniform(0.0, JITTER_FRACTION)
        return min(delay, self.max_backoff_s)

    def _fail(self, items: Sequence[OutboxItem], error: str) -> None:
        """Mark items failed, one call per attempt count so each gets its own backoff."""
        by_attempts: dict[int, list[int]] = defaultdict(list)
        for item in items:
            by_attempts[item.attempts].append(item.id)
        for attempts, ids in sorted(by_attempts.items()):
            self.outbox.mark_failed(ids, error, self.backoff_s(attempts))

    def _push_batch(self, items: list[OutboxItem]) -> tuple[int, int, str]:
        """(sent, failed, error) for one batch of due items: its sales first, then its refunds, so a
        refund travels after the sale it refers to (HQ refuses a refund of a sale it does not hold)."""
        sales: list[tuple[OutboxItem, str]] = []
        refunds: list[tuple[OutboxItem, str]] = []
        unusable: list[OutboxItem] = []
        for item in items:
            order_id = canonical_order_id(item.payload.get("order_id"))
            refund_no = item.payload.get("out_refund_no")
            if item.kind == SALE_KIND and order_id is not None:
                sales.append((item, order_id))
            elif (
                item.kind == REFUND_KIND and order_id is not None and isinstance(refund_no, str) and refund_no
            ):
                refunds.append((item, refund_no))
            else:
                unusable.append(item)
        if unusable:
            # held back, not dropped: staff can see them, and a later release may know what to do
            log.error(
                "outbox items %s cannot go to HQ: not sales or refunds with a UUID order_id",
                [i.id for i in unusable],
            )
            self.outbox.mark_failed(
                [i.id for i in unusable], "not a sale or refund with a UUID order_id", self.max_backoff_s
            )
        sent, failed = 0, len(unusable)
        error = ""
        for kind, records, push in (
            (SALE_KIND, sales, self.client.push_sales),
            (REFUND_KIND, refunds, self.client.push_refunds),
        ):
            if not records:
                continue
            ok, bad, batch_error, down = self._push_kind(kind, records, push)
            sent, failed, error = sent + ok, failed + bad, batch_error or error
            if down:
                # HQ is down or broke as a whole: the rest of this batch waits too, with backoff
                rest = [item for item, _ in refunds] if kind == SALE_KIND else []
                if rest:
                    self._fail(rest, batch_error)
                    failed += len(rest)
                break
        return sent, failed, error

    def _push_kind(
        self,
        kind: str,
        records: list[tuple[OutboxItem, str]],
        push: Callable[[Sequence[dict[str, Any]]], list[str]],
    ) -> tuple[int, int, str, bool]:
        """(sent, failed, error, hq_down) for the records of one kind, keyed as HQ answers them."""
        try:
            confirmed = set(push([item.payload for item, _ in records]))
        except HqError as exc:
            self._fail([item for item, _ in records], str(exc))
            return 0, len(records), str(exc), True
        except Exception as exc:  # a bug in a client must not stop sync or lose items
            log.exception("HQ client failed unexpectedly")
            error = f"{type(exc).__name__}: {exc}"
            self._fail([item for item, _ in records], error)
            return 0, len(records), error, True
        sent = [item for item, key in records if key in confirmed]
        refused = [item for item, key in records if key not in confirmed]
        if sent:
            self.outbox.mark_sent([item.id for item in sent])
        error = ""
        if refused:
            error = f"HQ did not confirm {len(refused)} {kind}(s); see the sync log for why"
            self._fail(refused, f"HQ did not confirm this {kind}; see the sync log")
        return len(sent), len(refused), error, False

    def push_once(self) -> PushReport:
        """Upload what is due now. Stops at the first batch HQ fails as a whole (it is down, no point
        hammering it) and after ``MAX_BATCHES_PER_PASS`` batches. Outbox errors propagate."""
        sent_total = failed_total = 0
        error = ""
        for _ in range(MAX_BATCHES_PER_PASS):
            items = self.outbox.due(self.batch_size)
            if not items:
                break
            sent, failed, batch_error = self._push_batch(items)
            sent_total += sent
            failed_total += failed
            error = batch_error or error
            if sent == 0:
                break
        pending = self.outbox.pending_count()
        if sent_total or failed_total:
            log.info(
                "sync: %d sent, %d failed, %d pending%s",
                sent_total,
                failed_total,
                pending,
                f" ({error})" if error else "",
            )
        return PushReport(sent=sent_total, failed=failed_total, pending=pending, error=error)


class Pushes(Protocol):
    def push_once(self) -> PushReport: ...


class SyncWorker:
    """Runs ``push_once`` every ``interval_s`` on its own thread, from ``start()`` until ``stop()``.

    ``wake()`` runs a pass now (after a sale, so HQ hears of it in seconds rather than at the next
    tick). A pass that raises (the store is locked, a bug) is logged and reported; the thread lives on.
    """

    def __init__(self, pusher: Pushes, interval_s: float, name: str = "hq-sync") -> None:
        if interval_s <= 0:
            raise ValueError(f"interval_s must be > 0, got {interval_s}")
        self._pusher = pusher
        self.interval_s = interval_s
        self._name = name
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._last: PushReport | None = None
        self._passes = 0
        self._thread: threading.Thread | None = None

    @property
    def last_report(self) -> PushReport | None:
        with self._lock:
            return self._last

    @property
    def passes(self) -> int:
        """How many passes have finished, so a caller can wait for the next one."""
        with self._lock:
            return self._passes

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("this SyncWorker was already started; make a new one")
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Ask the thread to finish its pass and end; wait up to ``timeout_s`` for it."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                log.warning(
                    "sync thread still busy after %.0f s; it ends after its current upload", timeout_s
                )

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                report = self._pusher.push_once()
            except Exception as exc:
                log.exception("sync pass failed")
                report = PushReport(sent=0, failed=0, pending=-1, error=f"{type(exc).__name__}: {exc}")
            with self._lock:
                self._last = report
                self._passes += 1
            self._wake.wait(self.interval_s)
