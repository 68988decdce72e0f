"""Fixtures shared by the integration tests.

``hq_db_url`` is the database a test's HQ runs on. Every HQ test that takes it runs once per back
end: on a SQLite file, and (marked ``postgres``) on a fresh database in a throwaway PostgreSQL
cluster that the session starts and removes.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hq_fixtures import sqlite_url


@pytest.fixture(params=["sqlite"])
def hq_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of an empty HQ database, on each back end in turn."""
    return sqlite_url(tmp_path / "hq.sqlite3")
