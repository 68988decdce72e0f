"""``kiosk payment charge|refund|reconcile``: the installer's and staff's payment tools.

``charge`` is the commissioning test charge: one real charge through the configured gateway, recorded
in the kiosk's store like a sale (order, fresh ``out_trade_no`` committed before the call, result
committed after), so it can be refunded with ``refund`` and shows up in ``reconcile``. Each prints
JSON lines for scripts and exits 0 only on success.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any, TextIO

from kiosk.bootstrap import build_payment_gateway, build_store
from kiosk.core.cart import Cart, Product
from kiosk.core.codes import classify
from kiosk.core.money import Fen
from kiosk.core.records import SaleError
from kiosk.payments.service import charge_order, reconcile, refund_order
from kiosk.ports import ChargeStatus, GatewayError, PaymentGateway
from kiosk.settings import Settings, load_settings
from kiosk.store.sales import SaleStore
from kiosk_common.codes import mask

MAX_AMOUNT_FEN = 10_000_000
TEST_SKU = "COMMISSIONING-TEST"


def _amount(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_AMOUNT_FEN:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an amount; use whole fen from 1 to {MAX_AMOUNT_FEN}, e.g. 1"
        )
    return int(text)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; use YYYY-MM-DD, e.g. 2026-11-24") from None


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "payment", help="test charge, refund and reconcile through the configured gateway (支付工具)"
    )
    sub = parser.add_subparsers(dest="payment_command", required=True, metavar="ACTION")
    charge = sub.add_parser("charge", help="charge one payment code once (the commissioning test charge)")
    charge.add_argument("--code", required=True, help="the customer's payment code (digits)")
    charge.add_argument("--amount-fen", type=_amount, required=True, help="amount in fen, e.g. 1 for ¥0.01")
    refund = sub.add_parser("refund", help="refund a paid order in full")
    refund.add_argument("--order", required=True, help="the order id (as on the receipt and in reconcile)")
    refund.add_argument("--actor", default="staff", help="who asked for it, for the audit log")
    rec = sub.add_parser("reconcile", help="compare the local ledger with the gateway for one day")
    rec.add_argument("--date", type=_day, required=True, help="the local calendar day, YYYY-MM-DD")
    for p in (charge, refund, rec):
        p.add_argument("--config", type=Path, help="a TOML file overriding the default settings")
    parser.set_defaults(func=run)
    return parser


def _emit(out: TextIO, payload: dict[str, Any]) -> None:
    print(json.dumps(payload, ensure_ascii=False), file=out, flush=True)


def run(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Exit 0 on success, 1 when the gateway said no (or there are differences), 2 for bad input."""
    out = out or sys.stdout
    err = err or sys.stderr
    settings = load_settings(args.config)
    store = build_store(settings)
    try:
        gateway = build_payment_gateway(settings, store)
    except GatewayError as exc:
        store.db.close()
        print(f"kiosk payment: {exc}", file=err)
        return 2
    if settings.payments.gateway == "none":
        store.db.close()
        print(
            "kiosk payment: this kiosk has no payment gateway (payments.gateway = none); set it to wechat, "
            "alipay or wechat+alipay with the merchant's credentials (docs/payments.md)",
            file=err,
        )
        return 2
    try:
        if args.payment_command == "charge":
            return _charge(settings, store, gateway, args.code, args.amount_fen, out, err)
        if args.payment_command == "refund":
            return _refund(store, gateway, args.order, args.actor, out, err)
        return _reconcile(settings, store, gateway, args.date, out)
    finally:
        close = getattr(gateway, "close", None)
        if callable(close):
            close()
        store.db.close()


def _charge(
    settings: Settings,
    store: SaleStore,
    gateway: PaymentGateway,
    code: str,
    amount_fen: Fen,
    out: TextIO,
    err: TextIO,
) -> int:
    classified = classify(code)
    if not classified.is_payment or classified.text != code:
        print(
            f"kiosk payment: {mask(code[:64])} is not a WeChat Pay code (18 digits starting 10-15) or an "
            "Alipay code (16-24 digits starting 25-30); read the code from the customer's phone again",
            file=err,
        )
        return 2
    channel = classified.kind.value
    product = Product(TEST_SKU, "收款测试", "Test charge", amount_fen, None, "test")
    order_id = store.open_order(Cart().add(product))
    result = charge_order(
        store, gateway, order_id, channel, code, f"{settings.kiosk.store_name} test", clock=None
    )
    if result.code_used:
        store.cancel_order(order_id)
        print("kiosk payment: this code was already submitted once; refresh the code on the phone", file=err)
        return 2
    if result.status is ChargeStatus.PAID:
        store.audit("installer", "test_charge", f"{result.out_trade_no} {result.amount_fen} fen")
    elif result.status in (ChargeStatus.FAILED, ChargeStatus.CANCELLED):
        store.cancel_order(order_id)
    _emit(
        out,
        {
            "status": result.status.value,
            "channel": channel,
            "out_trade_no": result.out_trade_no,
            "order_id": order_id,
            "amount_fen": result.amount_fen,
            "transaction_id": result.transaction_id,
            "reason": result.reason,
        },
    )
    return 0 if result.status is ChargeStatus.PAID else 1


def _refund(
    store: SaleStore, gateway: PaymentGateway, order_id: str, actor: str, out: TextIO, err: TextIO
) -> int:
    try:
        outcome = refund_order(store, gateway, order_id, actor)
    except SaleError as exc:
        print(f"kiosk payment: {exc}", file=err)
        return 2
    _emit(
        out,
        {
            "status": outcome.status,
            "order_id": order_id,
            "out_trade_no": outcome.out_trade_no,
            "out_refund_no": outcome.out_refund_no,
            "refund_id": outcome.refund_id,
            "reason": outcome.reason,
        },
    )
    return 0 if outcome.status == "refunded" else 1


def _reconcile(settings: Settings, store: SaleStore, gateway: PaymentGateway, day: date, out: TextIO) -> int:
    started = time.monotonic()
    checked, differences = reconcile(store, gateway, day, settings.kiosk.timezone)
    for d in differences:
        _emit(
            out,
            {
                "difference": d.out_trade_no,
                "channel": d.channel,
                "amount_fen": d.amount_fen,
                "local": d.local,
                "gateway": d.gateway,
                "detail": d.detail[:200],
            },
        )
    _emit(
        out,
        {
            "date": day.isoformat(),
            "checked": checked,
            "differences": len(differences),
            "seconds": round(time.monotonic() - started, 2),
        },
    )
    return 0 if not differences else 1
