"""Opening the store: the pragmas that make a sale survive a power cut, checked rather than assumed.

WAL lets the sync thread read while checkout writes; ``synchronous=FULL`` makes a commit durable
before the kiosk tells the customer "paid"; foreign keys keep lines and payments attached to orders.
SQLite silently ignores a pragma it cannot apply, so each one is read back, and ``quick_check`` runs
before the kiosk sells anything from a file that a power cut may have damaged.
"""

from __future__ import annotations

import logging
from pathlib import Path

import peewee as pw

from kiosk.store import migrations, models

log = logging.getLogger(__name__)

PRAGMAS = {
    "journal_mode": "wal",
    "synchronous": 2,  # FULL
    "foreign_keys": 1,
    "busy_timeout": 5000,
}


class StoreError(RuntimeError):
    """The store cannot be opened safely. The message says what is wrong and what to do."""


def open_store(path: Path) -> pw.SqliteDatabase:
    """Open (creating if needed), check and migrate the store at ``path``; bind the models to it."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(
            f"store {path}: cannot create its folder ({exc.strerror}); check kiosk.data_dir and permissions"
        ) from exc
    # BEGIN IMMEDIATE: a transaction that reads and then writes would otherwise fail at once with
    # "database is locked" when another thread wrote in between, instead of waiting busy_timeout.
    db = pw.SqliteDatabase(str(path), pragmas=PRAGMAS, check_same_thread=False, lock_type="IMMEDIATE")
    try:
        db.connect(reuse_if_open=True)
        _check_pragmas(db, path)
        result = db.execute_sql("PRAGMA quick_check").fetchone()[0]
        if result != "ok":
            raise StoreError(
                f"store {path}: integrity check failed ({result}); the kiosk will not sell from a damaged "
                "store. Restore the last backup or move the file aside for HQ support (see the operations guide)"
            )
        models.database.initialize(db)
        applied = migrations.migrate(db)
    except pw.DatabaseError as exc:
        db.close()
        raise StoreError(
            f"store {path}: not a usable SQLite database ({exc}); restore a backup or move the file aside"
        ) from exc
    except migrations.MigrationError as exc:
        db.close()
        raise StoreError(f"store {path}: {exc}") from exc
    if applied:
        log.info("store %s migrated to schema %s", path, applied[-1])
    return db


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
