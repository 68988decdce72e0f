"""Numbered schema migrations, applied in order at start-up; ``PRAGMA user_version`` records the last one.

Every release that changes the schema appends a function here and never edits an old one, so a kiosk
that skipped releases still walks through every step. Each step runs in its own transaction.
"""

from __future__ import annotations

from collections.abc import Callable

import peewee as pw

from kiosk.store import models


def _0001_initial(db: pw.Database) -> None:
    db.create_tables(models.ALL_MODELS)


def _0002_reprint_queue(db: pw.Database) -> None:
    db.create_tables([models.ReprintJob])


def _0003_keyed_code_digests(db: pw.Database) -> None:
    """Payment-code digests become keyed (HMAC with the per-device key), so the hidden digits of a
    masked code cannot be brute-forced from the file; and the store starts counting its own paid
    sales, which the watermark beside it checks (``kiosk.store.watermark``)."""
    from kiosk.store.secrets import keyed, load_code_key

    columns = {row[1] for row in db.execute_sql("PRAGMA table_info(payment)").fetchall()}
    if "code_sha256" in columns:  # a store made before this release
        key = load_code_key(db)
        db.execute_sql("DROP INDEX IF EXISTS payment_code_sha256")
        db.execute_sql("ALTER TABLE payment RENAME COLUMN code_sha256 TO code_digest")
        rows = db.execute_sql("SELECT id, code_digest FROM payment").fetchall()
        for row_id, old in rows:
            db.execute_sql("UPDATE payment SET code_digest = ? WHERE id = ?", (keyed(key, str(old)), row_id))
        db.execute_sql("CREATE INDEX IF NOT EXISTS payment_code_digest ON payment (code_digest)")
    paid = db.execute_sql("SELECT COUNT(*) FROM \"order\" WHERE status IN ('paid', 'refunded')").fetchone()[0]
    db.execute_sql(
        "INSERT OR REPLACE INTO setting (key, value) VALUES (?, ?)",
        (models.SALES_RECORDED_KEY, str(int(paid))),
    )


def _0004_keyed_outbox(db: pw.Database) -> None:
    """Outbox rows become protocol v1 events: an idempotency key each (made now for the rows already
    there, and never changed after), a state (pending, sent, parked) and the reason a parked one
    was refused. Migration 1 created the table from the current model, so a store made by a
    release with this migration already has the columns."""
    import uuid

    columns = {row[1] for row in db.execute_sql("PRAGMA table_info(outbox)").fetchall()}
    if "key" not in columns:
        db.execute_sql("ALTER TABLE outbox ADD COLUMN key VARCHAR(36)")
    if "state" not in columns:
        db.execute_sql("ALTER TABLE outbox ADD COLUMN state VARCHAR(8) NOT NULL DEFAULT 'pending'")
    if "parked_reason" not in columns:
        db.execute_sql("ALTER TABLE outbox ADD COLUMN parked_reason TEXT NOT NULL DEFAULT ''")
    for (row_id,) in db.execute_sql("SELECT id FROM outbox WHERE key IS NULL").fetchall():
        db.execute_sql("UPDATE outbox SET key = ? WHERE id = ?", (str(uuid.uuid4()), row_id))
    db.execute_sql("UPDATE outbox SET state = 'sent' WHERE sent_at IS NOT NULL AND state = 'pending'")
    db.execute_sql("CREATE UNIQUE INDEX IF NOT EXISTS outbox_key ON outbox (key)")
    db.execute_sql("CREATE INDEX IF NOT EXISTS outbox_state ON outbox (state)")


def _0005_refunds_and_overrides(db: pw.Database) -> None:
    """Partial refunds, each under its own refund number, and staff's local price and out-of-stock
    overrides (maintenance mode)."""
    db.create_tables([models.RefundEntry, models.ProductOverride])


def _0006_staff(db: pw.Database) -> None:
    """Staff accounts from HQ and the badge nonces already used, for maintenance mode."""
    db.create_tables([models.StaffAccount, models.BadgeNonce])


def _0007_staff_tasks(db: pw.Database) -> None:
    """Staff's tasks that only memory held before: payments settled by the start-up recovery, and
    which of them staff dismissed, so neither is lost to a restart."""
    db.create_tables([models.StaffTask])


MIGRATIONS: tuple[tuple[int, str, Callable[[pw.Database], None]], ...] = (
    (1, "initial schema", _0001_initial),
    (2, "reprint queue", _0002_reprint_queue),
    (3, "keyed payment-code digests, count of sales", _0003_keyed_code_digests),
    (4, "outbox events with idempotency keys, parked events", _0004_keyed_outbox),
    (5, "partial refunds, staff price and stock overrides", _0005_refunds_and_overrides),
    (6, "staff accounts and used badge nonces", _0006_staff),
    (7, "staff tasks kept across restarts", _0007_staff_tasks),
)

LATEST = MIGRATIONS[-1][0]


class MigrationError(RuntimeError):
    pass


def schema_version(db: pw.Database) -> int:
    return int(db.execute_sql("PRAGMA user_version").fetchone()[0])


def migrate(db: pw.Database) -> list[int]:
    """Apply every migration newer than the file's version; return the numbers applied."""
    current = schema_version(db)
    if current > LATEST:
        raise MigrationError(
            f"the store's schema version {current} is newer than this software knows ({LATEST}); "
            "install the newer kiosk release or restore a backup made by this one"
        )
    applied = []
    for number, _title, step in MIGRATIONS:
        if number <= current:
            continue
        with db.atomic():
            step(db)
            db.execute_sql(f"PRAGMA user_version = {int(number)}")
        applied.append(number)
    return applied
