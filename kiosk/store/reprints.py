"""The persistent reprint queue: receipts that did not print, kept across restarts until they have.

Every change is one transaction. The state an attempt is in is committed *before* the bytes go to
the printer (``start_attempt``), so a crash or power cut in the middle of a reprint leaves the job
"printing", and ``recover_interrupted`` turns that into "held": the printer may have printed it,
and a receipt is never printed twice without a person deciding to (docs/adr/0006-*).

Each job names its order by the id the receipt was printed for (``enqueue(order_id, ...)``); the
queue never reads it out of the stored receipt.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime

import peewee as pw

from kiosk.store.models import Order, ReprintJob, utcnow


class ReprintState(enum.StrEnum):
    """pending -> printing -> printed; held (staff decide) -> pending or dropped."""

    PENDING = "pending"
    PRINTING = "printing"
    PRINTED = "printed"
    HELD = "held"
    DROPPED = "dropped"


PENDING = ReprintState.PENDING
PRINTING = ReprintState.PRINTING
PRINTED = ReprintState.PRINTED
HELD = ReprintState.HELD
DROPPED = ReprintState.DROPPED
STATES = tuple(ReprintState)
ORDER_ID_MAX = 36  # a UUID in its text form; the column's size


def check_order_id(order_id: str) -> str:
    """``order_id`` if the queue can keep it (1..36 characters, no spaces); ValueError otherwise."""
    if not order_id or len(order_id) > ORDER_ID_MAX or not order_id.isprintable() or " " in order_id:
        raise ValueError(
            f"a receipt's order id must be 1..{ORDER_ID_MAX} printable characters without spaces, got {order_id!r}"
        )
    return order_id


class ReprintError(RuntimeError):
    """A queue operation that does not fit the job's state (or an unknown job)."""


@dataclass(frozen=True, slots=True)
class ReprintItem:
    id: int
    order_id: str
    layout_json: str
    state: ReprintState
    attempts: int
    reason: str
    created_at: datetime


def _item(job: ReprintJob) -> ReprintItem:
    return ReprintItem(
        int(job.id),
        str(job.order_id),
        str(job.layout),
        ReprintState(job.state),
        int(job.attempts),
        str(job.reason),
        job.created_at.replace(tzinfo=UTC),
    )


class ReprintStore:
    """The reprint queue's table (``reprint_job``, migration 2)."""

    def __init__(self, db: pw.Database) -> None:
        self.db = db

    def enqueue(self, order_id: str, layout_json: str, *, held: bool, reason: str) -> int:
        """Queue the receipt of ``order_id``; ``held`` when staff must decide (it may have printed).

        ValueError for an order id that does not fit (``check_order_id``); nothing is stored then.
        """
        check_order_id(order_id)
        with self.db.atomic():
            job = ReprintJob.create(
                order_id=order_id,
                layout=layout_json,
                state=HELD if held else PENDING,
                reason=reason[:255],
            )
        return int(job.id)

    def next_pending(self) -> ReprintItem | None:
        job = ReprintJob.select().where(ReprintJob.state == PENDING).order_by(ReprintJob.id).first()
        return None if job is None else _item(job)

    def start_attempt(self, job_id: int) -> None:
        """Commit "printing" before the bytes go out; only a pending job can start."""
        with self.db.atomic():
            changed = (
                ReprintJob.update(state=PRINTING, attempts=ReprintJob.attempts + 1, updated_at=utcnow())
                .where((ReprintJob.id == job_id) & (ReprintJob.state == PENDING))
                .execute()
            )
        if changed != 1:
            raise ReprintError(f"reprint job {job_id} is not pending")

    def finish(self, job_id: int) -> None:
        """The reprint came out: the job is done and the order's receipt counts as printed."""
        with self.db.atomic():
            job = ReprintJob.get_or_none(ReprintJob.id == job_id)
            if job is None:
                raise ReprintError(f"no reprint job {job_id}")
            job.state, job.updated_at = PRINTED, utcnow()
            job.save()
            Order.update(receipt_printed=True).where(Order.id == job.order_id).execute()

    def fail(self, job_id: int, *, may_have_printed: bool, reason: str) -> None:
        """An attempt failed: back to pending, or held when the printer may have printed it."""
        with self.db.atomic():
            ReprintJob.update(
                state=HELD if may_have_printed else PENDING, reason=reason[:255], updated_at=utcnow()
            ).where(ReprintJob.id == job_id).execute()

    def release(self, job_id: int) -> None:
        """Staff checked the printer's output: print the held receipt (again)."""
        self._move(job_id, (HELD,), PENDING)

    def drop(self, job_id: int) -> None:
        """Staff handed the customer a receipt some other way: forget the job (it stays for audit)."""
        self._move(job_id, (HELD, PENDING), DROPPED)

    def _move(self, job_id: int, allowed: tuple[str, ...], to: str) -> None:
        with self.db.atomic():
            changed = (
                ReprintJob.update(state=to, updated_at=utcnow())
                .where((ReprintJob.id == job_id) & (ReprintJob.state.in_(allowed)))
                .execute()
            )
        if changed != 1:
            raise ReprintError(f"reprint job {job_id} does not exist or is not {' or '.join(allowed)}")

    def recover_interrupted(self) -> int:
        """At start-up: an attempt cut off by a crash may have printed, so it is held for staff."""
        with self.db.atomic():
            return int(
                ReprintJob.update(
                    state=HELD,
                    reason="the kiosk stopped while this receipt was printing",
                    updated_at=utcnow(),
                )
                .where(ReprintJob.state == PRINTING)
                .execute()
            )

    def jobs(self, states: tuple[str, ...] = (PENDING, PRINTING, HELD)) -> list[ReprintItem]:
        query = ReprintJob.select().where(ReprintJob.state.in_(states)).order_by(ReprintJob.id)
        return [_item(job) for job in query]

    def counts(self) -> dict[str, int]:
        rows = (
            ReprintJob.select(ReprintJob.state, pw.fn.COUNT(ReprintJob.id))
            .group_by(ReprintJob.state)
            .tuples()
        )
        found: dict[str, int] = {}
        for state, n in self.db.execute(rows):
            found[str(state)] = int(n)
        return {state: found.get(state, 0) for state in STATES}
