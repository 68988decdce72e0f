"""Heartbeats: what the kiosk tells HQ about its health every ``[hq] heartbeat_s`` (docs/sync-protocol.md §4).

Gathering is behind one small interface (``HealthProbe``): ``SystemProbe`` reads this machine
(the printer status the print service last saw, the camera's fault, the free space of the store's
folder, the SoC temperature), and a test passes its own readings. ``heartbeat_body`` is pure.
``Heartbeats.beat`` queues the body as a ``heartbeat`` event; the store keeps only the newest unsent.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from kiosk.ports import PrinterStatus

log = logging.getLogger(__name__)

THERMAL_ZONE = Path("/sys/class/thermal/thermal_zone0/temp")
_PAPER = {"ok": "ok", "near_end": "low", "out": "out"}


@dataclass(frozen=True, slots=True)
class Readings:
    """The machine's health now. ``printer`` None: no status known yet."""

    printer: PrinterStatus | None
    camera: str  # ok | failed | none
    disk_free_bytes: int | None
    temperature_c: float | None


class HealthProbe(Protocol):
    def read(self) -> Readings: ...


def read_temperature(path: Path = THERMAL_ZONE) -> float | None:
    """The thermal zone in degrees C (the file holds millidegrees), or None where there is none."""
    try:
        raw = path.read_text(encoding="ascii").strip()
        return round(int(raw) / 1000.0, 1)
    except (OSError, ValueError, UnicodeDecodeError):
        return None


def disk_free(folder: Path) -> int | None:
    try:
        return int(shutil.disk_usage(folder).free)
    except OSError:
        return None


class SystemProbe:
    """This machine's readings. ``printer_status`` and ``camera_fault`` read what the kiosk already
    knows (no device is asked from the sync thread)."""

    def __init__(
        self,
        printer_status: Callable[[], PrinterStatus | None],
        camera_fault: Callable[[], str | None],
        folder: Path,
        thermal: Path = THERMAL_ZONE,
    ) -> None:
        self._printer_status = printer_status
        self._camera_fault = camera_fault
        self._folder = folder
        self._thermal = thermal

    def read(self) -> Readings:
        try:
            printer = self._printer_status()
        except Exception:
            log.exception("printer status for the heartbeat")
            printer = None
        try:
            fault = self._camera_fault()
            camera = "none" if fault is None else ("failed" if fault else "ok")
        except Exception:
            log.exception("camera state for the heartbeat")
            camera = "failed"
        folder = self._folder if self._folder.exists() else Path(os.sep)
        return Readings(printer, camera, disk_free(folder), read_temperature(self._thermal))


def heartbeat_body(
    readings: Readings,
    *,
    at: datetime,
    app_version: str,
    outbox_depth: int,
    parked: int,
    catalog_version: int,
    clock_offset_s: float,
    maintenance_lockouts: int = 0,
    ota: dict[str, Any] | None = None,
) -> dict[str, Any]:
    p = readings.printer
    if p is None:
        printer: dict[str, Any] = {"ready": False, "paper": "unknown", "cover": "unknown"}
    else:
        cover = "unknown" if p.cover_open is None else ("open" if p.cover_open else "closed")
        printer = {"ready": p.ready, "paper": _PAPER.get(p.paper, "unknown"), "cover": cover}
    body: dict[str, Any] = {
        "at": at.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "app_version": app_version,
        "printer": printer,
        "camera": readings.camera,
        "disk_free_bytes": readings.disk_free_bytes,
        "temperature_c": readings.temperature_c,
        "outbox_depth": outbox_depth,
        "parked": parked,
        "catalog_version": catalog_version,
        "clock_offset_s": round(clock_offset_s, 3),
    }
    if maintenance_lockouts:
        # lockouts of the maintenance unlock since staff last unlocked: HQ shows an alert. Sent only
        # when there are some, so an HQ that predates the field refuses no ordinary heartbeat
        body["maintenance_lockouts"] = maintenance_lockouts
    if ota is not None:
        # the update agent's last state (<data>/ota/state.json, docs/ota.md); only on kiosks with an agent
        body["ota"] = ota
    return body


class HeartbeatStore(Protocol):
    def enqueue_heartbeat(self, body: dict[str, Any]) -> None: ...

    def pending_count(self) -> int: ...

    def parked_count(self) -> int: ...

    def catalog_version(self) -> int: ...


class Heartbeats:
    """Queues one heartbeat per ``beat()``; the sync worker calls it every ``[hq] heartbeat_s``."""

    def __init__(
        self,
        store: HeartbeatStore,
        probe: HealthProbe,
        app_version: str,
        clock_offset_s: Callable[[], float],
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        maintenance_lockouts: Callable[[], int] = lambda: 0,
        ota: Callable[[], dict[str, Any] | None] = lambda: None,
    ) -> None:
        self._store = store
        self._ota = ota
        self._lockouts = maintenance_lockouts
        self._probe = probe
        self._version = app_version
        self._offset = clock_offset_s
        self._now = now

    def body(self) -> dict[str, Any]:
        return heartbeat_body(
            self._probe.read(),
            at=self._now(),
            app_version=self._version,
            outbox_depth=self._store.pending_count(),
            parked=self._store.parked_count(),
            catalog_version=self._store.catalog_version(),
            clock_offset_s=self._offset(),
            maintenance_lockouts=self._lockouts(),
            ota=self._ota(),
        )

    def beat(self) -> None:
        self._store.enqueue_heartbeat(self.body())
