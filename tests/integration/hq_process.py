"""``hq serve`` as a real subprocess for tests: started on a free port, stopped with SIGTERM.

Import from test modules in this folder (``from hq_process import hq_serve``).
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from hq.db import connected, open_database
from hq.devices import add_store, enrol_device, store_by_code
from hq.identity import load_or_create_key
from kiosk.sync.signed import HqSigner

HQ = str(Path(sys.executable).with_name("hq"))
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0


@dataclass
class Served:
    process: subprocess.Popen[str]
    url: str
    stderr_lines: list[str]


def _pump(stream: object, into: queue.Queue[str | None], keep: list[str] | None = None) -> None:
    assert hasattr(stream, "readline")
    for line in iter(stream.readline, ""):
        if keep is not None:
            keep.append(line)
        into.put(line)
    into.put(None)


@contextmanager
def hq_serve(args: list[str], env: dict[str, str]) -> Iterator[Served]:
    """Start ``hq serve ARGS`` and yield once its URL is printed and /readyz answers 200."""
    process = subprocess.Popen(
        [HQ, "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )
    out: queue.Queue[str | None] = queue.Queue()
    err: queue.Queue[str | None] = queue.Queue()
    stderr_lines: list[str] = []
    threading.Thread(target=_pump, args=(process.stdout, out), daemon=True).start()
    threading.Thread(target=_pump, args=(process.stderr, err, stderr_lines), daemon=True).start()
    try:
        line = out.get(timeout=START_TIMEOUT_S)
        assert line is not None, f"hq serve exited before listening: {''.join(stderr_lines)}"
        match = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert match, line
        url = match.group(0)
        deadline = time.monotonic() + START_TIMEOUT_S
        for _attempt in range(2000):
            try:
                if requests.get(f"{url}/readyz", timeout=5).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert process.poll() is None, f"hq serve exited: {''.join(stderr_lines)}"
            assert time.monotonic() < deadline, f"/readyz never 200: {''.join(stderr_lines)}"
            time.sleep(0.05)
        yield Served(process, url, stderr_lines)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(STOP_TIMEOUT_S)


def enrol_in_database(db_url: str, identity_file: Path, kiosk_id: str) -> HqSigner:
    """Enrol ``kiosk_id`` in store s01 by writing HQ's database from this process, as the CLI does."""
    open_database(db_url)
    with connected():
        store = add_store("s01", "Store s01")
        secret = enrol_device(load_or_create_key(identity_file), store_by_code(store.code), kiosk_id)
    return HqSigner(kiosk_id, secret)


def signed_get_path(url: str) -> str:
    """A GET path kiosks must sign, as HQ's own OpenAPI document lists it."""
    document = requests.get(f"{url}/openapi.json", timeout=10).json()
    for path, operations in document["paths"].items():
        get = operations.get("get")
        if get and any("KioskHmac" in s for s in get.get("security", [])) and "{" not in path:
            return str(path)
    raise AssertionError("HQ documents no signed GET endpoint")
