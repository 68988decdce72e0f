"""The Z-report that closes a shift: what was sold by channel, refunded, voided and left unresolved.

Pure: the caller (``kiosk.maintenance.actions``) reads the store and HQ and hands the records in;
this module only adds them up, compares the kiosk's day with HQ's, and lays the report out for the
receipt printer in the receipt's own style (``kiosk.core.receipt``). Money in fen, times UTC.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kiosk.core.money import format_yuan
from kiosk.core.payment import PayState
from kiosk.core.receipt import YUAN, ReceiptLayout, pad_between
from kiosk.core.records import PaymentRecord, RefundRecord

#: payment states that count as a sale made (a refund of it is counted apart, as a refund)
SOLD_STATES = frozenset({PayState.PAID, PayState.REFUNDING, PayState.REFUNDED})


@dataclass(frozen=True, slots=True)
class DayTotals:
    """One day's money for one kiosk as one side (the kiosk's ledger, or HQ) sees it."""

    sales_count: int
    sales_fen: int
    refunds_count: int
    refunds_fen: int

    def as_json(self) -> dict[str, int]:
        return {
            "sales_count": self.sales_count,
            "sales_fen": self.sales_fen,
            "refunds_count": self.refunds_count,
            "refunds_fen": self.refunds_fen,
        }


@dataclass(frozen=True, slots=True)
class ChannelTotal:
    count: int
    fen: int


@dataclass(frozen=True, slots=True)
class ZReport:
    kiosk_id: str
    shift_start: datetime
    shift_end: datetime
    by_channel: dict[str, ChannelTotal]
    refunds_count: int
    refunds_fen: int
    voids_count: int
    voids_fen: int
    unresolved_payments: int
    #: the whole local day, by the kiosk's ledger and (None when HQ could not be asked) by HQ
    day: str
    ledger_day: DayTotals
    hq_day: DayTotals | None = None
    #: events still waiting to reach HQ: while any wait, HQ's figures may lag the ledger's
    outbox_pending: int = 0
    closed_by: str = ""
    notes: tuple[str, ...] = field(default=())

    @property
    def sales_count(self) -> int:
        return sum(t.count for t in self.by_channel.values())

    @property
    def sales_fen(self) -> int:
        return sum(t.fen for t in self.by_channel.values())

    @property
    def net_fen(self) -> int:
        return self.sales_fen - self.refunds_fen

    @property
    def hq_agrees(self) -> bool | None:
        """True/False when HQ answered (its day equals the ledger's), None when it could not be asked."""
        return None if self.hq_day is None else self.hq_day == self.ledger_day

    def as_json(self) -> dict[str, Any]:
        """The report as the ``shift.close`` audit event carries it to HQ."""
        return {
            "kiosk_id": self.kiosk_id,
            "shift_start": _iso(self.shift_start),
            "shift_end": _iso(self.shift_end),
            "by_channel": {c: {"count": t.count, "fen": t.fen} for c, t in sorted(self.by_channel.items())},
            "sales_count": self.sales_count,
            "sales_fen": self.sales_fen,
            "refunds_count": self.refunds_count,
            "refunds_fen": self.refunds_fen,
            "voids_count": self.voids_count,
            "voids_fen": self.voids_fen,
            "net_fen": self.net_fen,
            "unresolved_payments": self.unresolved_payments,
            "day": self.day,
            "ledger_day": self.ledger_day.as_json(),
            "hq_day": None if self.hq_day is None else self.hq_day.as_json(),
            "hq_agrees": self.hq_agrees,
            "outbox_pending": self.outbox_pending,
            "closed_by": self.closed_by,
        }


def _iso(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


def day_totals(payments: Iterable[PaymentRecord], refunds: Iterable[RefundRecord]) -> DayTotals:
    """Sales (payments that were paid, refunded since or not) and confirmed refunds."""
    sold = [p for p in payments if p.status in SOLD_STATES]
    done = [r for r in refunds if r.state == "refunded"]
    return DayTotals(len(sold), sum(p.amount_fen for p in sold), len(done), sum(r.amount_fen for r in done))


def build(
    *,
    kiosk_id: str,
    shift_start: datetime,
    shift_end: datetime,
    payments: Iterable[PaymentRecord],
    refunds: Iterable[RefundRecord],
    voids_fen: Iterable[int],
    unresolved_payments: int,
    day: str,
    ledger_day: DayTotals,
    hq_day: DayTotals | None,
    outbox_pending: int = 0,
    closed_by: str = "",
) -> ZReport:
    """Add up one shift. ``payments``/``refunds``/``voids_fen`` are those of the shift (the caller
    picks them by time); ``ledger_day`` and ``hq_day`` are the whole day's, for the reconciliation."""
    by_channel: dict[str, ChannelTotal] = {}
    for p in payments:
        if p.status not in SOLD_STATES:
            continue
        t = by_channel.get(p.channel, ChannelTotal(0, 0))
        by_channel[p.channel] = ChannelTotal(t.count + 1, t.fen + p.amount_fen)
    done = [r for r in refunds if r.state == "refunded"]
    voids = list(voids_fen)
    notes: list[str] = []
    if hq_day is None:
        notes.append("hq_unreachable")
    elif hq_day != ledger_day and outbox_pending:
        notes.append("hq_waiting_for_sync")
    return ZReport(
        kiosk_id=kiosk_id,
        shift_start=shift_start,
        shift_end=shift_end,
        by_channel=by_channel,
        refunds_count=len(done),
        refunds_fen=sum(r.amount_fen for r in done),
        voids_count=len(voids),
        voids_fen=sum(voids),
        unresolved_payments=unresolved_payments,
        day=day,
        ledger_day=ledger_day,
        hq_day=hq_day,
        outbox_pending=outbox_pending,
        closed_by=closed_by,
        notes=tuple(notes),
    )


_LABELS = {
    "zh_CN": {
        "title": "交班报表 Z-REPORT",
        "kiosk": "终端",
        "from": "开始",
        "to": "结束",
        "sales": "销售",
        "refunds": "退款",
        "voids": "作废",
        "net": "净额",
        "unresolved": "未决支付",
        "ledger": "本机当日",
        "hq": "总部当日",
        "agree": "与总部一致",
        "disagree": "与总部不一致",
        "no_hq": "总部无法连接",
        "pending": "待同步",
        "by": "操作员",
    },
    "en": {
        "title": "Z-REPORT",
        "kiosk": "Kiosk",
        "from": "From",
        "to": "To",
        "sales": "Sales",
        "refunds": "Refunds",
        "voids": "Voids",
        "net": "Net",
        "unresolved": "Unresolved payments",
        "ledger": "Kiosk day",
        "hq": "HQ day",
        "agree": "Agrees with HQ",
        "disagree": "DIFFERS FROM HQ",
        "no_hq": "HQ not reachable",
        "pending": "Waiting to sync",
        "by": "Closed by",
    },
}
_CHANNELS = {
    "zh_CN": {"wechat": "微信支付", "alipay": "支付宝", "member": "会员"},
    "en": {"wechat": "WeChat Pay", "alipay": "Alipay", "member": "Member"},
}


def layout(report: ZReport, columns: int, language: str, tz_name: str, local: Any = None) -> ReceiptLayout:
    """The report for the receipt printer, ``columns`` wide (32 on 58 mm paper, 48 on 80 mm).

    ``local`` turns a UTC time into the shop's local time for the paper (a ``tzinfo``); the JSON
    keeps UTC.
    """
    lang = "zh_CN" if language.startswith("zh") else "en"
    lab, chan = _LABELS[lang], _CHANNELS[lang]
    rule = "-" * columns

    def when(dt: datetime) -> str:
        return (dt.astimezone(local) if local is not None else dt).strftime("%Y-%m-%d %H:%M")

    def money(count: int, fen: int) -> str:
        return f"{count:,} / {format_yuan(fen, YUAN)}"

    body = [
        rule,
        pad_between(lab["kiosk"], report.kiosk_id, columns),
        pad_between(lab["from"], when(report.shift_start), columns),
        pad_between(lab["to"], when(report.shift_end), columns),
        rule,
    ]
    for channel, total in sorted(report.by_channel.items()):
        body.append(pad_between(chan.get(channel, channel), money(total.count, total.fen), columns))
    body += [
        pad_between(lab["sales"], money(report.sales_count, report.sales_fen), columns),
        pad_between(lab["refunds"], money(report.refunds_count, report.refunds_fen), columns),
        pad_between(lab["voids"], money(report.voids_count, report.voids_fen), columns),
        pad_between(lab["net"], format_yuan(report.net_fen, YUAN), columns),
        pad_between(lab["unresolved"], str(report.unresolved_payments), columns),
        rule,
        pad_between(
            lab["ledger"],
            f"{money(report.ledger_day.sales_count, report.ledger_day.sales_fen)}",
            columns,
        ),
    ]
    if report.hq_day is None:
        body.append(lab["no_hq"])
    else:
        body.append(
            pad_between(lab["hq"], money(report.hq_day.sales_count, report.hq_day.sales_fen), columns)
        )
        body.append(lab["agree"] if report.hq_agrees else lab["disagree"])
    if report.outbox_pending:
        body.append(pad_between(lab["pending"], str(report.outbox_pending), columns))
    body.append(rule)
    footer = (pad_between(lab["by"], report.closed_by, columns), tz_name)
    return ReceiptLayout(
        (lab["title"], report.day), tuple(body), footer, qr_payload=f"zreport:{report.kiosk_id}:{report.day}"
    )
