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


MIGRATIONS: tuple[tuple[int, str, Callable[[pw.Database], None]], ...] = (
    (1, "initial schema", _0001_initial),
    (2, "reprint queue", _0002_reprint_queue),
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
