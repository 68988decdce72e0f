"""Signing the kiosk's requests to HQ with its enrolment secret, and keeping its clock offset to HQ.

``HqSigner`` is a ``requests`` auth: it signs each prepared request (docs/sync-protocol.md §2) with
a fresh nonce and ``ts`` = the kiosk's clock plus its measured offset to HQ. ``observe`` takes HQ's
``X-HQ-Time`` from any answer and updates the offset, so a kiosk whose clock is far off keeps
syncing; the offset is reported in heartbeats.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import requests

from kiosk_common import signing

HQ_TIME_HEADER = "X-HQ-Time"
PROTOCOL_HEADER = "X-Sync-Protocol"
PROTOCOL_VERSION = 1


class HqSigner(requests.auth.AuthBase):
    def __init__(self, kiosk_id: str, secret: bytes, wall_clock: Callable[[], float] = time.time) -> None:
        self.kiosk_id = kiosk_id
        self._secret = secret
        self._clock = wall_clock
        self._lock = threading.Lock()
        #: HQ's clock minus ours, seconds; 0 until HQ has answered once
        self._offset_s = 0.0

    def __repr__(self) -> str:  # never the secret
        return f"HqSigner(kiosk_id={self.kiosk_id!r})"

    @property
    def offset_s(self) -> float:
        with self._lock:
            return self._offset_s

    def hq_now(self) -> float:
        """Our estimate of HQ's clock, unix seconds."""
        return self._clock() + self.offset_s

    def observe(self, response: requests.Response, sent_at: float | None = None) -> None:
        """Learn HQ's clock from an answer: X-HQ-Time plus half the round trip when it is known."""
        raw = response.headers.get(HQ_TIME_HEADER)
        if raw is None:
            return
        try:
            hq_time = float(raw)
        except ValueError:
            return
        now = self._clock()
        half_trip = max(0.0, now - sent_at) / 2 if sent_at is not None else 0.0
        with self._lock:
            self._offset_s = hq_time + half_trip - now

    def check_now_refusal(self, notice: signing.CheckNowNotice) -> str:
        """Why HQ's check-now ``notice`` must be ignored ("" when it is genuine, for this kiosk and
        fresh by HQ's clock as this kiosk knows it): ``kiosk_common.signing.check_now_refusal``."""
        return signing.check_now_refusal(self._secret, self.kiosk_id, notice, self.hq_now())

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        parts = urlsplit(request.url or "")
        path_qs = parts.path + (f"?{parts.query}" if parts.query else "")
        request.headers["Authorization"] = signing.authorization(
            self.kiosk_id, self._secret, request.method or "GET", path_qs, body, int(self.hq_now())
        )
        request.headers[PROTOCOL_HEADER] = str(PROTOCOL_VERSION)
        return request
