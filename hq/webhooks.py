"""Events for other systems: each sale and refund HQ stores, posted to ``[webhooks] url`` at least once
(docs/sync-protocol.md §6).

A delivery row is written in the same transaction as the sale or refund (``hq.events``), so none is
lost. The deliverer, a thread of each HQ process, takes due rows by *leasing* them (a conditional
UPDATE that only one process can win), posts each with a fresh signature, and marks it delivered on
a 2xx answer; otherwise it tries again after 5 s, doubling up to 1 h apart, and after ``max_age_s``
(3 days) gives up and keeps the row as failed. A lease that is never settled (the process died
mid-post) runs out and the row is taken again: receivers de-duplicate on ``X-Kiosk-Event-Id``.

The signature is ``X-Kiosk-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>``
where the secret is the text of the secret file (64 hex digits) as ASCII bytes.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import peewee
import requests

from hq.db import connected
from hq.identity import load_or_create_key
from hq.models import WebhookDelivery, database, utc_now

log = logging.getLogger(__name__)

FIRST_BACKOFF_S = 5.0
MAX_BACKOFF_S = 3600.0
#: due rows one pass takes at most; the next pass takes more
BATCH = 50
SIGNATURE_HEADER = "X-Kiosk-Signature"
EVENT_ID_HEADER = "X-Kiosk-Event-Id"
_EPOCH = datetime(1970, 1, 1)


def secret_path(setting: str, db_url: str) -> Path:
    """The webhook secret file: the setting, or ``hq-webhook.key`` beside a SQLite database."""
    if setting:
        return Path(setting)
    from hq.db import DatabaseOpenError, sqlite_path

    if db_url.partition("://")[0].lower() != "sqlite":
        raise DatabaseOpenError(
            "with PostgreSQL and [webhooks] url set, set [webhooks] secret_file (HQ_WEBHOOKS__SECRET_FILE) "
            "to a file every HQ host can read; HQ makes it on first start"
        )
    return sqlite_path(db_url).parent / "hq-webhook.key"


def load_secret(path: Path) -> bytes:
    """The signing secret: the file's 64 hex digits as ASCII, made (0600) if the file is missing."""
    return load_or_create_key(path).hex().encode("ascii")


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret, str(timestamp).encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: bytes, header: str, body: bytes, now: float, tolerance_s: float = 300.0) -> bool:
    """What a receiver does: the signature matches and ``t`` is recent (reference for docs/hq.md)."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), header)


def backoff_s(attempts: int) -> float:
    """Seconds to wait after the ``attempts``-th failed try: 5, 10, 20, ... at most 3600."""
    return float(min(MAX_BACKOFF_S, FIRST_BACKOFF_S * 2 ** max(0, attempts - 1)))


Poster = Callable[[str, bytes, dict[str, str], float], int]


def _post(url: str, body: bytes, headers: dict[str, str], timeout_s: float) -> int:
    reply = requests.post(url, data=body, headers=headers, timeout=timeout_s, allow_redirects=False)
    reply.close()
    return reply.status_code


@dataclass
class Deliverer:
    """Sends due deliveries. ``deliver_once(now)`` is one pass, with an injected clock for tests."""

    url: str
    secret: bytes
    timeout_s: float = 10.0
    max_age_s: float = 3 * 86400.0
    post: Poster = _post

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=2 * self.timeout_s + 30)

    def _take(self, now: datetime, limit: int) -> list[WebhookDelivery]:
        due = (
            WebhookDelivery.select(WebhookDelivery.id)
            .where(
                WebhookDelivery.delivered_at.is_null(),
                WebhookDelivery.failed_at.is_null(),
                WebhookDelivery.next_attempt_at <= now,
                WebhookDelivery.lease_until.is_null() | (WebhookDelivery.lease_until < now),
            )
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
            .limit(limit)
        )
        ids = [row.id for row in due]
        taken: list[WebhookDelivery] = []
        for row_id in ids:
            with database.atomic():
                won = (
                    WebhookDelivery.update(lease_until=now + self.lease)
                    .where(
                        WebhookDelivery.id == row_id,
                        WebhookDelivery.delivered_at.is_null(),
                        WebhookDelivery.failed_at.is_null(),
                        WebhookDelivery.lease_until.is_null() | (WebhookDelivery.lease_until < now),
                    )
                    .execute()
                )
            if won:
                taken.append(WebhookDelivery.get_by_id(row_id))
        return taken

    def _send(self, row: WebhookDelivery, now: datetime) -> str | None:
        """None when the receiver took it, else what went wrong."""
        body = row.payload.encode("utf-8")
        stamp = int((now - _EPOCH).total_seconds())
        headers = {
            "Content-Type": "application/json",
            EVENT_ID_HEADER: row.event_id,
            SIGNATURE_HEADER: sign(self.secret, stamp, body),
            "User-Agent": "kiosk-hq-webhooks/1",
        }
        try:
            status = self.post(self.url, body, headers, self.timeout_s)
        except requests.RequestException as exc:
            return f"{type(exc).__name__}: {str(exc)[:200]}"
        return None if 200 <= status < 300 else f"HTTP {status}"

    def deliver_once(self, now: datetime | None = None, limit: int = BATCH) -> int:
        """Take and send the deliveries due at ``now`` (naive UTC); how many were tried.

        Must run inside a connection (``hq.db.connected``).
        """
        moment = now or utc_now()
        rows = self._take(moment, limit)
        for row in rows:
            error = self._send(row, moment)
            attempts = row.attempts + 1
            values: dict[str, object] = {"attempts": attempts, "lease_until": None}
            if error is None:
                values["delivered_at"] = moment
                values["last_error"] = ""
            else:
                values["last_error"] = error[:255]
                values["next_attempt_at"] = moment + timedelta(seconds=backoff_s(attempts))
                if (moment - row.created_at).total_seconds() >= self.max_age_s:
                    values["failed_at"] = moment
                    log.error(
                        "webhook %s (%s) gave up after %d attempts: %s",
                        row.event_id,
                        row.kind,
                        attempts,
                        error,
                    )
                else:
                    log.warning("webhook %s attempt %d failed: %s", row.event_id, attempts, error)
            with database.atomic():
                WebhookDelivery.update(**values).where(WebhookDelivery.id == row.id).execute()
        return len(rows)

    def run(self, stop: threading.Event, poll_s: float = 1.0) -> None:
        """Deliver until ``stop`` is set: at once while there is work, else every ``poll_s``."""
        while not stop.is_set():
            busy = 0
            try:
                with connected():
                    busy = self.deliver_once()
            except peewee.PeeweeException as exc:
                log.warning("webhook deliverer: database error, trying again: %s", exc)
            except Exception:
                log.exception("webhook deliverer failed a pass; trying again")
            if not busy:
                stop.wait(poll_s)


class DelivererThread:
    """The deliverer on a daemon thread, started and stopped by the app's lifespan."""

    def __init__(self, deliverer: Deliverer, poll_s: float = 1.0) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=deliverer.run, args=(self._stop, poll_s), name="hq-webhooks", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 15.0) -> bool:
        self._stop.set()
        self._thread.join(timeout_s)
        return not self._thread.is_alive()


def pending_counts() -> dict[str, int]:
    """Deliveries waiting, delivered and failed (for metrics and the admin)."""
    base = WebhookDelivery.select()
    return {
        "pending": base.where(
            WebhookDelivery.delivered_at.is_null(), WebhookDelivery.failed_at.is_null()
        ).count(),
        "delivered": base.where(WebhookDelivery.delivered_at.is_null(False)).count(),
        "failed": base.where(WebhookDelivery.failed_at.is_null(False)).count(),
    }
