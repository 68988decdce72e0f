"""Opening the store: the pragmas that make a sale survive a power cut, checked rather than assumed.

WAL lets the sync thread read while checkout writes; ``synchronous=FULL`` makes a commit durable
before the kiosk tells the customer "paid"; foreign keys keep lines and payments attached to orders.
SQLite silently ignores a pragma it cannot apply, so each one is read back, and ``quick_check`` runs
before the kiosk sells anything from a file that a power cut may have damaged.

Some damage SQLite cannot see: a store emptied to 0 bytes opens as a new database, and a damaged
write-ahead log silently drops the commits after the damage. The watermark beside the store
(``kiosk.store.watermark``) catches both: a store holding fewer sales than the kiosk once recorded is
refused, with the restore step in the message.

The store, its -wal and -shm files, the payment-code key and the watermark are readable by the kiosk's
user only (0600): they hold sales and secrets.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import stat
from pathlib import Path

import peewee as pw

from kiosk.store import migrations, models
from kiosk.store.watermark import Watermark, watermark_path

log = logging.getLogger(__name__)

PRAGMAS = {
    "journal_mode": "wal",
    "synchronous": 2,  # FULL
    "foreign_keys": 1,
    "busy_timeout": 5000,
}

RESTORE_HINT = "see the operations guide, 'The store cannot be opened'"


class StoreError(RuntimeError):
    """The store cannot be opened safely. The message says which store, what is wrong and what to do."""


class StoreWentBackwards(StoreError):
    """The store holds fewer of this kiosk's sales than it once did: damaged, emptied or an old copy."""

    def __init__(self, message: str, held: int, recorded: int) -> None:
        super().__init__(message)
        self.held = held
        self.recorded = recorded


def _private(path: Path) -> None:
    """Create ``path`` 0600 if missing, or take group and other access away from an existing file.

    SQLite gives the -wal and -shm files the mode of the database file, so this covers them too.
    """
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if stat.S_IMODE(os.fstat(fd).st_mode) & 0o077:
                os.fchmod(fd, 0o600)
        finally:
            os.close(fd)
        for side in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            if side.exists() and stat.S_IMODE(side.stat().st_mode) & 0o077:
                side.chmod(0o600)
    except OSError as exc:
        raise StoreError(
            f"store {path}: cannot create or open it ({exc.strerror}); check kiosk.data_dir, the free space "
            "and that the kiosk user owns the folder"
        ) from exc


def open_store(path: Path, *, accept_backwards: bool = False) -> pw.SqliteDatabase:
    """Open (creating if needed), check and migrate the store at ``path``; bind the models to it.

    ``accept_backwards`` is for ``kiosk store accept`` only: staff have confirmed that HQ holds every
    sale, so a store with fewer sales than the watermark is taken as it is and the watermark lowered.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(
            f"store {path}: cannot create its folder ({exc.strerror}); check kiosk.data_dir and permissions"
        ) from exc
    mark = Watermark(watermark_path(path))
    try:
        recorded = None if accept_backwards else mark.read()
    except ValueError as exc:
        raise StoreError(
            f"store {path}: {exc}; restore that file from the last backup, or, once HQ confirms it holds "
            f"every sale of this kiosk, run 'kiosk store accept' ({RESTORE_HINT})"
        ) from None
    if recorded and not path.exists():
        raise StoreWentBackwards(
            _backwards(path, mark, 0, recorded, "the store file is missing"), 0, recorded
        )
    if recorded and path.stat().st_size == 0:  # checked before SQLite writes a new header into it
        raise StoreWentBackwards(_backwards(path, mark, 0, recorded, "the store file is empty"), 0, recorded)
    _private(path)
    # BEGIN IMMEDIATE: a transaction that reads and then writes would otherwise fail at once with
    # "database is locked" when another thread wrote in between, instead of waiting busy_timeout.
    db = pw.SqliteDatabase(str(path), pragmas=PRAGMAS, check_same_thread=False, lock_type="IMMEDIATE")
    try:
        db.connect(reuse_if_open=True)
        _check_pragmas(db, path)
        result = db.execute_sql("PRAGMA quick_check").fetchone()[0]
        if result != "ok":
            raise StoreError(
                f"store {path}: integrity check failed ({str(result)[:200]}); the kiosk will not sell from a "
                f"damaged store. Restore the last backup or move the file aside for HQ support ({RESTORE_HINT})"
            )
        if recorded and migrations.schema_version(db) == 0:
            raise StoreWentBackwards(
                _backwards(path, mark, 0, recorded, "the store file is empty"), 0, recorded
            )
        models.database.initialize(db)
        applied = migrations.migrate(db)
        _check_columns(db, path)
        _check_readable(db, path)
        held = sales_recorded(db)
        if recorded is not None and held < recorded:
            raise StoreWentBackwards(
                _backwards(path, mark, held, recorded, "sales are missing from it"), held, recorded
            )
        try:
            if accept_backwards:
                mark.write(held)
            else:
                mark.advance(held)
        except OSError as exc:  # a full disk: the mark lags the store, which is safe, never ahead
            if accept_backwards:
                raise StoreError(
                    f"store {path}: cannot write {mark.path} ({exc.strerror}); free space first"
                ) from exc
            log.warning("sales watermark %s not advanced: %s", mark.path, exc)
    except StoreError:
        db.close()
        raise
    except migrations.MigrationError as exc:
        db.close()
        raise StoreError(f"store {path}: {exc}") from exc
    except Exception as exc:
        # A damaged page can surface as almost anything (a bad UTF-8 text, a malformed schema, JSON
        # that no longer parses): whatever it is, say which store and what to do.
        db.close()
        raise StoreError(
            f"store {path}: not a usable SQLite database ({type(exc).__name__}: {str(exc)[:200]}); restore the "
            f"last backup, or move the file aside for HQ support and start with an empty store ({RESTORE_HINT})"
        ) from exc
    if applied:
        log.info("store %s migrated to schema %s", path, applied[-1])
    return db


#: what the kiosk reads soon after it starts: damage here must stop the start, not a sale later
_SOON_READ = (
    ("product", "SELECT * FROM product", None),
    ("order", "SELECT * FROM \"order\" WHERE status = 'open'", None),
    (
        "payment",
        "SELECT * FROM payment WHERE status NOT IN ('paid', 'failed', 'cancelled', 'refunded')",
        None,
    ),
    # the same rows through the status index, as start-up recovery reads them: a damaged index
    # page is as bad as a damaged row
    (
        "payment",
        "SELECT * FROM payment WHERE status IN ('cancelling', 'refunding', 'submitted', 'unknown', "
        "'user_paying') ORDER BY id",
        None,
    ),
    ("outbox", "SELECT payload FROM outbox WHERE state = 'pending'", 0),
    ("outbox", "SELECT * FROM outbox WHERE state = 'pending' ORDER BY id", 2),
    ("outbox", "SELECT state, COUNT(*) FROM outbox GROUP BY state", None),
    ("reprint_job", "SELECT layout FROM reprint_job WHERE state IN ('pending', 'printing', 'held')", 0),
    ("setting", "SELECT * FROM setting", None),
)


def _check_columns(db: pw.SqliteDatabase, path: Path) -> None:
    """Every column the models read is in the schema. A damaged schema page can still be valid
    SQL with one column name changed: ``quick_check`` passes, ``SELECT *`` works, and the first
    query naming that column would fail in front of a customer. Extra columns (a newer release's,
    added additively) are fine."""
    for model in _all_models(models.BaseModel):
        table = model._meta.table_name
        have = {row[1] for row in db.execute_sql(f'PRAGMA table_info("{table}")').fetchall()}
        if not have:
            continue  # a table of a later migration that this store has not reached is created by it
        missing = sorted(f.column_name for f in model._meta.sorted_fields if f.column_name not in have)
        if missing:
            raise StoreError(
                f"store {path}: table {table} lacks column(s) {', '.join(missing)[:120]} (a damaged schema); "
                f"the kiosk will not sell from a damaged store. Restore the last backup ({RESTORE_HINT})"
            )


def _all_models(base: type[models.BaseModel]) -> list[type[models.BaseModel]]:
    found: list[type[models.BaseModel]] = []
    for sub in base.__subclasses__():
        found += [sub, *_all_models(sub)]
    return found


def _check_readable(db: pw.SqliteDatabase, path: Path) -> None:
    """Read what the kiosk is about to use (the catalog, open payments, the unsent outbox, the reprint
    queue), so a damaged row fails here with the store's name instead of in front of a customer.

    ``quick_check`` checks the file's structure, not that its text is still UTF-8 or its JSON still
    parses. Everything already sent to HQ is left unread: on a big store that would cost the start.
    """
    for table, sql, json_column in _SOON_READ:
        try:
            rows = db.execute_sql(sql).fetchall()
            if json_column is not None:
                for row in rows:
                    json.loads(row[json_column])
        except (sqlite3.Error, pw.DatabaseError, ValueError) as exc:
            raise StoreError(
                f"store {path}: damaged rows in table {table} ({type(exc).__name__}: {str(exc)[:120]}); the kiosk "
                f"will not sell from a damaged store. Restore the last backup ({RESTORE_HINT})"
            ) from exc


def _backwards(path: Path, mark: Watermark, held: int, recorded: int, what: str) -> str:
    return (
        f"store {path}: {what}: it holds {held} paid sale(s) but this kiosk recorded {recorded} in {mark.path}. "
        "The store went backwards (damaged, emptied or replaced by an older copy) and sales may be lost, so "
        f"the kiosk will not sell from it. Restore the newest backup of {path.name} together with its -wal "
        "file; or, once HQ confirms it holds every sale of this kiosk, accept this store with "
        f"'kiosk store accept' ({RESTORE_HINT})"
    )


def sales_recorded(db: pw.Database) -> int:
    """The store's own count of the kiosk's paid sales (migration 3), 0 in a store without one."""
    try:
        row = db.execute_sql(
            "SELECT value FROM setting WHERE key = ?", (models.SALES_RECORDED_KEY,)
        ).fetchone()
    except (pw.OperationalError, sqlite3.OperationalError):
        return 0
    return int(row[0]) if row is not None and str(row[0]).isdigit() else 0


def _check_pragmas(db: pw.SqliteDatabase, path: Path) -> None:
    mode = db.execute_sql("PRAGMA journal_mode").fetchone()[0]
    sync = db.execute_sql("PRAGMA synchronous").fetchone()[0]
    fk = db.execute_sql("PRAGMA foreign_keys").fetchone()[0]
    problems = []
    if str(mode).lower() != "wal":
        problems.append(
            f"journal_mode is {mode}, not wal (is the folder on a filesystem without shared memory?)"
        )
    if int(sync) != 2:
        problems.append(f"synchronous is {sync}, not 2 (FULL)")
    if int(fk) != 1:
        problems.append("foreign_keys is off")
    if problems:
        raise StoreError(f"store {path}: " + "; ".join(problems))


def store_health(db: pw.SqliteDatabase) -> dict[str, object]:
    """What ``kiosk doctor`` shows about the store."""
    return {
        "journal_mode": db.execute_sql("PRAGMA journal_mode").fetchone()[0],
        "synchronous": db.execute_sql("PRAGMA synchronous").fetchone()[0],
        "foreign_keys": db.execute_sql("PRAGMA foreign_keys").fetchone()[0],
        "quick_check": db.execute_sql("PRAGMA quick_check").fetchone()[0],
        "schema_version": migrations.schema_version(db),
    }
