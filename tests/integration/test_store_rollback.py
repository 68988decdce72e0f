"""A rolled-back release opens the store a newer release migrated, when the migrations in between
were additive (kiosk.store.migrations: ``additive``, the store's ``schema_readable_from``)."""

from __future__ import annotations

import logging
from pathlib import Path

import peewee as pw
import pytest

from kiosk.store import migrations
from kiosk.store.db import StoreError, open_store
from kiosk.store.migrations import LATEST, MIGRATIONS, Migration, migrate, readable_from, schema_version


def _newer_release_migrates(path: Path, additive: bool) -> None:
    """A release one migration ahead (LATEST + 1) opens the store and migrates it."""

    def step(db: pw.Database) -> None:
        db.execute_sql("CREATE TABLE future_thing (id INTEGER PRIMARY KEY)")
        if not additive:
            db.execute_sql("ALTER TABLE product RENAME COLUMN name_zh TO title_zh")

    db = open_store(path)
    assert migrate(db, (*MIGRATIONS, Migration(LATEST + 1, "future", step, additive=additive))) == [
        LATEST + 1
    ]
    db.close()


def test_an_older_release_opens_a_store_migrated_one_step_further(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """GIVEN a store at this schema WHEN the release before (LATEST - 1, simulated) opens it THEN it is
    used as it is, with a warning, and not migrated backwards."""
    path = tmp_path / "kiosk.sqlite3"
    open_store(path).close()
    monkeypatch.setattr(migrations, "MIGRATIONS", MIGRATIONS[:-1])
    with caplog.at_level(logging.WARNING, logger="kiosk.store.migrations"):
        db = open_store(path)
    assert schema_version(db) == LATEST
    assert "newer than this release knows" in caplog.text
    db.close()


def test_this_release_opens_a_store_a_newer_release_migrated_additively(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.sqlite3"
    _newer_release_migrates(path, additive=True)
    db = open_store(path)
    assert schema_version(db) == LATEST + 1 and readable_from(db) == 4
    db.close()


def test_a_store_migrated_by_a_non_additive_step_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.sqlite3"
    _newer_release_migrates(path, additive=False)
    with pytest.raises(StoreError, match=rf"cannot be used by this release \(needs schema {LATEST + 1}"):
        open_store(path)


def test_a_store_from_before_the_record_gets_it_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.sqlite3"
    db = open_store(path)
    db.execute_sql("DELETE FROM setting WHERE key = ?", (migrations.READABLE_FROM_KEY,))
    assert readable_from(db) is None
    db.close()
    db = open_store(path)
    assert readable_from(db) == 4  # migrations 3 and 4 were not additive
    db.close()


def test_the_agent_reads_what_a_release_must_know_from_the_store(tmp_path: Path) -> None:
    """The agent refuses a bundle whose min_store_schema is below this: the store's record, so a
    signed older release (an abort whose slot is gone) is still taken over additive migrations."""
    from ota.agent import store_needs

    path = tmp_path / "kiosk.sqlite3"
    assert store_needs(path) == 0
    _newer_release_migrates(path, additive=True)
    assert store_needs(path) == 4
