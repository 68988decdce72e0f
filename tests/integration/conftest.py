"""Fixtures shared by the integration tests.

``hq_db_url`` is the database a test's HQ runs on. Every HQ test that takes it runs once per back
end: on a SQLite file, and (marked ``postgres``) on a fresh database in a throwaway PostgreSQL
cluster that the session starts and removes.

The cluster is real PostgreSQL from Debian's ``postgresql`` package (scripts/install-debian-deps.sh
installs it): ``initdb`` in a temporary folder, its own free port on 127.0.0.1, its socket inside
that folder, so it never meets the machine's own cluster. It starts the first time a test asks for
it and is stopped and removed at the end of the session, also when tests failed. A machine without
PostgreSQL fails those tests, never skips them: a skipped back end would pass CI untested.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import psycopg2
import pytest
from hq_fixtures import forget_identity_file, set_identity_file, sqlite_url

from hq import db as hq_db
from hq.models import database

PG_START_TIMEOUT_S = 60
PG_STOP_TIMEOUT_S = 30
INSTALL_HINT = "install it with `sudo bash scripts/install-debian-deps.sh` (Debian 12: PostgreSQL 15)"


def _pg_bindir() -> Path | None:
    """The folder of initdb/pg_ctl: pg_config's answer, else the newest /usr/lib/postgresql/*/bin."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config is not None:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            )
            candidates.append(Path(out.stdout.strip()))

    def version(path: Path) -> tuple[int, ...]:
        name = path.parent.name
        return tuple(int(p) for p in name.split(".") if p.isdigit())

    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=version, reverse=True)
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class PgCluster:
    """A running throwaway cluster: superuser ``postgres``, trust authentication, 127.0.0.1 only."""

    root: Path
    bindir: Path
    port: int
    as_postgres_user: bool

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log_file(self) -> Path:
        return self.root / "server.log"

    def url(self, dbname: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def run(self, argv: Sequence[str], timeout: float) -> subprocess.CompletedProcess[str]:
        """Run a PostgreSQL tool as the cluster's owner (root may not run initdb or the server)."""
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_postgres_user else []
        return subprocess.run(
            [*prefix, *argv], capture_output=True, text=True, timeout=timeout, check=False, cwd=self.root
        )

    def admin(self) -> psycopg2.extensions.connection:
        conn = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres")
        conn.autocommit = True
        return conn

    def create_database(self) -> str:
        name = "hq_" + uuid.uuid4().hex[:16]
        with contextlib.closing(self.admin()) as conn, conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        # FORCE ends sessions a failed test may have left open, so nothing outlives its test
        with contextlib.closing(self.admin()) as conn, conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def log_tail(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")[-4000:]
        except OSError:
            return "(no server log)"

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.run(
                [str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"],
                PG_STOP_TIMEOUT_S,
            )


def _start_cluster(bindir: Path) -> PgCluster:
    as_root = os.geteuid() == 0
    if as_root:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            pytest.fail(f"no 'postgres' user to run the test cluster as; {INSTALL_HINT}", pytrace=False)
    # not under pytest's tmp_path: its base is private to root, and the server runs as postgres
    root = Path(tempfile.mkdtemp(prefix="hq-test-pg-"))
    if as_root:
        os.chown(root, owner.pw_uid, owner.pw_gid)
    cluster = PgCluster(root, bindir, 0, as_root)
    init = cluster.run(
        [
            str(bindir / "initdb"),
            "-D",
            str(cluster.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        ],
        PG_START_TIMEOUT_S,
    )
    if init.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"initdb failed ({init.returncode}): {init.stderr.strip()[-2000:]}", pytrace=False)
    options = (
        "-c listen_addresses=127.0.0.1 -c unix_socket_directories={sock} -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200 -p {port}"
    )
    for _attempt in range(3):  # a free port can be taken between choosing and binding it
        cluster.port = _free_port()
        started = cluster.run(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(cluster.data),
                "-l",
                str(cluster.log_file),
                "-w",
                "-t",
                str(PG_START_TIMEOUT_S),
                "-o",
                options.format(sock=root, port=cluster.port),
                "start",
            ],
            PG_START_TIMEOUT_S + 10,
        )
        if started.returncode == 0:
            return cluster
    log = cluster.log_tail()
    cluster.stop()
    shutil.rmtree(root, ignore_errors=True)
    pytest.fail(f"the test PostgreSQL cluster did not start: {started.stderr.strip()}\n{log}", pytrace=False)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """One throwaway PostgreSQL cluster for the session, stopped and removed at its end."""
    bindir = _pg_bindir()
    if bindir is None:
        pytest.fail(
            "PostgreSQL is not installed (no initdb/pg_ctl from `pg_config --bindir` or "
            f"/usr/lib/postgresql/*/bin), and the tests marked postgres need it: {INSTALL_HINT}",
            pytrace=False,
        )
    cluster = _start_cluster(bindir)
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(cluster.root, ignore_errors=True)


def _unbind_hq_database() -> None:
    """Close and forget the database HQ's models are bound to, so the next test binds its own.

    Peewee's proxy is process-wide: left bound, a test on SQLite after one on PostgreSQL (or the
    reverse) would reuse the last test's database whenever it reached the models before binding.
    """
    current = database.obj
    if current is not None:
        current.close()
        if hasattr(current, "close_all"):
            current.close_all()
    database.initialize(None)
    hq_db._bound_url.clear()


@pytest.fixture
def pg_database_url(pg_cluster: PgCluster) -> Iterator[str]:
    """The URL of a new, empty database in the session's cluster, dropped after the test."""
    name = pg_cluster.create_database()
    try:
        yield pg_cluster.url(name)
    finally:
        _unbind_hq_database()
        pg_cluster.drop_database(name)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def hq_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty HQ database, on each back end in turn.

    With PostgreSQL HQ needs ``[auth] identity_file``: ``hq_fixtures.start_hq`` gives the one in
    this test's tmp_path (``identity_file_for``), as a SQLite HQ keeps it beside its file.
    """
    if request.param == "sqlite":
        url = sqlite_url(tmp_path / "hq.sqlite3")
        try:
            yield url
        finally:
            _unbind_hq_database()
        return
    url = request.getfixturevalue("pg_database_url")
    set_identity_file(url, tmp_path / "hq-identity.key")
    try:
        yield url
    finally:
        forget_identity_file(url)
