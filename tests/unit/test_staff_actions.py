"""Staff actions (maintenance mode) on a real store and a real checkout controller, the gateway faked
at the network edge and receipts written to files: every action checks the role first, does what it
says, and leaves one audit row with the before and after values."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from drivers.gpio.indicators import NullIndicators
from drivers.printer.file_printer import FileReceiptPrinter
from kiosk.controller import CheckoutController, ControllerOptions
from kiosk.core import checkout as co
from kiosk.core.cart import Cart
from kiosk.core.codes import CodeKind
from kiosk.core.payment import PayState, RefundRules
from kiosk.core.receipt import ReceiptTemplate
from kiosk.core.records import OrderStatus
from kiosk.maintenance.actions import Actor, StaffActionError, StaffActions
from kiosk.maintenance.roles import Action, PermissionDenied, Role
from kiosk.ports import CatalogItem, CatalogUpdate, ChargeStatus, GatewayError
from kiosk.store.db import open_store
from kiosk.store.models import AuditLog, OutboxEntry
from kiosk.store.reprints import ReprintStore
from kiosk.store.sales import SaleStore
from tests.fakes.clock import FakeClock
from tests.fakes.payments import FakePaymentGateway

WATER = CatalogItem("w", "矿泉水", "Water", 200, "6901234567892", "drinks")
TEA = CatalogItem("t", "绿茶", "Green tea", 350, "6901234567893", "tea")
CASHIER = Actor("3", "Wang", Role.CASHIER)
MANAGER = Actor("7", "Li", Role.MANAGER)
FAST = RefundRules(retry_interval_s=0.05, give_up_after_s=1.0, max_tries=3)


class Kiosk:
    def __init__(self, tmp_path: Path, gateway: FakePaymentGateway) -> None:
        self.store = SaleStore(open_store(tmp_path / "kiosk.sqlite3"), "k1")
        self.store.replace_catalog([WATER, TEA])
        self.gateway = gateway
        self.printer = FileReceiptPrinter(tmp_path / "receipts")
        self.clock = FakeClock()
        self.controller = CheckoutController(
            options=ControllerOptions(kiosk_id="k1", store_name="店"),
            store=self.store,
            gateway=gateway,
            printer=self.printer,
            indicators=NullIndicators(),
            template=ReceiptTemplate.default(),
            clock=self.clock,
            background=False,
        )
        self.reprints = ReprintStore(self.store.db)
        self.staff = StaffActions(
            store=self.store,
            gateway=gateway,
            printer=self.printer,
            checkout=self.controller,
            reprints=self.reprints,
            kiosk_id="k1",
            refund_rules=FAST,
            clock=self.clock,
        )
        self._codes = iter(range(10_000, 99_999))

    def sell(self, taps: int = 1) -> str:
        c = self.controller
        c.dispatch(co.StartTapped())
        for _ in range(taps):
            c.dispatch(co.ProductTapped(c.catalog()[0]))
        c.dispatch(co.PayTapped())
        order_id = c.state.order_id
        assert order_id
        c.dispatch(co.PaymentCodeScanned(CodeKind.WECHAT, f"1345678901234{next(self._codes)}"))
        assert c.state.phase is co.Phase.DONE
        c.dispatch(co.TimedOut())
        return order_id


def staff_audit(action: str) -> list[dict[str, object]]:
    rows = AuditLog.select().where(AuditLog.action == action).order_by(AuditLog.id)
    return [json.loads(r.detail) | {"actor": r.actor} for r in rows]


@pytest.fixture
def kiosk(tmp_path: Path) -> Kiosk:
    return Kiosk(tmp_path, FakePaymentGateway())


# --- roles ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "call"),
    [
        ("void_order", lambda s, o: s.void_order(CASHIER, o)),
        ("refund", lambda s, o: s.refund(CASHIER, o)),
        ("refund part", lambda s, o: s.refund(CASHIER, o, 50)),
        ("resolve_payment", lambda s, o: s.resolve_payment(CASHIER, "K1")),
        ("close_shift", lambda s, o: s.close_shift(CASHIER)),
        ("override_price", lambda s, o: s.override_price(CASHIER, "w", 1)),
        ("mark_out_of_stock", lambda s, o: s.mark_out_of_stock(CASHIER, "w")),
    ],
)
def test_a_cashier_is_refused_every_manager_action_and_nothing_changes(kiosk: Kiosk, name: str, call) -> None:  # type: ignore[no-untyped-def]
    order_id = kiosk.sell()
    calls, audits = list(kiosk.gateway.calls), AuditLog.select().count()
    with pytest.raises(PermissionDenied):
        call(kiosk.staff, order_id)
    assert kiosk.gateway.calls == calls, name
    assert AuditLog.select().count() == audits
    assert kiosk.store.order(order_id).status is OrderStatus.PAID
    assert [p.price_fen for p in kiosk.store.products()] == [200, 350]


def test_the_cashier_actions_are_open_to_a_cashier_and_an_unknown_role_to_nobody(kiosk: Kiosk) -> None:
    order_id = kiosk.sell()
    kiosk.staff.reprint(CASHIER, order_id)
    assert [s.order_id for s in kiosk.staff.todays_sales(CASHIER)] == [order_id]
    assert kiosk.staff.paper_guide(CASHIER)[0][1].startswith("Open the printer cover")
    stranger = Actor("9", "X", "janitor")  # type: ignore[arg-type]
    with pytest.raises(StaffActionError, match="unknown staff role"):
        kiosk.staff.todays_sales(stranger)
    assert {a.action for a in AuditLog.select().where(AuditLog.actor == "staff:3")} == {
        Action.REPRINT.value,
        Action.TODAYS_SALES.value,
        Action.PAPER_GUIDE.value,
    }


# --- cashier ---------------------------------------------------------------------------------------


def test_reprint_prints_todays_sale_again_marked_and_drops_a_queued_copy(kiosk: Kiosk) -> None:
    order_id = kiosk.sell()
    job = kiosk.reprints.enqueue(order_id, "{}", held=True, reason="paper out mid-receipt")
    assert [t.kind for t in kiosk.staff.tasks(CASHIER)] == ["receipt_failed"]
    kiosk.staff.reprint(CASHIER, order_id)
    assert kiosk.printer.last_text is not None and "补打 REPRINT" in kiosk.printer.last_text
    assert [j.state.value for j in kiosk.reprints.jobs(("dropped",))] == ["dropped"]
    assert kiosk.staff.tasks(CASHIER) == []
    [row] = staff_audit("reprint")
    assert row["after"] == {"receipt_printed": True, "queued_copies_dropped": [job]}
    with pytest.raises(StaffActionError, match="today's paid sales"):
        kiosk.staff.reprint(CASHIER, kiosk.store.open_order(Cart().add(kiosk.store.products()[0])))


def test_resolve_help_resumes_service_after_a_receipt_failure_but_not_over_an_unknown_payment(
    kiosk: Kiosk,
) -> None:
    with pytest.raises(StaffActionError, match="does not need help"):
        kiosk.staff.resolve_help(CASHIER)
    kiosk.controller._state = co.Checkout(
        phase=co.Phase.NEEDS_HELP, order_id="o1", notice=co.Notice.PAYMENT_UNKNOWN
    )
    with pytest.raises(StaffActionError, match="manager must resolve the payment"):
        kiosk.staff.resolve_help(CASHIER)
    assert kiosk.controller.state.phase is co.Phase.NEEDS_HELP
    kiosk.controller._state = co.Checkout(
        phase=co.Phase.NEEDS_HELP, order_id="o1", notice=co.Notice.RECEIPT_FAILED
    )
    after = kiosk.staff.resolve_help(CASHIER)
    assert after.phase is co.Phase.ATTRACT
    [row] = staff_audit("resolve_help")
    assert row["before"] == {"phase": "needs_help", "notice": "receipt_failed", "order_id": "o1"}
    assert row["after"] == {"phase": "attract"} and row["actor"] == "staff:3"


# --- manager ---------------------------------------------------------------------------------------


def test_void_cancels_an_open_order_and_refuses_a_paid_one(kiosk: Kiosk) -> None:
    paid = kiosk.sell()
    c = kiosk.controller
    c.dispatch(co.StartTapped())
    c.dispatch(co.ProductTapped(c.catalog()[1]))
    c.dispatch(co.PayTapped())
    open_id = c.state.order_id
    assert open_id
    kiosk.staff.void_order(MANAGER, open_id)
    assert kiosk.store.order(open_id).status is OrderStatus.CANCELLED
    [row] = staff_audit("void_order")
    assert row == {
        "actor": "staff:7",
        "order_id": open_id,
        "amount_fen": 350,
        "before": {"status": "open"},
        "after": {"status": "cancelled"},
    }
    with pytest.raises(StaffActionError, match="only an open order"):
        kiosk.staff.void_order(MANAGER, paid)


def test_partial_then_full_refund_never_above_what_was_paid(kiosk: Kiosk) -> None:
    order_id = kiosk.sell(taps=3)  # 6.00
    first = kiosk.staff.refund(MANAGER, order_id, 150)
    assert (first.status, first.amount_fen) == ("refunded", 150)
    assert first.out_refund_no == "R" + first.out_trade_no[1:] + "-1"
    assert kiosk.store.order(order_id).status is OrderStatus.PAID
    with pytest.raises(StaffActionError, match="more than the 600 fen paid"):
        kiosk.staff.refund(MANAGER, order_id, 451)
    rest = kiosk.staff.refund(MANAGER, order_id)
    assert (rest.status, rest.amount_fen, rest.out_refund_no[-2:]) == (
        "refunded",
        450,
        "-2",
    )  # the refused ask took no number
    assert kiosk.store.order(order_id).status is OrderStatus.REFUNDED
    refunds = [json.loads(e.payload) for e in OutboxEntry.select().where(OutboxEntry.kind == "refund")]
    assert [r["amount_fen"] for r in refunds] == [150, 450]
    assert [m for m, _ in kiosk.gateway.calls].count("refund") == 2
    rows = staff_audit("refund")
    assert [(r["before"], r["after"]) for r in rows] == [  # type: ignore[index]
        (
            {"status": "paid", "refunded_fen": 0},
            {"status": "paid", "refunded_fen": 150, "outcome": "refunded"},
        ),
        (
            {"status": "paid", "refunded_fen": 150},
            {"status": "refunded", "refunded_fen": 600, "outcome": "refunded"},
        ),
    ]
    with pytest.raises(StaffActionError, match="no paid payment"):
        kiosk.staff.refund(MANAGER, order_id, 1)


def test_a_part_whose_answer_is_lost_is_repeated_not_made_twice(tmp_path: Path) -> None:
    k = Kiosk(tmp_path, FakePaymentGateway(refund=[GatewayError("timeout")] * 3))
    order_id = k.sell(taps=2)
    first = k.staff.refund(MANAGER, order_id, 100)
    assert first.status == "unknown"
    assert [t.kind for t in k.staff.tasks(CASHIER)] == []  # a refund in flight is not a payment task
    again = k.staff.refund(MANAGER, order_id, 300)  # whatever is asked: the open part is repeated
    assert (again.status, again.out_refund_no, again.amount_fen) == ("refunded", first.out_refund_no, 100)


def test_resolve_payment_settles_an_unknown_payment_with_the_gateway(tmp_path: Path) -> None:
    k = Kiosk(tmp_path, FakePaymentGateway(query=[ChargeStatus.PAID]))
    order_id = k.store.open_order(Cart().add(k.store.products()[0]))
    p = k.store.begin_payment(order_id, "wechat", "fake", "134567890123450001")
    k.store.update_payment(p.out_trade_no, PayState.UNKNOWN, "timeout")
    [task] = k.staff.tasks(CASHIER)
    assert (task.kind, task.target, task.action) == (
        "unknown_payment",
        p.out_trade_no,
        Action.RESOLVE_PAYMENT,
    )
    result = k.staff.resolve_payment(MANAGER, p.out_trade_no)
    assert result.status is ChargeStatus.PAID
    assert k.store.order(order_id).status is OrderStatus.PAID
    [row] = staff_audit("resolve_payment")
    assert row["before"] == {"status": "unknown"} and row["after"] == {"status": "paid", "gateway": "paid"}
    assert k.staff.tasks(CASHIER) == []
    with pytest.raises(StaffActionError, match="already paid"):
        k.staff.resolve_payment(MANAGER, p.out_trade_no)


def test_price_and_stock_overrides_survive_a_catalog_update_until_cleared(kiosk: Kiosk) -> None:
    kiosk.staff.override_price(MANAGER, "w", 150)
    kiosk.staff.mark_out_of_stock(MANAGER, "t")
    # the till shows the sold-out item marked as such (the checkout refuses it), never "unknown"
    assert [(p.sku, p.price_fen, p.sold_out) for p in kiosk.store.products()] == [
        ("w", 150, False),
        ("t", 350, True),
    ]
    tea = kiosk.store.product_by_barcode(TEA.barcode or "")
    assert tea is not None and tea.sold_out
    update = CatalogUpdate(
        "delta", 0, 5, (CatalogItem("w", "矿泉水", "Water", 220, WATER.barcode, "drinks"),), {}
    )
    kiosk.store.apply_catalog(update)
    assert [(p.sku, p.price_fen, p.sold_out) for p in kiosk.store.products()] == [
        ("w", 150, False),
        ("t", 350, True),
    ]
    kiosk.staff.override_price(MANAGER, "w", None)
    kiosk.staff.mark_out_of_stock(MANAGER, "t", out=False)
    assert [(p.sku, p.price_fen) for p in kiosk.store.products()] == [("w", 220), ("t", 350)]
    prices = staff_audit("override_price")
    assert [(r["before"], r["after"]) for r in prices] == [
        ({"price_fen": 200}, {"price_fen": 150, "cleared": False}),
        ({"price_fen": 150}, {"price_fen": 220, "cleared": True}),
    ]
    stock = staff_audit("out_of_stock")
    assert [(r["sku"], r["before"], r["after"]) for r in stock] == [
        ("t", {"out_of_stock": False}, {"out_of_stock": True}),
        ("t", {"out_of_stock": True}, {"out_of_stock": False}),
    ]
    with pytest.raises(StaffActionError, match="no product nope"):
        kiosk.staff.override_price(MANAGER, "nope", 1)


def test_close_shift_prints_the_z_report_and_audits_it_and_the_next_shift_starts_there(kiosk: Kiosk) -> None:
    a = kiosk.sell()
    kiosk.sell(taps=2)
    kiosk.staff.refund(MANAGER, a, 50)
    report = kiosk.staff.close_shift(MANAGER)
    assert (report.sales_count, report.sales_fen, report.refunds_fen, report.net_fen) == (2, 600, 50, 550)
    assert report.hq_day is None and report.hq_agrees is None
    text = kiosk.printer.last_text or ""
    assert "交班报表 Z-REPORT" in text and "总部无法连接" in text
    [row] = staff_audit("shift.close")
    assert row["sales_fen"] == 600 and row["printed"] is True and row["actor"] == "staff:7"
    assert row["shift_end"] == report.as_json()["shift_end"]
    later = kiosk.staff.z_report()
    assert later.sales_count == 0 and later.shift_start == datetime.fromisoformat(
        str(row["shift_end"])
    ).astimezone(UTC)
