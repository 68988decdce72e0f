"""``kiosk demo --headless --orders N --hq URL``: the scripted sales go to an external HQ where this
kiosk is enrolled (commissioning against a staging HQ), and no HQ of the demo's own is started."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hq_fixtures import LiveHq, running_hq, sqlite_url

from hq.catalog import seed_demo
from hq.db import connected
from hq.devices import add_store
from hq.enrolment import make_code
from hq.models import Sale

KIOSK = "kiosk-staging-7"


@pytest.fixture
def staging(tmp_path: Path) -> Iterator[LiveHq]:
    with running_hq(sqlite_url(tmp_path / "staging.sqlite3")) as live:
        with connected():
            add_store("s09", "Staging store")
            seed_demo()
        yield live


def _kiosk(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    return subprocess.run(
        [sys.executable, "-m", "kiosk", *args],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
        check=False,
    )


def test_demo_sends_its_sales_to_the_enrolled_external_hq(staging: LiveHq, tmp_path: Path) -> None:
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text(
        f'[kiosk]\nid = "{KIOSK}"\ndata_dir = "{tmp_path / "kiosk-data"}"\n[hq]\nurl = "{staging.url}"\n'
    )
    out = tmp_path / "demo"
    # not enrolled yet: refused before anything starts
    refused = _kiosk(
        "demo", "--headless", "--orders", "2", "--hq", staging.url, "--config", str(cfg), "--out", str(out)
    )
    assert refused.returncode == 2 and "kiosk enroll CODE --hq" in refused.stderr
    with connected():
        code = make_code("s09", KIOSK).code
    enrolled = _kiosk("enroll", code, "--config", str(cfg))
    assert enrolled.returncode == 0, enrolled.stderr
    result = _kiosk(
        "demo", "--headless", "--orders", "3", "--hq", staging.url, "--config", str(cfg),
        "--out", str(out), "--no-screenshots",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert (summary["orders"], summary["paid"], summary["synced"]) == (3, 3, 3)
    assert not (out / "hq.sqlite3").exists()  # no HQ of its own
    with connected():
        assert Sale.select().where(Sale.kiosk_id == KIOSK).count() == 3
    receipt = sorted((out / "receipts").glob("receipt-*.txt"))[0].read_text(encoding="utf-8")
    assert f"[QR] {staging.url}/r/{KIOSK}/" in receipt


def test_demo_refuses_an_hq_this_kiosk_is_not_enrolled_at(staging: LiveHq, tmp_path: Path) -> None:
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text(
        f'[kiosk]\nid = "{KIOSK}"\ndata_dir = "{tmp_path / "kiosk-data"}"\n[hq]\nurl = "{staging.url}"\n'
    )
    with connected():
        code = make_code("s09", KIOSK).code
    assert _kiosk("enroll", code, "--config", str(cfg)).returncode == 0
    other = "http://127.0.0.1:9"
    result = _kiosk(
        "demo", "--headless", "--hq", other, "--config", str(cfg), "--out", str(tmp_path / "demo")
    )
    assert result.returncode == 2 and f"enrolled at {staging.url}" in result.stderr
