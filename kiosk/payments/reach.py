"""Whether the payment gateway can be reached, asked in the background without charging anything.

``HttpGatewayProbe`` is ``kiosk doctor``'s gateway check made cheap enough to repeat: an HTTP HEAD to
each configured channel's ``gateway_url``. Any answer (even 404 or 405) means the host is there; only a
refused connection, a DNS failure or a timeout counts as unreachable. Nothing is signed, so a wrong
clock or wrong keys never look like a network fault.

``GatewayWatch`` repeats the probe on a thread of its own and hands each answer to the controller,
which keeps the run of failures (``kiosk.core.availability.GatewayReach``) and decides. The probe
never runs on the UI thread nor on the payment worker: it cannot delay a charge, and a charge cannot
delay it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

import requests

from kiosk.ports import GatewayProbe

#: how long stop() waits for the probe thread (a probe in its own timeout is left to finish)
STOP_TIMEOUT_S = 1.0

log = logging.getLogger(__name__)


class HttpGatewayProbe:
    """Reachable when any configured channel's host answers: one channel down still lets customers of
    the other pay (their failures at the other channel are the charge's business), so only all of
    them down is a reason to turn customers away."""

    def __init__(self, urls: Sequence[str], timeout_s: float = 3.0) -> None:
        if not urls:
            raise ValueError("a gateway probe needs at least one channel address")
        self.urls = tuple(urls)
        self.timeout_s = timeout_s

    def reachable(self) -> bool:
        for url in self.urls:
            try:
                requests.head(url, timeout=self.timeout_s, allow_redirects=False)
            except requests.RequestException as exc:
                log.info("payment gateway %s did not answer: %s", url, type(exc).__name__)
                continue
            except Exception:  # a probe must never take its thread down
                log.exception("payment gateway probe of %s failed", url)
                continue
            return True
        return False


class GatewayWatch:
    """Probes every ``interval_s`` seconds and calls ``on_result(ok)`` with each answer (on its thread)."""

    def __init__(
        self, probe: GatewayProbe, on_result: Callable[[bool], None], *, interval_s: float = 30.0
    ) -> None:
        if not interval_s > 0:
            raise ValueError(f"interval_s must be more than 0, got {interval_s}")
        self.probe = probe
        self.on_result = on_result
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def probe_once(self) -> bool:
        """One probe, its answer handed on; tests call this to take one at a known moment."""
        try:
            ok = bool(self.probe.reachable())
        except Exception:  # the port says it never raises; a bug in one still means "no answer"
            log.exception("gateway probe raised")
            ok = False
        try:
            self.on_result(ok)
        except Exception:
            log.exception("gateway probe result not taken")
        return ok

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="kiosk-gateway-watch", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """Stop waiting; a probe in its timeout is left to finish on the daemon thread."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout_s)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.probe_once()
            self._stop.wait(self.interval_s)
