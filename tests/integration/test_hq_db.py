"""Opening the HQ database: URLs, SQLite pragmas, numbered migrations, refusing what HQ cannot use."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import peewee
import pytest
from hq_fixtures import sqlite_url

from hq.db import (
    MIGRATIONS,
    DatabaseFolderError,
    DatabaseOpenError,
    connect_database,
    connected,
    open_database,
    sqlite_path,
)
from hq.models import database


def test_sqlite_url_with_three_slashes_is_an_absolute_path() -> None:
    assert sqlite_path("sqlite:///var/lib/kiosk-hq/hq.sqlite3") == Path("/var/lib/kiosk-hq/hq.sqlite3")
    assert sqlite_path("sqlite:////srv/hq.db") == Path("/srv/hq.db")
    assert sqlite_path("sqlite:///srv/my%20hq.db") == Path("/srv/my hq.db")


def test_a_new_file_gets_the_schema_wal_and_foreign_keys(tmp_path: Path) -> None:
    db_file = tmp_path / "hq.sqlite3"
    db = open_database(sqlite_url(db_file))
    assert database.obj is db
    with connected():
        assert db.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1
        assert db.execute_sql("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    with sqlite3.connect(db_file) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        version = conn.execute("SELECT version FROM schema_version").fetchall()
    assert {"schema_version", "device", "product", "sale", "sale_line"} <= tables
    assert version == [(len(MIGRATIONS),)]


def test_opening_again_applies_nothing_and_keeps_data(tmp_path: Path) -> None:
    first = sqlite_url(tmp_path / "a.db")
    open_database(first)
    with connected():
        database.execute_sql(
            "INSERT INTO device (kiosk_id, generation, created_at) VALUES ('k', 1, '2026-01-01')"
        )
    assert open_database(first) is database.obj  # same URL: the bound database is reused
    open_database(sqlite_url(tmp_path / "b.db"))  # bind elsewhere, then come back
    open_database(first)
    with connected():
        assert database.execute_sql("SELECT kiosk_id FROM device").fetchall() == [("k",)]
        assert database.execute_sql("SELECT count(*) FROM schema_version").fetchone()[0] == 1


def test_a_database_from_a_newer_hq_is_refused(tmp_path: Path) -> None:
    db_file = tmp_path / "future.db"
    open_database(sqlite_url(db_file))
    with sqlite3.connect(db_file) as conn:
        conn.execute("UPDATE schema_version SET version = 99")
    open_database(sqlite_url(tmp_path / "other.db"))
    with pytest.raises(DatabaseOpenError, match=r"schema version 99.*upgrade HQ"):
        open_database(sqlite_url(db_file))


def test_foreign_keys_are_enforced(tmp_path: Path) -> None:
    open_database(sqlite_url(tmp_path / "fk.db"))
    with connected(), pytest.raises(peewee.IntegrityError):
        database.execute_sql(
            "INSERT INTO sale_line (order_id, line_no, sku, name, qty, unit_price_fen, line_total_fen) "
            "VALUES ('no-such-sale', 1, 's', 'n', 1, 1, 1)"
        )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///:memory:", "in-memory"),
        ("sqlite:///no/such/dir/hq.db", "does not exist"),
        ("sqlite://host/hq.db", "sqlite:/// followed by an absolute path"),
        ("mysql://u@h/d", "unknown database kind"),
    ],
)
def test_urls_hq_cannot_use_are_refused_with_what_to_write(url: str, expected: str) -> None:
    with pytest.raises(DatabaseOpenError, match=expected):
        connect_database(url)


def test_postgres_url_without_a_reachable_server_is_a_clear_error() -> None:
    """No PostgreSQL runs here (and psycopg2 may be missing): either way the message says what to check,
    without the password."""
    with pytest.raises(DatabaseOpenError) as caught:
        open_database("postgres://hq:pw-secret@127.0.0.1:1/hq")
    assert "pw-secret" not in str(caught.value)
    assert "postgres://hq:***@127.0.0.1:1/hq" in str(caught.value)


# --- files HQ creates are its own: folder 0700, database and its -wal/-shm 0600 ----------------------


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """The common umask 022, under which SQLite's own default would make the files 0644."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("usual_umask")
def test_a_new_database_and_its_wal_and_shm_files_are_0600(tmp_path: Path) -> None:
    db_file = tmp_path / "hq.sqlite3"
    open_database(sqlite_url(db_file))
    with connected():  # while a connection is open SQLite keeps the -wal and -shm files
        database.execute_sql(
            "INSERT INTO device (kiosk_id, generation, created_at) VALUES ('k', 1, '2026-01-01')"
        )
        files = [db_file, tmp_path / "hq.sqlite3-wal", tmp_path / "hq.sqlite3-shm"]
        assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}


def test_even_a_strict_umask_leaves_the_owner_able_to_write(tmp_path: Path) -> None:
    old = os.umask(0o277)
    try:
        open_database(sqlite_url(tmp_path / "hq.sqlite3"))
        with connected():
            database.execute_sql(
                "INSERT INTO device (kiosk_id, generation, created_at) VALUES ('k', 1, '2026-01-01')"
            )
            assert mode(tmp_path / "hq.sqlite3-wal") == 0o600
    finally:
        os.umask(old)
    assert mode(tmp_path / "hq.sqlite3") == 0o600


@pytest.mark.usefixtures("usual_umask")
def test_a_missing_database_folder_is_made_0700_and_an_existing_one_is_left_alone(tmp_path: Path) -> None:
    open_database(sqlite_url(tmp_path / "kiosk-hq" / "hq.sqlite3"))
    assert mode(tmp_path / "kiosk-hq") == 0o700
    assert mode(tmp_path / "kiosk-hq" / "hq.sqlite3") == 0o600
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    open_database(sqlite_url(shared / "hq.sqlite3"))
    assert mode(shared) == 0o755


def test_an_existing_database_file_keeps_its_mode(tmp_path: Path) -> None:
    db_file = tmp_path / "hq.sqlite3"
    open_database(sqlite_url(db_file))
    db_file.chmod(0o640)  # the admin's choice, e.g. a backup group may read it
    open_database(sqlite_url(tmp_path / "other.sqlite3"))
    open_database(sqlite_url(db_file))
    assert mode(db_file) == 0o640


def test_a_folder_that_cannot_be_made_is_a_clear_error(tmp_path: Path) -> None:
    in_the_way = tmp_path / "kiosk-hq"
    in_the_way.write_text("a file where the folder should be", encoding="utf-8")
    with pytest.raises(DatabaseFolderError) as caught:
        open_database(sqlite_url(in_the_way / "hq.sqlite3"))
    assert f"cannot create the folder {in_the_way} for the HQ database (File exists)" in str(caught.value)
    assert "--db" in str(caught.value) and "无法创建" in caught.value.text.zh


def test_kiosks_of_a_version_2_database_keep_their_ids_and_enrol_again(tmp_path: Path) -> None:
    """GIVEN a database from before stores (migration 2) with a kiosk that had an API key WHEN HQ opens
    it THEN the key is gone, the kiosk is listed without a store, and a code enrols it under its id."""
    from hq.devices import add_store, enrol_device, list_devices, store_by_code
    from hq.models import SchemaVersion

    url = sqlite_url(tmp_path / "v2.db")
    old = connect_database(url)
    old.connect()
    with old.bind_ctx([SchemaVersion]):
        old.create_tables([SchemaVersion])
        for step in MIGRATIONS[:2]:
            step(old)
        SchemaVersion.create(version=2)
    old.execute_sql(
        "INSERT INTO device (kiosk_id, api_key_hash, created_at) VALUES ('kiosk-007', 'h', '2026-01-01')"
    )
    old.close()
    open_database(url)
    with connected():
        columns = {c.name for c in database.get_columns("device")}
        [device] = list_devices()
        assert "api_key_hash" not in columns
        assert (device.kiosk_id, device.store_code, device.enrolled_at) == ("kiosk-007", None, None)
        add_store("s01", "Main street")
        assert len(enrol_device(b"k" * 32, store_by_code("s01"), "kiosk-007")) == 32
        [device] = list_devices()
    assert device.store_code == "s01" and device.enrolled_at is not None
