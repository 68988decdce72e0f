"""Several HQ hosts starting together on one empty PostgreSQL database: one migrates, the others wait
for it and find the schema current. (With --workers the supervisor migrates before any worker
starts; this is about separate hosts or commands.)"""

from __future__ import annotations

import subprocess
import sys

import pytest

from hq.db import connected, open_database
from hq.migrations import MIGRATIONS
from hq.models import SchemaVersion

OPENERS = 4
SCRIPT = """
import sys
from hq.db import open_database
print("ready", flush=True)
sys.stdin.readline()  # the go signal: every opener is loaded, so the migrations overlap
open_database(sys.argv[1])
print("ok", flush=True)
"""


@pytest.mark.postgres
def test_hosts_opening_an_empty_database_together_all_succeed(pg_database_url: str) -> None:
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", SCRIPT, pg_database_url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(OPENERS)
    ]
    for p in processes:
        assert p.stdout is not None
        assert p.stdout.readline() == "ready\n"
    for p in processes:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    results = [p.communicate(timeout=120) for p in processes]
    failures = [err for (out, err), p in zip(results, processes, strict=True) if p.returncode != 0]
    assert failures == [], failures[0][-2000:] if failures else ""
    open_database(pg_database_url)
    with connected():
        assert [row.version for row in SchemaVersion.select()] == [len(MIGRATIONS)]
