"""Fleet status as a pure function of device rows and an injected ``now``: every alert of
docs/sync-protocol.md §4, table-driven."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from hq.fleet import AlertCode, DeviceRow, fleet_status, kiosk_status, report

NOW = datetime(2026, 12, 2, 8, 0, 0)
HEALTHY: dict[str, Any] = {
    "at": "2026-12-02T07:59:30Z",
    "app_version": "0.9.0",
    "printer": {"ready": True, "paper": "ok", "cover": "closed"},
    "camera": "ok",
    "disk_free_bytes": 8_000_000_000,
    "temperature_c": 48.3,
    "outbox_depth": 0,
    "parked": 0,
    "catalog_version": 42,
    "clock_offset_s": -0.4,
}


def row(beat: dict[str, Any] | None = None, age_s: float = 30, **changes: Any) -> DeviceRow:
    base = DeviceRow(
        kiosk_id="kiosk-001",
        store="s01",
        enrolled_at=NOW - timedelta(days=3),
        revoked_at=None,
        last_seen_at=NOW - timedelta(seconds=age_s),
        clock_skew_s=0.1,
        last_heartbeat_at=NOW - timedelta(seconds=age_s),
        last_heartbeat=json.dumps(HEALTHY if beat is None else beat),
        app_version="0.9.0",
    )
    return replace(base, **changes)


def with_(**changes: Any) -> dict[str, Any]:
    return {**HEALTHY, **changes}


def codes(r: DeviceRow, heartbeat_s: int = 60) -> list[AlertCode]:
    return [a.code for a in kiosk_status(r, NOW, heartbeat_s).alerts]


@pytest.mark.parametrize(
    ("device", "expected"),
    [
        (row(), []),
        (row(age_s=180), []),  # three intervals exactly: not yet
        (row(age_s=181), [AlertCode.SILENT]),
        (row(last_heartbeat_at=None, last_heartbeat=None), [AlertCode.SILENT]),
        (row(with_(printer={"ready": False, "paper": "out", "cover": "closed"})), [AlertCode.PAPER_OUT]),
        (row(with_(printer={"ready": True, "paper": "low", "cover": "closed"})), []),
        (row(with_(printer={"ready": False, "paper": "ok", "cover": "open"})), [AlertCode.COVER_OPEN]),
        (row(with_(camera="failed")), [AlertCode.CAMERA_FAILED]),
        (row(with_(camera="none")), []),
        (row(with_(disk_free_bytes=499_999_999)), [AlertCode.DISK_LOW]),
        (row(with_(disk_free_bytes=500_000_000)), []),
        (row(with_(clock_offset_s=61.0)), [AlertCode.CLOCK_SKEW]),
        (row(with_(clock_offset_s=-60.0)), []),
        (row(clock_skew_s=-75.0), [AlertCode.CLOCK_SKEW]),  # HQ's own measurement counts too
        (row(with_(parked=2)), [AlertCode.PARKED]),
        (
            row(with_(camera="failed", parked=1), age_s=600),
            [AlertCode.SILENT, AlertCode.CAMERA_FAILED, AlertCode.PARKED],
        ),
        (row(with_(camera="failed"), revoked_at=NOW), []),  # a revoked kiosk is gone, not unwell
        (row(with_(maintenance_lockouts=1)), [AlertCode.MAINTENANCE_LOCKOUT]),
        (row(with_(maintenance_lockouts=0)), []),
    ],
)
def test_alerts(device: DeviceRow, expected: list[AlertCode]) -> None:
    assert codes(device) == expected


def test_the_interval_decides_when_silence_is_an_alert() -> None:
    assert codes(row(age_s=400), heartbeat_s=60) == [AlertCode.SILENT]
    assert codes(row(age_s=400), heartbeat_s=300) == []


def test_a_heartbeat_that_is_not_what_the_protocol_says_gives_no_reading_and_no_crash() -> None:
    for raw in (
        "not json",
        "[1, 2]",
        json.dumps({"printer": "jammed", "disk_free_bytes": "lots", "parked": True}),
    ):
        status = kiosk_status(row(last_heartbeat=raw), NOW)
        assert status.outbox_depth is None and status.parked is None and status.alerts == ()


def test_lag_version_and_skew_are_reported() -> None:
    status = kiosk_status(row(with_(outbox_depth=17, clock_offset_s=-3.5), age_s=42, app_version=None), NOW)
    assert (status.outbox_depth, status.heartbeat_age_s, status.catalog_version) == (17, 42.0, 42)
    assert status.app_version == "0.9.0"  # from the heartbeat when the row has none
    assert status.clock_skew_s == -3.5  # the larger of the two readings, with its sign


def test_the_report_is_json_sorted_by_store_then_kiosk() -> None:
    rows = [row(kiosk_id="k2", store="s02"), row(kiosk_id="k9", store="s01"), row(kiosk_id="k1", store="s02")]
    assert [s.kiosk_id for s in fleet_status(rows, NOW)] == ["k9", "k1", "k2"]
    out = report([row(with_(paper="x", camera="failed"))], NOW)
    text = json.dumps(out)  # it is plain JSON
    assert out["generated_at"] == "2026-12-02T08:00:00Z" and out["heartbeat_s"] == 60
    [kiosk] = out["kiosks"]
    assert (
        kiosk["alerts"] == [{"code": "camera_failed", "message": "camera failed", "message_zh": "摄像头故障"}]
        and "kiosk-001" in text
    )
