"""Numbered schema migrations, applied in order at start-up; ``PRAGMA user_version`` records the last one.

Every release that changes the schema appends a function here and never edits an old one, so a kiosk
that skipped releases still walks through every step. Each step runs in its own transaction.

Migrations only go forward, yet an update may be rolled back (docs/ota.md): the release before it
then opens a store migrated by the newer one. So each migration declares whether it is
``additive``: new tables, or new columns with defaults an older release can leave alone, so the
releases before it keep working on the store. One that renames, drops or reinterprets is not: from
then on only releases that know its number can use the store. The store records the lowest schema
that can use it, ``readable_from`` = the number of the last non-additive migration it went through
(``setting`` row ``schema_readable_from``, written in each migration's transaction). A release whose
``LATEST`` is below the store's version opens it only if ``readable_from <= LATEST`` (with a
warning), else refuses it and says what to do (``migrate``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import peewee as pw

from kiosk.store import models

log = logging.getLogger(__name__)


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


def _0008_receipt_language(db: pw.Database) -> None:
    """Receipts follow the customer's language: each order keeps the language the customer paid
    in, each line the product's English name when sold, so a reprint (or the receipt printed by
    the next start's recovery) reads as the sale did. Migration 1 created the tables from the
    current models, so a store made by a release with this migration already has the columns."""
    orders = {row[1] for row in db.execute_sql('PRAGMA table_info("order")').fetchall()}
    if "language" not in orders:
        db.execute_sql("ALTER TABLE \"order\" ADD COLUMN language VARCHAR(8) NOT NULL DEFAULT 'zh_CN'")
    lines = {row[1] for row in db.execute_sql("PRAGMA table_info(order_line)").fetchall()}
    if "name_en" not in lines:
        db.execute_sql("ALTER TABLE order_line ADD COLUMN name_en VARCHAR(128) NOT NULL DEFAULT ''")


def _0009_promotions(db: pw.Database) -> None:
    """Promotions from HQ and the discounts each order got: two new tables, nothing else changes
    (an older release ignores them; its orders simply have no discount rows)."""
    db.create_tables([models.PromotionRow, models.OrderDiscount])


@dataclass(frozen=True, slots=True)
class Migration:
    number: int
    title: str
    step: Callable[[pw.Database], None]
    #: can the releases before this migration still use the store after it (see above)?
    additive: bool

    @property
    def readable_from(self) -> int:
        """The lowest schema a release must know to use the store once this migration ran."""
        return 1 if self.additive else self.number


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial schema", _0001_initial, additive=True),
    Migration(2, "reprint queue", _0002_reprint_queue, additive=True),
    # renames payment.code_sha256 and rewrites its values: a release before 3 cannot read it
    Migration(3, "keyed payment-code digests, count of sales", _0003_keyed_code_digests, additive=False),
    # a release before 4 would queue outbox rows without the idempotency key the pusher needs
    Migration(4, "outbox events with idempotency keys, parked events", _0004_keyed_outbox, additive=False),
    Migration(
        5, "partial refunds, staff price and stock overrides", _0005_refunds_and_overrides, additive=True
    ),
    Migration(6, "staff accounts and used badge nonces", _0006_staff, additive=True),
    Migration(7, "staff tasks kept across restarts", _0007_staff_tasks, additive=True),
    # new columns with defaults: an older release leaves them alone and prints in Chinese
    Migration(8, "receipt language and English item names", _0008_receipt_language, additive=True),
    Migration(9, "promotions and order discounts", _0009_promotions, additive=True),
)

LATEST = MIGRATIONS[-1].number

#: the ``setting`` row that records the lowest schema that can still use the store
READABLE_FROM_KEY = "schema_readable_from"


class MigrationError(RuntimeError):
    pass


def schema_version(db: pw.Database) -> int:
    return int(db.execute_sql("PRAGMA user_version").fetchone()[0])


def readable_from(db: pw.Database) -> int | None:
    """The store's record of the lowest schema that can use it; None when it has none."""
    try:
        row = db.execute_sql("SELECT value FROM setting WHERE key = ?", (READABLE_FROM_KEY,)).fetchone()
    except Exception:  # no setting table: a store older than any marker
        return None
    try:
        return int(row[0]) if row is not None else None
    except (TypeError, ValueError):
        return None


def _record_readable_from(db: pw.Database, value: int) -> None:
    db.execute_sql(
        "INSERT OR REPLACE INTO setting (key, value) VALUES (?, ?)", (READABLE_FROM_KEY, str(int(value)))
    )


def migrate(db: pw.Database, steps: tuple[Migration, ...] | None = None) -> list[int]:
    """Apply every migration newer than the file's version; return the numbers applied.

    A store newer than ``steps`` know (a rolled-back release) is used as it is when its record says
    this release can read it, and refused otherwise."""
    steps = MIGRATIONS if steps is None else steps
    latest = steps[-1].number
    current = schema_version(db)
    if current > latest:
        marker = readable_from(db)
        if marker is None or marker > latest:
            needs = "not recorded" if marker is None else f"needs schema {marker} or newer"
            raise MigrationError(
                f"the store's schema version {current} is newer than this software knows ({latest}) and it "
                f"cannot be used by this release ({needs}); install the newer kiosk release or restore a "
                "backup made by this one"
            )
        log.warning(
            "store schema %s is newer than this release knows (%s); a later release migrated it additively "
            "(readable from %s), so it is used as it is",
            current,
            latest,
            marker,
        )
        return []
    applied = []
    floor = max((m.readable_from for m in steps if m.number <= current), default=0)
    for m in steps:
        if m.number <= current:
            continue
        with db.atomic():
            m.step(db)
            floor = max(floor, m.readable_from)
            _record_readable_from(db, floor)
            db.execute_sql(f"PRAGMA user_version = {int(m.number)}")
        applied.append(m.number)
    if not applied and current > 0 and readable_from(db) is None:
        with db.atomic():  # a store migrated before stores kept this record
            _record_readable_from(db, floor)
    return applied
