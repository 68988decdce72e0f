"""The sale record contract (docs/sale-payload.md) as HQ checks it, without a server."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest
from pydantic import ValidationError

from hq.sales import SaleIn


def sale(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "order_id": "0f8fad5b-d9cb-469f-a165-70867728950e",
        "kiosk_id": "kiosk-001",
        "created_at": "2026-11-24T12:00:00Z",
        "paid_at": "2026-11-24T12:00:30Z",
        "total_fen": 750,
        "currency": "CNY",
        "channel": "alipay",
        "out_trade_no": "K001-20261124-0001",
        "transaction_id": "2026112422001400001",
        "lines": [
            {"sku": "D001", "name": "矿泉水", "qty": 2, "unit_price_fen": 200, "line_total_fen": 400},
            {"sku": "D002", "name": "Cola", "qty": 1, "unit_price_fen": 350, "line_total_fen": 350},
        ],
    }
    record.update(changes)
    return record


def line(qty: int = 1, unit: int = 100, total: int | None = None) -> dict[str, Any]:
    return {
        "sku": "X1",
        "name": "x",
        "qty": qty,
        "unit_price_fen": unit,
        "line_total_fen": qty * unit if total is None else total,
    }


def test_a_valid_sale_is_accepted_and_normalised() -> None:
    parsed = SaleIn.model_validate(sale(order_id="0F8FAD5B-D9CB-469F-A165-70867728950E"))
    assert parsed.order_key == "0f8fad5b-d9cb-469f-a165-70867728950e"
    assert parsed.total_fen == 750
    assert parsed.created_at.utcoffset() is not None and parsed.created_at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


def test_equivalent_spellings_hash_the_same_and_any_change_hashes_differently() -> None:
    base = SaleIn.model_validate(sale()).content_sha256()
    same = SaleIn.model_validate(
        sale(order_id="0F8FAD5B-D9CB-469F-A165-70867728950E", created_at="2026-11-24T12:00:00+00:00")
    ).content_sha256()
    assert same == base
    changed = copy.deepcopy(sale())
    changed["lines"][0]["name"] = "矿泉水 550ml"
    assert SaleIn.model_validate(changed).content_sha256() != base
    assert SaleIn.model_validate(sale(transaction_id="other")).content_sha256() != base


BAD_SALES: list[tuple[str, dict[str, Any], str]] = [
    ("total is not the sum of lines", sale(total_fen=751), "not the sum of lines"),
    ("order_id is not a UUID", sale(order_id="order-1"), "UUID"),
    ("order_id is a number", sale(order_id=12345), "UUID"),
    ("nil order_id", sale(order_id=str(uuid.UUID(int=0))), "nil UUID"),
    ("local time", sale(created_at="2026-11-24T20:00:00+08:00"), "UTC"),
    ("no zone", sale(paid_at="2026-11-24T12:00:30"), "UTC"),
    ("epoch seconds", sale(paid_at=1795000000), "ISO 8601"),
    ("not a date", sale(paid_at="yesterday"), "ISO 8601"),
    ("float amount", sale(total_fen=750.0), "integer"),
    ("amount as text", sale(total_fen="750"), "integer"),
    ("negative total", sale(total_fen=-1, lines=[line(1, 0, -1)]), "greater than or equal"),
    ("other currency", sale(currency="USD"), "CNY"),
    ("unknown channel", sale(channel="paypal"), "wechat"),
    ("no lines", sale(lines=[], total_fen=0), "at least 1"),
    ("51 lines", sale(lines=[line()] * 51, total_fen=5100), "at most 50"),
    ("qty 0", sale(lines=[line(0, 100)], total_fen=0), "greater than or equal to 1"),
    ("qty 100", sale(lines=[line(100, 1)], total_fen=100), "less than or equal to 99"),
    ("line total wrong", sale(lines=[line(3, 100, 299)], total_fen=299), "qty × unit_price_fen"),
    ("payment code smuggled in", sale(auth_code="134567890123456789"), "Extra inputs"),
    ("missing field", {k: v for k, v in sale().items() if k != "transaction_id"}, "Field required"),
    ("kiosk id with a space", sale(kiosk_id="kiosk 1"), "should match pattern"),
    ("empty out_trade_no", sale(out_trade_no=""), "at least 1"),
]


@pytest.mark.parametrize(
    ("record", "expected"), [(r, e) for _, r, e in BAD_SALES], ids=[n for n, _, _ in BAD_SALES]
)
def test_bad_sales_are_refused_with_a_message_naming_the_problem(
    record: dict[str, Any], expected: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        SaleIn.model_validate(record)
    assert expected in str(caught.value)


def test_the_edges_of_the_contract_are_accepted() -> None:
    fifty = [line(99, 7)] * 50
    parsed = SaleIn.model_validate(sale(lines=fifty, total_fen=50 * 99 * 7, channel="alipay"))
    assert len(parsed.lines) == 50
    free = SaleIn.model_validate(sale(lines=[line(1, 0)], total_fen=0, paid_at="2026-11-24T12:00:30.123456Z"))
    assert free.total_fen == 0
    assert free.paid_at.microsecond == 123456
