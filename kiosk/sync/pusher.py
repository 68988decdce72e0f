"""Moving events to HQ and the catalog back: ``OutboxPusher`` and ``CatalogPuller`` each do one pass,
``SyncWorker`` repeats them (and queues heartbeats) on a thread.

The outbox goes oldest first, up to ``batch_size`` events a request (docs/sync-protocol.md §3).
HQ answers each event: stored or duplicate (it holds it: sent), or rejected (it never will, as it
is: the event is parked with HQ's reason, logged, audited and counted, and the events behind it go
on). A request that fails as a whole (HQ down, 5xx, 401, 429) says nothing about any event: the
same events go again, after a backoff of the LINK, not of each event:
``min(cap, base * 2**failures)`` plus up to 10 % jitter, base 0.5 s, cap 5 s while HQ cannot be
reached and 60 s after it answered 5xx or 429 (its ``Retry-After`` honoured). So a kiosk whose HQ
was down for an hour is back within about five seconds of HQ, with its whole queue, and a fleet
does not come back in lockstep. (Until protocol v1 each event carried its own backoff, doubling up
to 300 s: after an outage the queue came back tens of seconds after HQ did.)

Nothing here raises on an HQ failure: the kiosk keeps selling and the report says what happened.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from kiosk.core.availability import hq_offline_after
from kiosk.ports import CatalogSink, HqClient, HqError, Outbox, OutboxItem, OutEvent
from kiosk.sync.pictures import HqPictures

log = logging.getLogger(__name__)

#: a pass stops after this many batches, so a huge backlog cannot keep one pass (and stop()) waiting
MAX_BATCHES_PER_PASS = 100
#: the jitter is up to this fraction of the delay, added to it
JITTER_FRACTION = 0.1
BASE_BACKOFF_S = 0.5
#: the longest wait while HQ cannot be reached (refused connection, timeout)
UNREACHABLE_CAP_S = 5.0
#: the longest wait after HQ answered with a failure (5xx, 429, 401) unless its Retry-After says more
ANSWERED_CAP_S = 60.0
#: 2**failures stops growing here; the cap applies long before, this only keeps the float finite
_MAX_EXPONENT = 32


def iso_utc(dt: datetime) -> str:
    """A naive-UTC store time as the protocol writes it (``2026-12-02T08:00:00Z``)."""
    aware = dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
    return aware.isoformat().replace("+00:00", "Z")


class LinkBackoff:
    """When the next request to HQ may go, after how many whole-request failures in a row.

    ``clock`` is monotonic seconds, injected so a test runs an hour-long outage in no time.
    """

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        base_s: float = BASE_BACKOFF_S,
        unreachable_cap_s: float = UNREACHABLE_CAP_S,
        answered_cap_s: float = ANSWERED_CAP_S,
    ) -> None:
        if not 0 < base_s <= unreachable_cap_s <= answered_cap_s:
            raise ValueError(
                f"need 0 < base_s <= unreachable_cap_s <= answered_cap_s, got {base_s}, "
                f"{unreachable_cap_s}, {answered_cap_s}"
            )
        self._clock = clock
        self._rng = rng or random.Random()  # noqa: S311 (jitter, not a secret)
        self.base_s = base_s
        self.unreachable_cap_s = unreachable_cap_s
        self.answered_cap_s = answered_cap_s
        self.failures = 0
        self._next_at = float("-inf")

    def delay_s(self, failures: int, unreachable: bool, retry_after_s: float | None = None) -> float:
        """The wait after failure number ``failures`` (1 for the first) in a row."""
        cap = self.unreachable_cap_s if unreachable else self.answered_cap_s
        delay = min(cap, self.base_s * 2.0 ** min(max(failures - 1, 0), _MAX_EXPONENT))
        delay += self._rng.uniform(0.0, JITTER_FRACTION * delay)
        if retry_after_s is not None and retry_after_s > delay:
            delay = retry_after_s
        return delay

    def failed(self, error: HqError) -> float:
        self.failures += 1
        delay = self.delay_s(self.failures, error.unreachable, error.retry_after_s)
        self._next_at = self._clock() + delay
        return delay

    def succeeded(self) -> None:
        self.failures = 0
        self._next_at = float("-inf")

    def wait_s(self) -> float:
        """Seconds until a request may go (0 when it may go now)."""
        return max(0.0, self._next_at - self._clock())

    def ready(self) -> bool:
        return self.wait_s() <= 0.0


@dataclass(frozen=True, slots=True)
class PushReport:
    pushed: int
    parked: int
    pending: int
    error: str = ""
    #: True when the pass sent nothing because the link is backing off
    waited: bool = False
    #: True when HQ could not be reached at all
    unreachable: bool = False
    #: HQ's reason when it refused this kiosk's signature (``HqError.refusal``), e.g. "revoked"
    refusal: str = ""


class OutboxPusher:
    """One pass over the outbox: send pending events in order, mark what HQ holds, park what it rejects."""

    def __init__(
        self,
        outbox: Outbox,
        client: HqClient,
        batch_size: int = 500,
        backoff: LinkBackoff | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.outbox = outbox
        self.client = client
        self.batch_size = batch_size
        self.backoff = backoff or LinkBackoff()

    def _push_batch(self, items: list[OutboxItem]) -> tuple[int, int]:
        """(pushed, parked) for one batch; HqError when the request failed as a whole."""
        events = [OutEvent(i.key, i.kind, iso_utc(i.created_at), i.payload) for i in items]
        results = {r.key: r for r in self.client.push_events(events)}
        sent: list[int] = []
        parked = 0
        unanswered: list[int] = []
        for item in items:
            result = results.get(item.key)
            if result is None:
                unanswered.append(item.id)
            elif result.status in ("stored", "duplicate"):
                sent.append(item.id)
            else:
                reason = "; ".join(result.problems) or "HQ gave no reason"
                log.error("HQ rejected %s event %s for good; parked: %s", item.kind, item.key, reason[:500])
                self.outbox.park(item.id, f"rejected by HQ: {reason}"[:2000])
                parked += 1
        self.outbox.mark_sent(sent)
        if unanswered:
            log.warning("HQ did not answer about %d event(s); they go again", len(unanswered))
            self.outbox.mark_failed(unanswered, "HQ did not answer about this event")
        return len(sent), parked

    def push_once(self, *, ignore_backoff: bool = False) -> PushReport:
        """Send what is pending, unless the link is backing off (``ignore_backoff`` for ``kiosk sync
        --once``). Stops at a request that fails as a whole, at a batch that made no progress, and
        after ``MAX_BATCHES_PER_PASS`` batches. Outbox (store) errors propagate."""
        if not ignore_backoff and not self.backoff.ready():
            return PushReport(0, 0, self.outbox.pending_count(), waited=True)
        pushed = parked = 0
        error = refusal = ""
        unreachable = False
        for _ in range(MAX_BATCHES_PER_PASS):
            items = self.outbox.due(self.batch_size)
            if not items:
                break
            try:
                ok, bad = self._push_batch(items)
            except HqError as exc:
                error, unreachable, refusal = str(exc), exc.unreachable, exc.refusal
                self._failed(items, exc)
                break
            except Exception as exc:  # a bug in a client must not stop sync or lose events
                log.exception("HQ client failed unexpectedly")
                error = f"{type(exc).__name__}: {exc}"
                self._failed(items, HqError(error))
                break
            self.backoff.succeeded()
            pushed, parked = pushed + ok, parked + bad
            if ok + bad == 0:
                error = "HQ answered without a result for the events sent"
                self.backoff.failed(HqError(error))
                break
        pending = self.outbox.pending_count()
        if pushed or parked or error:
            log.info(
                "sync: %d pushed, %d parked, %d pending%s",
                pushed,
                parked,
                pending,
                f" ({error})" if error else "",
            )
        return PushReport(pushed, parked, pending, error, unreachable=unreachable, refusal=refusal)

    def _failed(self, items: list[OutboxItem], exc: HqError) -> None:
        self.outbox.mark_failed([i.id for i in items], str(exc))
        delay = self.backoff.failed(exc)
        log.warning("HQ request failed (%s); next try in %.1f s", exc, delay)


@dataclass(frozen=True, slots=True)
class PullReport:
    pulled: int
    version: int
    error: str = ""
    unreachable: bool = False
    #: HQ's reason when it refused this kiosk's signature (``HqError.refusal``), e.g. "revoked"
    refusal: str = ""


class CatalogPuller:
    """One catalog pull: ask for what changed since the version held, apply it in one transaction."""

    def __init__(
        self,
        sink: CatalogSink,
        client: HqClient,
        on_applied: Callable[[], None] | None = None,
        pictures: HqPictures | None = None,
    ) -> None:
        self.sink = sink
        self.client = client
        self.on_applied = on_applied
        #: HQ's product pictures, brought in step after every pull HQ answered (kiosk.sync.pictures)
        self.pictures = pictures

    def pull_once(self) -> PullReport:
        report = self._pull()
        if self.pictures is not None and not report.unreachable and not report.refusal:
            try:
                self.pictures.sync_once()
            except Exception:  # a picture never costs the catalog: the tiles keep their initials
                log.exception("product pictures not brought in step with HQ")
        return report

    def _pull(self) -> PullReport:
        since = self.sink.catalog_version()
        if self.pictures is not None and since > 0 and self._pictures_unknown():
            log.info("asking HQ for the whole catalog once, to learn its product pictures")
            since = 0
        try:
            update = self.client.fetch_catalog(since)
        except HqError as exc:
            log.warning("catalog not refreshed, selling from version %d: %s", since, exc)
            return PullReport(0, since, str(exc), exc.unreachable, exc.refusal)
        if update is None:
            return PullReport(0, since)
        try:
            count = self.sink.apply_catalog(update)
        except Exception as exc:  # a full disk, a delta that does not fit: the old catalog still sells
            log.exception("catalog version %d not applied, selling from version %d", update.version, since)
            return PullReport(0, since, f"{type(exc).__name__}: {exc}")
        log.info(
            "catalog %s applied: version %d -> %d, %d product(s)", update.kind, since, update.version, count
        )
        if self.pictures is not None:
            try:
                self.pictures.take(update)
            except Exception:
                log.exception("catalog applied, but its product pictures could not be noted")
        if self.on_applied is not None:
            try:
                self.on_applied()
            except Exception:
                log.exception("catalog applied, but the screen did not take it")
        return PullReport(count, update.version)

    def _pictures_unknown(self) -> bool:
        assert self.pictures is not None
        try:
            return self.pictures.needs_snapshot
        except Exception:
            log.exception("product pictures' manifest could not be read")
            return False


def link_answer(push: PushReport, pull: PullReport | None) -> tuple[bool, bool]:
    """(unreachable, answered) for one pass: did a request get no answer at all, did HQ answer one.

    The input of ``kiosk.core.availability.hq_offline_after`` (the customer's "offline" line). A pass
    that only waited out the backoff and pulled nothing says neither.
    """
    unreachable = push.unreachable or (pull is not None and pull.unreachable)
    push_answered = not push.waited and (
        push.pushed > 0 or push.parked > 0 or (bool(push.error) and not push.unreachable)
    )
    pull_answered = pull is not None and not pull.unreachable
    return unreachable, push_answered or pull_answered


class Pushes(Protocol):
    def push_once(self, *, ignore_backoff: bool = False) -> PushReport: ...

    @property
    def backoff(self) -> LinkBackoff: ...


class Pulls(Protocol):
    def pull_once(self) -> PullReport: ...


class Beats(Protocol):
    def beat(self) -> None: ...


class SyncWorker:
    """Runs a sync pass on its own thread from ``start()`` until ``stop()``: push the outbox (as the
    link's backoff allows), pull the catalog every ``interval_s``, queue a heartbeat every
    ``heartbeat_s``.

    It sleeps until the next of: the interval, the link's backoff ending (so a queue goes within
    seconds of HQ coming back), the next heartbeat. ``wake()`` runs a pass now (after a sale). A pass
    that raises (the store is locked, a bug) is logged and reported; the thread lives on.
    """

    def __init__(
        self,
        pusher: Pushes,
        interval_s: float,
        name: str = "hq-sync",
        puller: Pulls | None = None,
        heartbeats: Beats | None = None,
        heartbeat_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        on_link: Callable[[bool], None] | None = None,
    ) -> None:
        if interval_s <= 0 or heartbeat_s <= 0:
            raise ValueError(f"interval_s and heartbeat_s must be > 0, got {interval_s} and {heartbeat_s}")
        self._pusher = pusher
        self._puller = puller
        self._heartbeats = heartbeats
        self.interval_s = interval_s
        self.heartbeat_s = heartbeat_s
        self._clock = clock
        self._name = name
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._last: PushReport | None = None
        self._last_pull: PullReport | None = None
        self._passes = 0
        self._next_pull = float("-inf")
        self._next_beat = float("-inf")
        self._thread: threading.Thread | None = None
        #: told ``True`` when HQ turns unreachable and ``False`` when it answers again (on this thread)
        self._on_link = on_link
        self._offline = False

    @property
    def offline(self) -> bool:
        """HQ did not answer the last pass that reached for it (``hq_offline_after``)."""
        with self._lock:
            return self._offline

    @property
    def last_report(self) -> PushReport | None:
        with self._lock:
            return self._last

    @property
    def last_pull(self) -> PullReport | None:
        with self._lock:
            return self._last_pull

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

    def run_pass(self) -> float:
        """One pass (heartbeat if due, push, pull if due); the seconds until the next is due."""
        now = self._clock()
        if self._heartbeats is not None and now >= self._next_beat:
            self._next_beat = now + self.heartbeat_s
            try:
                self._heartbeats.beat()
            except Exception:
                log.exception("heartbeat not queued")
        try:
            report = self._pusher.push_once()
        except Exception as exc:
            log.exception("sync pass failed")
            report = PushReport(0, 0, -1, f"{type(exc).__name__}: {exc}")
        pull = None
        if self._puller is not None and now >= self._next_pull and not report.unreachable:
            self._next_pull = now + self.interval_s
            try:
                pull = self._puller.pull_once()
            except Exception as exc:
                log.exception("catalog pull failed")
                pull = PullReport(0, -1, f"{type(exc).__name__}: {exc}")
        unreachable, answered = link_answer(report, pull)
        with self._lock:
            self._last = report
            if pull is not None:
                self._last_pull = pull
            was_offline = self._offline
            self._offline = hq_offline_after(was_offline, unreachable=unreachable, answered=answered)
            offline = self._offline
            self._passes += 1
        if offline != was_offline and self._on_link is not None:
            try:
                self._on_link(offline)
            except Exception:
                log.exception("the link state was not passed on")
        waits = [self.interval_s]
        backoff = self._pusher.backoff
        if backoff.failures:
            waits.append(backoff.wait_s())
        if self._heartbeats is not None:
            waits.append(self._next_beat - self._clock())
        return max(0.0, min(waits))

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            wait = self.run_pass()
            self._wake.wait(wait)
