"""Staff's tasks that no other table keeps, in the kiosk's SQLite store (migration 7): the payments the
start-up recovery settled, and which of them staff dismissed.

Both used to live in memory only, so a restart lost the recovery's outcomes (a payment found paid
after a power cut was never shown to anyone) and brought dismissed tasks back. The recovery's
outcomes are written when it finishes (``record_recovery``), not when staff first open the list; a
task stays open until staff dismiss it, and a dismissed one stays dismissed. The ``TaskBook`` port of
``kiosk.maintenance.port``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC

import peewee as pw

from kiosk.core.money import format_yuan
from kiosk.maintenance.port import StoredTask
from kiosk.store.models import Payment, StaffTask, utcnow

#: the kind of task a payment settled at start-up makes, and its key's prefix
RECOVERED_KIND = "recovered_payment"


def recovered_key(out_trade_no: str) -> str:
    return f"recovered:{out_trade_no}"


class TaskStore:
    def __init__(self, db: pw.Database) -> None:
        self.db = db

    def add(self, key: str, kind: str, target: str, detail: str) -> bool:
        """Keep one task; False when a task with ``key`` is already kept (open or dismissed): the same
        thing told twice is one task, and a dismissed one does not come back."""
        with self.db.atomic():
            if StaffTask.get_or_none(StaffTask.key == key[:96]) is not None:
                return False
            StaffTask.create(
                key=key[:96], kind=kind[:32], target=target[:64], detail=detail[:255], created_at=utcnow()
            )
        return True

    def record_recovery(self, outcomes: Mapping[str, str]) -> int:
        """The start-up recovery's outcomes (out_trade_no -> paid, failed, cancelled, unknown) as
        tasks, in one transaction; "unknown" ones are not: they stay open payments, which the task
        list shows with their own "resolve" action. Returns how many tasks were new."""
        new = 0
        with self.db.atomic():
            for out_trade_no, what in sorted(outcomes.items()):
                if what == "unknown":
                    continue
                paid = Payment.get_or_none(Payment.out_trade_no == out_trade_no)
                about = f"{paid.channel} {format_yuan(int(paid.amount_fen))} " if paid is not None else ""
                new += self.add(
                    recovered_key(out_trade_no),
                    RECOVERED_KIND,
                    out_trade_no,
                    f"{about}{out_trade_no}: {what}",
                )
        return new

    def open_tasks(self) -> list[StoredTask]:
        """Tasks not yet dismissed, oldest first."""
        q = (
            StaffTask.select()
            .where(StaffTask.dismissed_at.is_null())
            .order_by(StaffTask.created_at, StaffTask.key)
        )
        return [
            StoredTask(
                str(t.key), str(t.kind), str(t.target), str(t.detail), t.created_at.replace(tzinfo=UTC)
            )
            for t in q
        ]

    def dismiss_task(self, key: str, by: str) -> bool:
        """Mark an open task dismissed by ``by``; False when there is no open task ``key``."""
        with self.db.atomic():
            changed = (
                StaffTask.update(dismissed_at=utcnow(), dismissed_by=by[:64])
                .where((StaffTask.key == key) & StaffTask.dismissed_at.is_null())
                .execute()
            )
        return bool(changed)
