"""Opening the HQ database: URL to Peewee database, pragmas checked, proxy bound, migrations applied.

SQLite is the default for one store; PostgreSQL for fleets. SQLite runs with WAL (readers never wait
for the writer), ``synchronous=FULL`` (a sale HQ has confirmed must survive a power cut, because the
kiosk deletes its copy once HQ confirms) and ``foreign_keys=ON``, and write transactions begin
IMMEDIATE so two writers queue on the busy timeout instead of failing mid-transaction.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urlparse

import peewee
from playhouse import db_url

from hq import i18n
from hq.i18n import Text
from hq.migrations import MIGRATIONS
from hq.models import SchemaVersion, database
from hq.settings import redact_url

SQLITE_BUSY_TIMEOUT_S = 10.0
#: connections one HQ process keeps to PostgreSQL (FastAPI's thread pool has 40 threads)
PG_POOL_SIZE = 32
#: a pooled connection idle this long is closed rather than reused
PG_POOL_STALE_S = 300
#: seconds a request waits for a free pooled connection before it fails (503)
PG_POOL_WAIT_S = 10
#: the PostgreSQL advisory lock every HQ holds while it migrates (any fixed number; "HQ" in ASCII)
MIGRATION_LOCK_ID = 0x4851
SQLITE_PRAGMAS = (
    ("journal_mode", "wal"),
    ("synchronous", "full"),
    ("foreign_keys", 1),
    ("busy_timeout", int(SQLITE_BUSY_TIMEOUT_S * 1000)),
)


class DatabaseOpenError(RuntimeError):
    """The HQ database cannot be opened or is not in a state HQ can use. The message says what to do.

    ``text`` holds it in both languages where it has been translated (the CLI prints the admin's).
    """

    def __init__(self, message: str | Text) -> None:
        self.text = message if isinstance(message, Text) else Text(message, message)
        super().__init__(self.text.en)


class DatabaseFolderError(DatabaseOpenError):
    """The machine would not let HQ create the database's folder or file (permissions, read-only disk)."""


def sqlite_path(url: str) -> Path:
    """The file of a ``sqlite:///abs/path`` URL. Three slashes and an absolute path, as hq/defaults/hq.toml shows."""
    parsed = urlparse(url)
    raw = unquote(parsed.path)
    if parsed.netloc or parsed.query or not raw.strip("/"):
        raise DatabaseOpenError(
            f"{url!r} is not a SQLite URL HQ understands; write sqlite:/// followed by an absolute path, "
            "e.g. sqlite:///var/lib/kiosk-hq/hq.sqlite3"
        )
    name = raw.lstrip("/")
    if name == ":memory:":
        raise DatabaseOpenError(
            "an in-memory SQLite database is not shared between HQ's worker threads and is lost at exit; "
            "give a file, e.g. sqlite:///var/lib/kiosk-hq/hq.sqlite3"
        )
    return Path("/" + name)


def prepare_sqlite_file(path: Path) -> None:
    """Make the database's folder (mode 0700) and empty file (0600) if missing, before SQLite opens it.

    SQLite would create a new database 0644, and it gives the -wal and -shm files the mode of the
    database file, so creating the file 0600 first keeps all three from other users: they hold every
    sale. Only the last folder is made (as on a fresh machine, /var/lib/kiosk-hq): a whole missing
    path is more likely a typo in the URL than a wish. A folder or file that exists is left as it is.
    """
    folder = path.parent
    if not folder.is_dir():
        if not folder.parent.is_dir():
            raise DatabaseOpenError(i18n.DB_FOLDER_MISSING.format(folder=folder, parent=folder.parent))
        try:
            folder.mkdir(mode=0o700)
            os.chmod(folder, 0o700)  # mkdir's mode is narrowed by the umask, never widened
        except OSError as exc:
            if not folder.is_dir():
                reason = exc.strerror or str(exc)
                raise DatabaseFolderError(
                    i18n.DB_FOLDER_UNCREATABLE.format(folder=folder, reason=reason)
                ) from None
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except FileExistsError:
        return
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise DatabaseFolderError(i18n.DB_FILE_UNCREATABLE.format(path=path, reason=reason)) from None
    try:
        os.fchmod(fd, 0o600)  # a strict umask could have taken the owner's own write bit
    finally:
        os.close(fd)


def connect_database(url: str) -> peewee.Database:
    """A Peewee database for ``url``, not yet connected. Raises DatabaseOpenError with what to fix.

    For SQLite the folder and the empty file are made first if missing (``prepare_sqlite_file``).
    """
    scheme = url.partition("://")[0].lower()
    if scheme == "sqlite":
        path = sqlite_path(url)
        prepare_sqlite_file(path)
        db: peewee.Database = db_url.connect(
            "sqlite:///" + str(path),
            pragmas=SQLITE_PRAGMAS,
            timeout=SQLITE_BUSY_TIMEOUT_S,
            lock_type="IMMEDIATE",
        )
        return db
    if scheme in ("postgres", "postgresql"):
        try:
            # pooled: every request opens and closes a connection (see ``connected``), and a new
            # PostgreSQL connection costs a process start on the server; closing returns it here
            pooled = "postgres+pool://" + url.partition("://")[2]
            remote: peewee.Database = db_url.connect(
                pooled, max_connections=PG_POOL_SIZE, stale_timeout=PG_POOL_STALE_S, timeout=PG_POOL_WAIT_S
            )
        except (ValueError, RuntimeError, peewee.PeeweeException) as exc:
            raise DatabaseOpenError(f"cannot use the database URL {redact_url(url)}: {exc}") from None
        return remote
    raise DatabaseOpenError(
        f"{redact_url(url)!r}: unknown database kind {scheme!r}; use sqlite:///abs/path "
        "or postgres://user:password@host/dbname"
    )


@contextmanager
def connected() -> Iterator[None]:
    """Hold a connection on this thread for the block, closing it only if this block opened it.

    FastAPI runs each plain ``def`` endpoint and dependency on a pool thread, and Peewee keeps one
    connection per thread, so every unit of work opens and closes its own.
    """
    opened = bool(database.is_closed())
    if opened:
        database.connect()
    try:
        yield
    finally:
        if opened:
            database.close()


def _check_sqlite_pragmas(db: peewee.Database) -> None:
    mode = str(db.execute_sql("PRAGMA journal_mode").fetchone()[0]).lower()
    keys = int(db.execute_sql("PRAGMA foreign_keys").fetchone()[0])
    if mode != "wal" or keys != 1:
        raise DatabaseOpenError(
            f"SQLite did not accept journal_mode=WAL / foreign_keys=ON (got {mode!r}, {keys}); "
            "put the database on a local disk, not a network share"
        )


def migrate(db: peewee.Database) -> int:
    """Apply the migrations this database has not seen, in one transaction; return the schema version.

    Several HQ hosts may start together on one PostgreSQL database: each takes the same advisory
    lock first, so one migrates and the others then find the schema current (PostgreSQL's DDL is
    transactional, so a failed migration leaves nothing half made). SQLite's write lock does the same.
    """
    with db.atomic():
        if isinstance(db, peewee.PostgresqlDatabase):
            db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_ID,))
        db.create_tables([SchemaVersion], safe=True)
        row = SchemaVersion.select().first()
        current = row.version if row is not None else 0
        if current > len(MIGRATIONS):
            raise DatabaseOpenError(
                f"the HQ database is at schema version {current} but this HQ knows only "
                f"{len(MIGRATIONS)}; upgrade HQ before using this database"
            )
        for number, step in enumerate(MIGRATIONS[current:], start=current + 1):
            step(db)
            current = number
        if row is None:
            SchemaVersion.create(version=current)
        elif row.version != current:
            SchemaVersion.update(version=current).execute()
    return current


#: the URL ``database`` is bound to, so binding it again is a no-op (see open_database)
_bound_url: dict[str, str] = {}


def open_database(url: str) -> peewee.Database:
    """Bind the models to the database at ``url``, check it and bring its schema up to date.

    Binding the same URL again returns the database already bound, so the CLI and the server can
    share a process (as tests do) without two connection sets to one file.
    """
    current: peewee.Database | None = database.obj
    if current is not None and _bound_url.get("url") == url:
        return current
    db = connect_database(url)
    try:
        db.connect()
    except peewee.PeeweeException as exc:
        raise DatabaseOpenError(
            f"cannot open the HQ database {redact_url(url)}: {exc}; check the URL, that the file or "
            "server is reachable and writable, and (for PostgreSQL) that psycopg2 is installed"
        ) from None
    try:
        if isinstance(db, peewee.SqliteDatabase):
            _check_sqlite_pragmas(db)
        database.initialize(db)
        migrate(db)
    except (peewee.PeeweeException, DatabaseOpenError) as exc:
        database.initialize(current)
        if isinstance(exc, DatabaseOpenError):
            raise
        raise DatabaseOpenError(f"cannot prepare the HQ database {redact_url(url)}: {exc}") from None
    finally:
        db.close()
    _bound_url["url"] = url
    if current is not None:
        current.close()
    return db
