"""Which of HQ's settings the kiosk acts on at start, and how it refuses a bad one (kiosk.hq_settings)."""

from __future__ import annotations

import pytest

from kiosk.hq_settings import HQ_MANAGED, apply_hq_settings
from kiosk.settings import load_settings


def test_hq_sets_the_sync_and_unlock_limits_and_nothing_else() -> None:
    local = load_settings(environ={})
    sent = {
        "hq.sync_interval_s": 30,
        "maintenance.lockout_s": 60,
        "maintenance.backoff_from": 3,
        "hq.url": "http://evil.example",  # the address and the rest stay the installer's
        "payments.gateway": "none",
        "receipt.footer": "谢谢惠顾",
    }
    applied, ignored = apply_hq_settings(local, sent)
    assert ignored == []
    assert applied.hq.sync_interval_s == 30 and applied.maintenance.lockout_s == 60
    assert applied.maintenance.backoff_from == 3
    assert applied.hq.url == local.hq.url and applied.payments == local.payments
    assert applied.hq.heartbeat_s == local.hq.heartbeat_s  # untouched fields keep their values
    assert local.hq.sync_interval_s == 10  # the settings given are not changed
    assert {"hq.url", "payments.gateway"}.isdisjoint(HQ_MANAGED)


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ({"hq.sync_interval_s": 0}, "hq.sync_interval_s"),
        ({"hq.sync_interval_s": "soon"}, "hq.sync_interval_s"),
        ({"hq.batch_size": 5000}, "hq.batch_size"),
        ({"maintenance.lockout_s": -1}, "maintenance.lockout_s"),
        # fine alone, wrong together: the whole section keeps its local values
        ({"maintenance.backoff_from": 20, "maintenance.lockout_after": 10}, "maintenance.backoff_from"),
    ],
)
def test_a_value_the_kiosk_refuses_is_ignored_and_the_local_one_kept(
    sent: dict[str, object], kept: str
) -> None:
    local = load_settings(environ={})
    applied, ignored = apply_hq_settings(local, sent)
    assert len(ignored) == 1 and ignored[0].startswith(kept)
    section, field = kept.split(".")
    assert getattr(getattr(applied, section), field) == getattr(getattr(local, section), field)
    assert applied.maintenance == local.maintenance and applied.hq == local.hq


def test_one_bad_value_does_not_drop_the_good_ones() -> None:
    applied, ignored = apply_hq_settings(
        load_settings(environ={}), {"hq.sync_interval_s": 0, "hq.heartbeat_s": 120}
    )
    assert len(ignored) == 1 and applied.hq.heartbeat_s == 120 and applied.hq.sync_interval_s == 10
