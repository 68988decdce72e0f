"""The out-of-service rules added for issues 12 and 13, pure: the clock, a printer gone for good, a
gateway that cannot be reached, and that no reason ever stops a sale already under way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kiosk.clock import AutoClockSync, SyncNotRequired, TimesyncdClockSync, clock_sync_for, time_sync_required
from kiosk.core import checkout as co
from kiosk.core.availability import (
    GatewayReach,
    GatewayReachRules,
    OutOfService,
    SellingFacts,
    clock_trusted,
    gateway_probed,
    gateway_unreachable,
    out_of_service,
    turns_away,
)
from kiosk.core.cart import Cart, Product
from kiosk.ui import present

FLOOR = datetime(2026, 12, 1, tzinfo=UTC)
GONE_S = 600.0
WATER = Product("w", "矿泉水", "Water", 200, "6901234567892")


# --- the clock --------------------------------------------------------------------------------------


def test_a_clock_not_synced_stops_selling() -> None:
    assert out_of_service(SellingFacts(clock_trusted=False)) is OutOfService.CLOCK_NOT_SYNCED


def test_a_full_store_is_named_before_the_clock() -> None:
    facts = SellingFacts(clock_trusted=False, store_fault="store: disk full")
    assert out_of_service(facts) is OutOfService.STORE_NOT_WRITABLE


@pytest.mark.parametrize(
    ("synced", "now", "trusted"),
    [
        (True, FLOOR + timedelta(days=3), True),
        (True, FLOOR, True),
        (False, FLOOR + timedelta(days=3), False),  # not synced yet
        (True, FLOOR - timedelta(seconds=1), False),  # earlier than the release: never right
        (True, datetime(1970, 1, 1, tzinfo=UTC), False),  # a Pi that booted without a real-time clock
    ],
)
def test_the_clock_is_trusted_only_when_synced_and_not_before_the_release(
    synced: bool, now: datetime, trusted: bool
) -> None:
    assert clock_trusted(synced=synced, now_utc=now, floor_utc=FLOOR) is trusted


def test_timesyncd_is_synced_once_its_flag_file_exists(tmp_path: Path) -> None:
    flag = tmp_path / "timesync" / "synchronized"
    probe = TimesyncdClockSync(flag)
    assert probe.synced() is False
    flag.parent.mkdir()
    assert probe.synced() is False
    flag.touch()
    assert probe.synced() is True
    assert SyncNotRequired().synced() is True


def test_auto_requires_time_sync_only_where_timesyncd_runs(tmp_path: Path) -> None:
    flag = tmp_path / "timesync" / "synchronized"
    assert time_sync_required("auto", flag) is False  # a development box, the demo, a container
    flag.parent.mkdir()
    assert time_sync_required("auto", flag) is True  # systemd-timesyncd's run folder: the image
    assert time_sync_required("no", flag) is False
    assert time_sync_required("yes", tmp_path / "nowhere" / "synchronized") is True


def test_auto_is_decided_on_every_check_and_never_switches_itself_off(tmp_path: Path) -> None:
    """GIVEN "auto" and a kiosk that started before systemd-timesyncd made its run folder
    WHEN  the folder appears, NTP answers, then timesyncd restarts (its folder goes and comes back)
    THEN  sync is required from the moment timesyncd is seen, and stays required while it is gone."""
    flag = tmp_path / "timesync" / "synchronized"
    probe = clock_sync_for("auto", flag)
    assert isinstance(probe, AutoClockSync)
    assert probe.synced() is True  # timesyncd never seen: a development box, the demo
    flag.parent.mkdir()  # timesyncd started after the kiosk
    assert probe.synced() is False
    flag.touch()  # NTP answered
    assert probe.synced() is True
    flag.unlink()
    flag.parent.rmdir()  # timesyncd stopped: its RuntimeDirectory is removed
    assert probe.synced() is False
    flag.parent.mkdir()  # restarted, not synced again yet
    assert probe.synced() is False
    flag.touch()
    assert probe.synced() is True


def test_yes_and_no_are_fixed(tmp_path: Path) -> None:
    flag = tmp_path / "timesync" / "synchronized"
    yes, no = clock_sync_for("yes", flag), clock_sync_for("no", flag)
    assert yes.synced() is False and no.synced() is True  # no run folder at all: "yes" still waits
    flag.parent.mkdir()
    flag.touch()
    assert yes.synced() is True and no.synced() is True


# --- the printer ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("down_s", "gone_s", "e_receipt", "reason"),
    [
        (GONE_S, GONE_S, False, OutOfService.PRINTER_GONE),
        (GONE_S * 10, GONE_S, False, OutOfService.PRINTER_GONE),
        (GONE_S - 1, GONE_S, False, None),  # not long enough yet: Pay refuses it, staff are called
        (GONE_S * 10, GONE_S, True, None),  # the e-receipt stands in: the kiosk keeps selling
        (GONE_S * 10, 0.0, False, None),  # [printer] gone_after_min = 0: never
        (None, GONE_S, False, None),  # ready, or not known yet
    ],
)
def test_a_printer_gone_stops_selling_only_without_an_e_receipt(
    down_s: float | None, gone_s: float, e_receipt: bool, reason: OutOfService | None
) -> None:
    facts = SellingFacts(printer_down_s=down_s, printer_gone_s=gone_s, e_receipt=e_receipt)
    assert out_of_service(facts) is reason


# --- the gateway ------------------------------------------------------------------------------------

RULES = GatewayReachRules(failures=3, span_s=60.0)


def _probes(*answers: tuple[float, bool]) -> GatewayReach:
    reach = GatewayReach()
    for at, ok in answers:
        reach = gateway_probed(reach, ok=ok, now=at)
    return reach


def test_one_failed_probe_is_a_blip_not_out_of_service() -> None:
    reach = _probes((0.0, False))
    assert not gateway_unreachable(reach, RULES, now=10_000.0)


def test_enough_failures_in_a_row_over_the_span_make_the_gateway_unreachable() -> None:
    reach = _probes((0.0, False), (30.0, False), (60.0, False))
    assert gateway_unreachable(reach, RULES, now=60.0)
    assert out_of_service(SellingFacts(gateway_unreachable=True)) is OutOfService.GATEWAY_UNREACHABLE


def test_many_failures_in_a_short_burst_wait_for_the_span() -> None:
    reach = _probes((0.0, False), (1.0, False), (2.0, False), (3.0, False))
    assert not gateway_unreachable(reach, RULES, now=3.0)
    assert gateway_unreachable(reach, RULES, now=60.0)


def test_one_success_clears_the_run_of_failures() -> None:
    reach = _probes((0.0, False), (30.0, False), (45.0, True), (60.0, False), (90.0, False))
    assert reach.failures == 2 and reach.first_failure_at == 60.0
    assert not gateway_unreachable(reach, RULES, now=200.0)
    assert (
        gateway_probed(_probes((0.0, False), (30.0, False), (60.0, False)), ok=True, now=61.0)
        == GatewayReach()
    )


def test_reach_rules_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="failures"):
        GatewayReachRules(failures=0)
    with pytest.raises(ValueError, match="span_s"):
        GatewayReachRules(span_s=-1.0)


# --- a sale under way is never interrupted ---------------------------------------------------------

CART = Cart().add(WATER)
UNDER_WAY = [
    co.Checkout(phase=co.Phase.CART, cart=CART),
    co.Checkout(phase=co.Phase.PAYING, cart=CART),  # the order is being opened
    co.Checkout(phase=co.Phase.PAYING, cart=CART, order_id="o1"),  # showing the code
    co.Checkout(phase=co.Phase.PAYING, cart=CART, order_id="o1", charging=True),  # at the gateway
    co.Checkout(  # the password on the phone
        phase=co.Phase.PAYING, cart=CART, order_id="o1", charging=True, pay_stage=co.PayStage.USER_PAYING
    ),
    co.Checkout(  # the outcome is unknown: the kiosk is checking it with the gateway
        phase=co.Phase.PAYING, cart=CART, order_id="o1", charging=True, pay_stage=co.PayStage.CHECKING
    ),
    co.Checkout(phase=co.Phase.PRINTING, cart=CART, order_id="o1", paid_channel="wechat"),
    co.Checkout(phase=co.Phase.DONE, cart=CART, order_id="o1", paid_channel="wechat"),
    co.Checkout(phase=co.Phase.NEEDS_HELP, cart=CART, order_id="o1", notice=co.Notice.PAYMENT_UNKNOWN),
    co.Checkout(phase=co.Phase.RECOVERING),  # the last payment is being settled after a restart
]


@pytest.mark.parametrize("reason", list(OutOfService))
@pytest.mark.parametrize("state", UNDER_WAY, ids=lambda s: f"{s.phase.value}-{s.pay_stage or s.notice}")
def test_no_reason_stops_a_sale_under_way_or_a_payment_being_settled(
    reason: OutOfService, state: co.Checkout
) -> None:
    assert not turns_away(reason, state.phase)
    # and the customer stays on the screen of the sale, not the out-of-service screen
    assert present.customer_screen(state.phase, reason.value) == present.screen_for(state.phase)


@pytest.mark.parametrize("reason", list(OutOfService))
def test_every_reason_turns_the_next_customer_away(reason: OutOfService) -> None:
    assert turns_away(reason, co.Phase.ATTRACT)
    # a kiosk not yet enrolled shows the installer's enrolment screen; every other reason the
    # customer's "use another checkout"
    wanted = present.ENROL_SCREEN if reason is OutOfService.NOT_ENROLLED else present.OUT_OF_SERVICE_SCREEN
    assert present.customer_screen(co.Phase.ATTRACT, reason.value) == wanted
    assert not turns_away(None, co.Phase.ATTRACT)


@pytest.mark.parametrize("reason", list(OutOfService))
@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_every_reason_tells_staff_what_to_do_in_both_languages(reason: OutOfService, language: str) -> None:
    line = present.out_of_service_staff(reason.value, language)
    assert reason.value.upper() in line
    explanation = line.split("—", 1)[1].strip()
    assert len(explanation) > 10, line
