"""Fleet status: each kiosk's last heartbeat, version, lag and alerts (docs/sync-protocol.md §4).

``fleet_status`` is a pure function of the device rows and ``now``, so every alert is tested on an
injected clock; ``load_rows`` is the one place that reads the database. A heartbeat body is read
defensively: HQ validated it on the way in, but a field that is missing or of the wrong type here
simply gives no reading rather than a crash in the admin's status page.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from peewee import JOIN

from hq import i18n
from hq.i18n import Text
from hq.models import Device, Store, utc_text

#: the kiosks' default ``[hq] heartbeat_s``; ``hq fleet status --heartbeat-s`` overrides it
DEFAULT_HEARTBEAT_S = 60
#: a kiosk unheard for this many heartbeat intervals is reported
MISSED_HEARTBEATS = 3
DISK_LOW_BYTES = 500 * 1000 * 1000
SKEW_ALERT_S = 60.0


class AlertCode(StrEnum):
    SILENT = "no_heartbeat"
    PAPER_OUT = "paper_out"
    COVER_OPEN = "cover_open"
    CAMERA_FAILED = "camera_failed"
    DISK_LOW = "disk_low"
    CLOCK_SKEW = "clock_skew"
    PARKED = "parked_events"
    MAINTENANCE_LOCKOUT = "maintenance_lockout"


@dataclass(frozen=True, slots=True)
class Alert:
    code: AlertCode
    text: Text


@dataclass(frozen=True, slots=True)
class DeviceRow:
    """What fleet status needs of one ``device`` row (and its store's code)."""

    kiosk_id: str
    store: str | None
    enrolled_at: datetime | None
    revoked_at: datetime | None
    last_seen_at: datetime | None
    clock_skew_s: float | None
    last_heartbeat_at: datetime | None
    last_heartbeat: str | None
    app_version: str | None


@dataclass(frozen=True, slots=True)
class KioskStatus:
    kiosk_id: str
    store: str | None
    revoked: bool
    app_version: str | None
    last_seen_at: datetime | None
    last_heartbeat_at: datetime | None
    #: seconds since the last heartbeat, None if there never was one
    heartbeat_age_s: float | None
    #: events waiting in the kiosk's outbox at its last heartbeat
    outbox_depth: int | None
    parked: int | None
    catalog_version: int | None
    #: the larger of HQ's measured skew and the kiosk's reported offset, seconds, signed
    clock_skew_s: float | None
    heartbeat: dict[str, Any] = field(default_factory=dict)
    alerts: tuple[Alert, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "kiosk_id": self.kiosk_id,
            "store": self.store,
            "revoked": self.revoked,
            "app_version": self.app_version,
            "last_seen_at": _iso(self.last_seen_at),
            "last_heartbeat_at": _iso(self.last_heartbeat_at),
            "heartbeat_age_s": None if self.heartbeat_age_s is None else round(self.heartbeat_age_s, 1),
            "outbox_depth": self.outbox_depth,
            "parked": self.parked,
            "catalog_version": self.catalog_version,
            "clock_skew_s": None if self.clock_skew_s is None else round(self.clock_skew_s, 3),
            "heartbeat": self.heartbeat,
            "alerts": [
                {"code": a.code.value, "message": a.text.en, "message_zh": a.text.zh} for a in self.alerts
            ],
        }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else utc_text(moment)


def _int(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _float(body: dict[str, Any], name: str) -> float | None:
    value = body.get(name)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _parse(raw: str | None) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def kiosk_status(row: DeviceRow, now: datetime, heartbeat_s: int = DEFAULT_HEARTBEAT_S) -> KioskStatus:
    """One kiosk's status at ``now`` (naive UTC). A revoked kiosk raises no alerts: it is gone."""
    body = _parse(row.last_heartbeat)
    age = (now - row.last_heartbeat_at).total_seconds() if row.last_heartbeat_at is not None else None
    outbox = _int(body, "outbox_depth")
    parked = _int(body, "parked")
    readings = [s for s in (row.clock_skew_s, _float(body, "clock_offset_s")) if s is not None]
    skew = max(readings, key=abs) if readings else None
    alerts: list[Alert] = []
    if row.revoked_at is None:
        limit = MISSED_HEARTBEATS * heartbeat_s
        if age is None:
            alerts.append(Alert(AlertCode.SILENT, i18n.ALERT_NEVER_HEARD))
        elif age > limit:
            alerts.append(Alert(AlertCode.SILENT, i18n.ALERT_SILENT.format(minutes=round(age / 60))))
        printer = body.get("printer")
        if isinstance(printer, dict):
            if printer.get("paper") == "out":
                alerts.append(Alert(AlertCode.PAPER_OUT, i18n.ALERT_PAPER_OUT))
            if printer.get("cover") == "open":
                alerts.append(Alert(AlertCode.COVER_OPEN, i18n.ALERT_COVER_OPEN))
        if body.get("camera") == "failed":
            alerts.append(Alert(AlertCode.CAMERA_FAILED, i18n.ALERT_CAMERA_FAILED))
        disk = _int(body, "disk_free_bytes")
        if disk is not None and disk < DISK_LOW_BYTES:
            alerts.append(Alert(AlertCode.DISK_LOW, i18n.ALERT_DISK_LOW.format(mb=disk // 1_000_000)))
        if skew is not None and abs(skew) > SKEW_ALERT_S:
            alerts.append(Alert(AlertCode.CLOCK_SKEW, i18n.ALERT_CLOCK_SKEW.format(seconds=round(skew))))
        if parked:
            alerts.append(Alert(AlertCode.PARKED, i18n.ALERT_PARKED.format(count=parked)))
        lockouts = _int(body, "maintenance_lockouts")
        if lockouts:
            alerts.append(
                Alert(AlertCode.MAINTENANCE_LOCKOUT, i18n.ALERT_MAINTENANCE_LOCKOUT.format(count=lockouts))
            )
    return KioskStatus(
        kiosk_id=row.kiosk_id,
        store=row.store,
        revoked=row.revoked_at is not None,
        app_version=row.app_version
        or (body.get("app_version") if isinstance(body.get("app_version"), str) else None),
        last_seen_at=row.last_seen_at,
        last_heartbeat_at=row.last_heartbeat_at,
        heartbeat_age_s=age,
        outbox_depth=outbox,
        parked=parked,
        catalog_version=_int(body, "catalog_version"),
        clock_skew_s=skew,
        heartbeat=body,
        alerts=tuple(alerts),
    )


def fleet_status(
    rows: list[DeviceRow], now: datetime, heartbeat_s: int = DEFAULT_HEARTBEAT_S
) -> list[KioskStatus]:
    """Every kiosk's status, by store and kiosk id."""
    ordered = sorted(rows, key=lambda r: (r.store or "", r.kiosk_id))
    return [kiosk_status(row, now, heartbeat_s) for row in ordered]


def report(rows: list[DeviceRow], now: datetime, heartbeat_s: int = DEFAULT_HEARTBEAT_S) -> dict[str, Any]:
    """The whole fleet as JSON: what ``hq fleet status --json`` prints and the admin API answers."""
    return {
        "generated_at": _iso(now),
        "heartbeat_s": heartbeat_s,
        "kiosks": [s.as_json() for s in fleet_status(rows, now, heartbeat_s)],
    }


def load_rows() -> list[DeviceRow]:
    """The device rows fleet status is computed from. Must run inside a connection."""
    query = Device.select(Device, Store).join(Store, JOIN.LEFT_OUTER)
    return [
        DeviceRow(
            kiosk_id=d.kiosk_id,
            store=d.store.code if d.store is not None else None,
            enrolled_at=d.enrolled_at,
            revoked_at=d.revoked_at,
            last_seen_at=d.last_seen_at,
            clock_skew_s=d.clock_skew_s,
            last_heartbeat_at=d.last_heartbeat_at,
            last_heartbeat=d.last_heartbeat,
            app_version=d.app_version,
        )
        for d in query
    ]
