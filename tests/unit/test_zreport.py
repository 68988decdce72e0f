"""The Z-report builder: totals by channel, refunds, voids, unresolved payments, and whether HQ's day
agrees with the ledger's; laid out for the receipt printer in both languages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from kiosk.core.payment import PayState
from kiosk.core.receipt import display_width
from kiosk.core.records import PaymentRecord, RefundRecord
from kiosk.maintenance import zreport

T0 = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)


def pay(channel: str, fen: int, status: PayState = PayState.PAID) -> PaymentRecord:
    return PaymentRecord("K1", "o", channel, "sim", "13****", fen, status, "", "", T0, T0)


def refund(fen: int, state: str = "refunded") -> RefundRecord:
    return RefundRecord("R1-1", "K1", "o", "wechat", fen, state, "staff:7", T0)


PAYMENTS = [
    pay("wechat", 200),
    pay("wechat", 350, PayState.REFUNDED),
    pay("alipay", 1000, PayState.REFUNDING),
    pay("alipay", 999, PayState.FAILED),
    pay("wechat", 500, PayState.UNKNOWN),
    pay("wechat", 700, PayState.CANCELLED),
]


def build(hq: zreport.DayTotals | None, pending: int = 0) -> zreport.ZReport:
    return zreport.build(
        kiosk_id="k1",
        shift_start=T0,
        shift_end=T0 + timedelta(hours=8),
        payments=PAYMENTS,
        refunds=[refund(350), refund(100), refund(40, "refunding"), refund(5, "failed")],
        voids_fen=[300, 120],
        unresolved_payments=1,
        day="2026-03-01",
        ledger_day=zreport.day_totals(PAYMENTS, [refund(350), refund(100)]),
        hq_day=hq,
        outbox_pending=pending,
        closed_by="Li (staff:7)",
    )


def test_totals_by_channel_count_sales_made_and_only_confirmed_refunds() -> None:
    r = build(None)
    assert r.by_channel == {"wechat": zreport.ChannelTotal(2, 550), "alipay": zreport.ChannelTotal(1, 1000)}
    assert (r.sales_count, r.sales_fen) == (3, 1550)
    assert (r.refunds_count, r.refunds_fen, r.net_fen) == (2, 450, 1100)
    assert (r.voids_count, r.voids_fen, r.unresolved_payments) == (2, 420, 1)
    assert r.ledger_day == zreport.DayTotals(3, 1550, 2, 450)


def test_hq_agrees_only_when_its_day_equals_the_ledgers() -> None:
    assert build(None).hq_agrees is None and build(None).notes == ("hq_unreachable",)
    assert build(zreport.DayTotals(3, 1550, 2, 450)).hq_agrees is True
    behind = build(zreport.DayTotals(2, 550, 1, 350), pending=3)
    assert behind.hq_agrees is False and behind.notes == ("hq_waiting_for_sync",)
    assert build(zreport.DayTotals(3, 1550, 2, 451)).notes == ()


def test_json_is_what_hq_gets_times_in_utc() -> None:
    j = build(zreport.DayTotals(3, 1550, 2, 450)).as_json()
    assert j["shift_start"] == "2026-03-01T01:00:00Z" and j["shift_end"] == "2026-03-01T09:00:00Z"
    assert j["by_channel"] == {"alipay": {"count": 1, "fen": 1000}, "wechat": {"count": 2, "fen": 550}}
    assert j["hq_agrees"] is True and j["hq_day"] == j["ledger_day"]
    assert (j["sales_fen"], j["refunds_fen"], j["voids_fen"], j["net_fen"]) == (1550, 450, 420, 1100)


def test_the_printed_report_fits_the_paper_in_both_languages() -> None:
    tz = ZoneInfo("Asia/Shanghai")
    for language, expect in (
        ("zh_CN", ["微信支付", "与总部不一致", "09:00"]),
        ("en", ["WeChat Pay", "DIFFERS FROM HQ"]),
    ):
        layout = zreport.layout(build(zreport.DayTotals(1, 1, 0, 0)), 32, language, "Asia/Shanghai", tz)
        text = layout.text()
        for word in expect:
            assert word in text, (language, word)
        assert all(display_width(line) <= 32 for line in layout.body), text
    en = zreport.layout(build(None), 48, "en", "Asia/Shanghai", tz).text()
    assert "HQ not reachable" in en and "￥15.50" in en


def test_a_big_day_groups_thousands_on_paper_as_the_screens_do() -> None:
    """A canteen's day runs to tens of thousands of yuan and thousands of sales: "￥12,345.67" on
    the report, not "￥12345.67", and it still fits 58 mm paper."""
    big = [pay("wechat", 1_234_567)] + [pay("alipay", 100) for _ in range(1_200)]
    report = zreport.build(
        kiosk_id="k1",
        shift_start=T0,
        shift_end=T0 + timedelta(hours=8),
        payments=big,
        refunds=[],
        voids_fen=[],
        unresolved_payments=0,
        day="2026-03-01",
        ledger_day=zreport.day_totals(big, []),
        hq_day=None,
        outbox_pending=0,
        closed_by="Li (staff:7)",
    )
    layout = zreport.layout(report, 32, "en", "Asia/Shanghai", ZoneInfo("Asia/Shanghai"))
    text = layout.text()
    assert "1 / ￥12,345.67" in text
    assert "1,201 / ￥13,545.67" in text
    assert all(display_width(line) <= 32 for line in layout.body), text
