"""Promotions and order discounts in the real SQLite store (migration 9), and the controller that
prices with them: what is stored is what the receipt prints and what HQ is sent; members for one sale."""

from __future__ import annotations

import json
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from drivers.gpio.indicators import NullIndicators
from drivers.printer.file_printer import FileReceiptPrinter
from kiosk.controller import CheckoutController, ControllerOptions
from kiosk.core import checkout as co
from kiosk.core.cart import Cart, Product
from kiosk.core.pricing import AppliedDiscount, PromoKind, Promotion, promotion_from_dict, promotion_to_dict
from kiosk.core.receipt import ReceiptTemplate
from kiosk.ports import CatalogItem, CatalogUpdate, Decoded
from kiosk.store.db import open_store
from kiosk.store.migrations import LATEST
from kiosk.store.models import OutboxEntry
from kiosk.store.sales import SaleError, SaleStore
from kiosk_common.codes import mask_member_code, member_code
from tests.fakes.clock import FakeClock
from tests.fakes.members import FakeMemberDirectory
from tests.fakes.payments import FakePaymentGateway

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
WATER = Product("w", "矿泉水", "Water", 200, "6901234567892", "drinks")
WX = "134567890123456789"
HALF_WATER = Promotion("half", PromoKind.PERCENT_OFF, "水半价", "Half-price water", NOW, sku="w", percent=50)
MEMBER_OFF = Promotion(
    "m10",
    PromoKind.SPEND_OFF,
    "会员减1元",
    "Members: 1 off",
    NOW,
    threshold_fen=100,
    off_fen=100,
    members_only=True,
)


@pytest.fixture
def store(tmp_path: Path) -> SaleStore:
    return SaleStore(open_store(tmp_path / "kiosk.sqlite3"), "k1")


def _update(version: int, *promos: Promotion, kind: str = "delta") -> CatalogUpdate:
    return CatalogUpdate(
        kind, version - 1, version, (), {}, promotions=tuple(promotion_to_dict(p) for p in promos)
    )


def test_an_order_keeps_its_discounts_and_its_total_is_lines_less_them(store: SaleStore) -> None:
    cart = Cart().add(WATER, 3)
    off = (AppliedDiscount("half", "水半价", "Half-price water", 300, "w"),)
    order_id = store.open_order(cart, "en", off)
    assert store.order(order_id).total_fen == 300
    assert store.order_discounts(order_id) == list(off)
    with pytest.raises(SaleError, match="do not fit"):
        store.open_order(cart, "en", (AppliedDiscount("x", "x", "x", 601),))


def test_the_sale_sent_to_hq_carries_its_discounts_only_when_it_has_any(store: SaleStore) -> None:
    plain = store.open_order(Cart().add(WATER))
    store.record_paid(store.begin_payment(plain, "wechat", "fake", WX).out_trade_no, "T1")
    off = (AppliedDiscount("half", "水半价", "Half-price water", 100, "w"),)
    cut = store.open_order(Cart().add(WATER), "zh_CN", off)
    store.record_paid(store.begin_payment(cut, "wechat", "fake", WX[:-1] + "0").out_trade_no, "T2")
    sales = [
        json.loads(e.payload)
        for e in OutboxEntry.select().where(OutboxEntry.kind == "sale").order_by(OutboxEntry.id)
    ]
    assert "discounts" not in sales[0]
    assert sales[1]["total_fen"] == 100
    assert sales[1]["discounts"] == [{"promo_id": "half", "sku": "w", "name": "水半价", "amount_fen": 100}]


def test_promotions_from_hq_replace_the_kiosks_and_an_older_hq_leaves_them(store: SaleStore) -> None:
    store.apply_catalog(_update(1, HALF_WATER, MEMBER_OFF, kind="snapshot"))
    assert [p.promo_id for p in store.promotions()] == ["half", "m10"]
    store.apply_catalog(CatalogUpdate("delta", 1, 2, (), {}))  # no promotions key: kept
    assert [p.promo_id for p in store.promotions()] == ["half", "m10"]
    store.apply_catalog(_update(3, MEMBER_OFF))
    assert [p.promo_id for p in store.promotions()] == ["m10"]
    assert promotion_from_dict(promotion_to_dict(MEMBER_OFF)) == MEMBER_OFF


def test_migration_9_adds_the_tables_to_a_schema_8_store(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    SaleStore(open_store(path), "k").db.close()
    con = sqlite3.connect(path)
    con.executescript("DROP TABLE order_discount; DROP TABLE promotion; PRAGMA user_version = 8;")
    con.close()
    store = SaleStore(open_store(path), "k")
    assert store.db.execute_sql("PRAGMA user_version").fetchone()[0] == LATEST == 9
    order_id = store.open_order(Cart().add(WATER), "zh_CN", (AppliedDiscount("p", "惠", "Off", 50),))
    assert store.order(order_id).total_fen == 150


def _controller(
    tmp_path: Path, members: FakeMemberDirectory | None = None, background: bool = False
) -> CheckoutController:
    store = SaleStore(open_store(tmp_path / "kiosk.sqlite3"), "k1")
    store.replace_catalog([CatalogItem("w", "矿泉水", "Water", 200, "6901234567892", "drinks")])
    store.apply_catalog(_update(1, HALF_WATER, MEMBER_OFF))
    c = CheckoutController(
        options=ControllerOptions(kiosk_id="k1", store_name="店", idle_timeout_s=60, done_timeout_s=5),
        store=store,
        gateway=FakePaymentGateway(),
        printer=FileReceiptPrinter(tmp_path / "receipts"),
        indicators=NullIndicators(),
        template=ReceiptTemplate.default(),
        clock=FakeClock(),
        background=background,
        utcnow=lambda: NOW,
        members=members,
    )
    c.members_enabled = True
    return c


def test_a_member_gets_member_prices_the_receipt_shows_them_and_the_next_sale_is_signed_out(
    tmp_path: Path,
) -> None:
    directory = FakeMemberDirectory({"13812345678": "王小明"})
    c = _controller(tmp_path, directory)
    c.dispatch(co.StartTapped())
    c.dispatch(co.ProductTapped(c.catalog()[0]))
    c.dispatch(co.ProductTapped(c.catalog()[0]))
    assert c.priced_cart().total_fen == 200  # half price; the member offer needs a member
    c.member_sign_in(phone="138 1234 5678")
    assert c.state.member is not None and c.state.member.name == "王小明"
    assert directory.asked == [("13812345678", "")]
    assert c.priced_cart().total_fen == 100
    c.dispatch(co.PayTapped())
    assert c.state.sale_total_fen == 100
    c.handle_codes([Decoded("QRCode", WX)])
    assert c.state.phase is co.Phase.DONE
    receipt = c.last_receipt_text()
    assert "水半价" in receipt and "会员减1元" in receipt and "1.00" in receipt
    c.dispatch(co.StartTapped())
    assert c.state.member is None


def test_without_a_directory_the_customer_is_told_membership_is_not_offered(tmp_path: Path) -> None:
    c = _controller(tmp_path)
    c.dispatch(co.StartTapped())
    c.member_sign_in(phone="13812345678")
    assert c.state.member is None and c.state.notice is co.Notice.MEMBERS_NOT_OFFERED
    c.member_sign_in(phone="12345")
    assert c.state.notice is co.Notice.MEMBER_NOT_FOUND


def test_while_hq_looks_the_member_up_the_screen_is_told_and_a_second_tap_asks_nothing(
    tmp_path: Path,
) -> None:
    """Before, nothing showed between "sign in" and HQ's answer (up to its timeout): no spinner, no
    "checking", and every further tap sent the same question again."""
    from kiosk.controller import wait_until
    from kiosk.ui.busy import waiting

    release = threading.Event()
    directory = FakeMemberDirectory({"13812345678": "王小明"}, answer_when=release)
    c = _controller(tmp_path, directory, background=True)
    seen: list[bool] = []
    c.subscribe(lambda _state: seen.append(c.member_checking))
    try:
        c.dispatch(co.StartTapped())
        c.dispatch(co.MemberTapped())
        assert not c.member_checking
        c.member_sign_in(phone="13812345678")
        assert c.member_checking and seen[-1] is True  # told in the same call: the spinner's frame
        assert waiting(c.state, member_checking=c.member_checking)
        assert directory.question_in.wait(10), "the directory was never asked"
        c.member_sign_in(phone="13812345678")  # the customer taps again
        c.member_sign_in(code=member_code("00000012345"))  # or shows a member QR meanwhile
        release.set()
        assert wait_until(c, lambda: c.state.member is not None, 10), "the answer never came back"
        assert not c.member_checking and seen[-1] is False
        assert directory.asked == [("13812345678", "")]
        assert not c.state.member_screen
    finally:
        release.set()
        c.close(timeout_s=5)


def test_phone_numbers_never_reach_the_log_in_full(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    c = _controller(tmp_path, FakeMemberDirectory({}))
    c.dispatch(co.StartTapped())
    with caplog.at_level("DEBUG"):
        c.member_sign_in(phone="13812345678")
    assert "13812345678" not in caplog.text and "138****5678" in caplog.text


# --- member QR codes through the one camera path (kiosk_common.codes.member_code) --------------------

ALICE_CODE = member_code("00000012345")


def test_a_member_qr_signs_in_from_the_cart_and_from_the_member_screen_never_as_a_payment(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """GIVEN a kiosk with members, a directory that knows one member code
    WHEN  the code is shown on the cart, then (a new sale) on the member screen
    THEN  each time the member signs in (member prices apply, the member screen closes), the
          directory is asked with the whole code, and the code reaches no log in full."""
    directory = FakeMemberDirectory({}, {ALICE_CODE: "王小明"})
    c = _controller(tmp_path, directory)
    c.dispatch(co.StartTapped())
    c.dispatch(co.ProductTapped(c.catalog()[0]))
    c.dispatch(co.ProductTapped(c.catalog()[0]))
    with caplog.at_level("DEBUG"):
        c.handle_codes([Decoded("QRCode", ALICE_CODE)])
    assert c.state.member is not None and c.state.member.name == "王小明"
    assert c.priced_cart().total_fen == 100  # the member offer applies
    c.dispatch(co.CancelTapped())
    c.dispatch(co.StartTapped())
    c.dispatch(co.MemberTapped())
    assert c.state.member_screen and c.state.member is None
    with caplog.at_level("DEBUG"):
        c.handle_codes([Decoded("Code128", ALICE_CODE)])  # a hand scanner reading a printed card
    assert c.state.member is not None and not c.state.member_screen
    assert directory.asked == [("", ALICE_CODE), ("", ALICE_CODE)]
    assert ALICE_CODE not in caplog.text and mask_member_code(ALICE_CODE) in caplog.text


def test_the_member_screen_says_what_it_was_shown_when_it_is_not_a_member_code(tmp_path: Path) -> None:
    directory = FakeMemberDirectory({}, {ALICE_CODE: "王小明"})
    c = _controller(tmp_path, directory)
    c.dispatch(co.StartTapped())
    c.dispatch(co.MemberTapped())
    c.handle_codes([Decoded("QRCode", WX)])  # the payment code, shown by mistake: never charged
    assert c.state.notice is co.Notice.NOT_A_MEMBER_CODE and c.state.order_id is None
    c.dispatch(co.MemberBackTapped())
    c.dispatch(co.MemberTapped())
    wrong = ALICE_CODE[:-1] + str((int(ALICE_CODE[-1]) + 1) % 10)
    c.handle_codes([Decoded("QRCode", wrong)])  # a misread digit: nobody's code
    assert c.state.notice is co.Notice.NOT_A_MEMBER_CODE and c.state.member is None
    c.member_sign_in(code="KM1-not-a-code")
    assert c.state.notice is co.Notice.NOT_A_MEMBER_CODE
    assert directory.asked == []  # the directory only ever hears well-formed codes
    assert c.state.member_screen


def test_a_member_code_is_ignored_where_members_are_not_offered_or_not_shopping(tmp_path: Path) -> None:
    directory = FakeMemberDirectory({}, {ALICE_CODE: "王小明"})
    c = _controller(tmp_path, directory)
    c.handle_codes([Decoded("QRCode", ALICE_CODE)])  # the attract screen: no sale to sign in to
    assert c.state.phase is co.Phase.ATTRACT and directory.asked == []
    c.members_enabled = False
    c.dispatch(co.StartTapped())
    c.handle_codes([Decoded("QRCode", ALICE_CODE)])
    assert c.state.member is None and directory.asked == []
