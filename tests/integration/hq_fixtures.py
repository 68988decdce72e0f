"""A real HQ for tests: the FastAPI app under uvicorn on 127.0.0.1, on a SQLite file, in a thread.

Import from test modules in this folder (``from hq_fixtures import ...``); pytest puts the folder on
sys.path. Nothing here is a stand-in for our code: it only starts and stops the real server.
"""

from __future__ import annotations

import contextlib
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from hq.app import create_app
from hq.auth import identity_path
from hq.background import BackgroundServer
from hq.db import connected
from hq.devices import add_store, enrol_device, store_by_code
from hq.identity import load_or_create_key
from hq.models import Store
from hq.settings import AuthSection, WebhooksSection
from kiosk.sync.signed import HqSigner

# bounds, not waits: start returns as soon as the server says it listens and /healthz answers; the
# bounds only decide how long a broken start may hang a test, so they allow for a 2-core machine
# loaded far past its cores (seen: over 10 s to start uvicorn at a load average of 25)
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0


def sqlite_url(path: Path) -> str:
    """``sqlite:///`` + an absolute path, the form hq/defaults/hq.toml documents."""
    return "sqlite:///" + str(path.resolve()).lstrip("/")


#: the identity file of an HQ on a database that has no folder to keep it in (PostgreSQL), by URL;
#: conftest's ``hq_db_url`` sets it per test, so HQ restarted on the same URL keeps its kiosks' secrets
_identity_files: dict[str, Path] = {}


def set_identity_file(db_url: str, path: Path) -> None:
    _identity_files[db_url] = path


def forget_identity_file(db_url: str) -> None:
    _identity_files.pop(db_url, None)


def identity_file_for(db_url: str) -> str:
    """The ``[auth] identity_file`` for an HQ on ``db_url``: empty (beside SQLite) unless set above."""
    path = _identity_files.get(db_url)
    return "" if path is None else str(path)


def closed_port() -> int:
    """A port nothing listens on right now (the OS chose it free, and we closed it again)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class LiveHq:
    db_url: str
    background: BackgroundServer
    background_identity: Path

    @property
    def port(self) -> int:
        return self.background.port

    @property
    def url(self) -> str:
        return self.background.url

    @property
    def identity_file(self) -> Path:
        """HQ's identity file (beside the SQLite database unless the test gave [auth] identity_file)."""
        return self.background_identity

    def enrol(self, kiosk_id: str, store: str = "s01") -> HqSigner:
        """Enrol a kiosk in ``store`` (made if missing) as redeeming a code does, in this process
        and database, and return a signer holding its new secret."""
        key = load_or_create_key(self.identity_file)
        with connected():
            found = Store.get_or_none(Store.code == store)
            target = found if found is not None else add_store(store, f"Store {store}")
            secret = enrol_device(key, store_by_code(target.code), kiosk_id)
        return HqSigner(kiosk_id, secret)

    def session(self, signer: HqSigner) -> requests.Session:
        """A requests session that signs as ``signer`` and learns HQ's clock from each answer."""
        session = requests.Session()
        session.auth = signer
        session.hooks["response"].append(lambda r, *a, **k: signer.observe(r))
        return session

    def stop(self) -> None:
        assert self.background.stop(STOP_TIMEOUT_S), "HQ server thread did not stop"


def start_hq(
    db_url: str,
    port: int = 0,
    auth: AuthSection | None = None,
    clock: Callable[[], float] = time.monotonic,
    webhooks: WebhooksSection | None = None,
    deliverer: bool = True,
) -> LiveHq:
    """Start HQ on 127.0.0.1:``port`` (0 = a free one) and return once /healthz answers.

    ``auth`` and ``clock`` go to ``create_app``: the limits on unknown keys, and the limiter's clock;
    ``webhooks`` and ``deliverer`` too (False: no deliverer thread, the test drives deliveries).
    """
    limits = auth if auth is not None else AuthSection()
    if not limits.identity_file and identity_file_for(db_url):
        limits = limits.model_copy(update={"identity_file": identity_file_for(db_url)})
    app = create_app(db_url, limits, clock, webhooks=webhooks, deliver=deliverer)
    identity = identity_path(limits.identity_file, db_url)
    live = LiveHq(
        db_url, BackgroundServer(app, port=port, name="hq-test-server").start(START_TIMEOUT_S), identity
    )
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            if requests.get(f"{live.url}/healthz", timeout=1.0).json() == {"ok": True}:
                return live
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            live.stop()
            raise RuntimeError(f"HQ did not answer /healthz on {live.url} within {START_TIMEOUT_S} s")
        time.sleep(0.05)


@contextlib.contextmanager
def running_hq(
    db_url: str,
    port: int = 0,
    auth: AuthSection | None = None,
    clock: Callable[[], float] = time.monotonic,
    webhooks: WebhooksSection | None = None,
) -> Iterator[LiveHq]:
    live = start_hq(db_url, port, auth, clock, webhooks)
    try:
        yield live
    finally:
        live.stop()


def make_sale(kiosk_id: str = "kiosk-001", **changes: Any) -> dict[str, Any]:
    """A valid sale record (docs/sale-payload.md) with a fresh order id; ``changes`` replace fields."""
    order_id = str(uuid.uuid4())
    sale: dict[str, Any] = {
        "order_id": order_id,
        "kiosk_id": kiosk_id,
        "created_at": "2026-11-24T12:00:00Z",
        "paid_at": "2026-11-24T12:00:31Z",
        "total_fen": 750,
        "currency": "CNY",
        "channel": "wechat",
        "out_trade_no": f"K001-{order_id[:8]}",
        "transaction_id": f"4200{order_id[:8]}",
        "lines": [
            {
                "sku": "D001",
                "name": "矿泉水 Mineral water",
                "qty": 2,
                "unit_price_fen": 200,
                "line_total_fen": 400,
            },
            {"sku": "D002", "name": "可乐 Cola", "qty": 1, "unit_price_fen": 350, "line_total_fen": 350},
        ],
    }
    sale.update(changes)
    return sale
