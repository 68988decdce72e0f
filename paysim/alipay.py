"""The gateway simulator's Alipay side: ``POST /gateway.do`` with ``alipay.trade.pay`` (``scene=bar_code``),
``alipay.trade.query``, ``alipay.trade.cancel`` and ``alipay.trade.refund``, RSA2 both ways.

The request's signature is checked with the app's public key (the half of ``app_private_key_file``
the merchant uploads to Alipay). A bad signature gets Alipay's own answer — ``code 40002``,
``sub_code isv.invalid-signature``, unsigned — and nothing is recorded. Every other reply is signed
with the simulator's "Alipay" private key over the exact text of the ``..._response`` object.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from cryptography.hazmat.primitives.asymmetric import rsa

from kiosk.core.codes import CodeKind, classify
from kiosk.payments import alipay
from kiosk.ports import ChargeStatus
from kiosk_common.codes import mask
from paysim.bank import (
    DELIVER_DROP,
    DELIVER_SLOW,
    DELIVER_SYSTEM_ERROR,
    REASON_CODE_USED,
    REASON_EXPIRED,
    REASON_INSUFFICIENT_FUNDS,
    REASON_NOT_EXIST,
    REASON_NOT_PAID,
    PayOrder,
    SimulatedBank,
    TradeConflict,
)
from paysim.protocol import SimReply, SimRequest

log = logging.getLogger("paysim.server")

OUT_TRADE_NO_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_FEN = 10_000_000
METHODS = ("alipay.trade.pay", "alipay.trade.query", "alipay.trade.cancel", "alipay.trade.refund")


@dataclass(frozen=True, slots=True)
class SimAlipayConfig:
    app_id: str
    app_public_key: rsa.RSAPublicKey
    alipay_private_key: rsa.RSAPrivateKey

    def __repr__(self) -> str:
        return f"SimAlipayConfig(app_id={self.app_id!r})"


class _Biz(ValueError):
    def __init__(self, code: str, msg: str, sub_code: str = "", sub_msg: str = "") -> None:
        super().__init__(sub_msg or msg)
        self.fields = {"code": code, "msg": msg}
        if sub_code:
            self.fields |= {"sub_code": sub_code, "sub_msg": sub_msg}


def _business(sub_code: str, sub_msg: str) -> _Biz:
    return _Biz("40004", "Business Failed", sub_code, sub_msg)


def _reply(method: str, fields: Mapping[str, Any], key: rsa.RSAPrivateKey | None) -> bytes:
    text = json.dumps(dict(fields), ensure_ascii=False, separators=(",", ":"))
    body = "{" + json.dumps(alipay.response_key(method)) + ":" + text
    if key is not None:
        body += ',"sign":' + json.dumps(alipay.sign_rsa2(text, key))
    return (body + "}").encode("utf-8")


class AlipayProtocol:
    name = "alipay"

    def __init__(self, config: SimAlipayConfig) -> None:
        self.config = config
        self._methods: dict[str, Callable[[dict[str, Any], SimulatedBank], dict[str, Any]]] = {
            "alipay.trade.pay": self._pay,
            "alipay.trade.query": self._query,
            "alipay.trade.cancel": self._cancel,
            "alipay.trade.refund": self._refund,
        }

    def handle(self, request: SimRequest, bank: SimulatedBank) -> SimReply | None:
        if request.path != alipay.PATH_GATEWAY:
            return None
        try:
            params = {
                k: v[0] for k, v in parse_qs(request.body.decode("utf-8"), keep_blank_values=True).items()
            }
        except UnicodeDecodeError:
            params = {}
        method = params.get("method", "")
        if method not in METHODS:
            return SimReply(
                200,
                _reply(
                    "error",
                    {"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-method"},
                    None,
                ),
            )
        unsigned_error = self._check_public(params)
        if unsigned_error is not None:
            log.info("alipay %s refused: %s", method, unsigned_error.fields.get("sub_code"))
            return SimReply(200, _reply(method, unsigned_error.fields, None))
        try:
            biz = json.loads(params.get("biz_content", ""))
            if not isinstance(biz, dict):
                raise ValueError
        except ValueError:
            return SimReply(
                200,
                _reply(
                    method,
                    _Biz(
                        "40002", "Invalid Arguments", "isv.invalid-biz-content", "biz_content 不是 JSON 对象"
                    ).fields,
                    None,
                ),
            )
        try:
            fields = self._methods[method](biz, bank)
        except _Biz as exc:
            fields = dict(exc.fields)
        deliver = fields.pop("_deliver", "")
        return SimReply(
            200,
            _reply(method, fields, self.config.alipay_private_key),
            drop=deliver == DELIVER_DROP,
            delay_s=bank.slow_s if deliver == DELIVER_SLOW else 0,
        )

    def _check_public(self, params: Mapping[str, str]) -> _Biz | None:
        if params.get("app_id") != self.config.app_id:
            return _Biz("40002", "Invalid Arguments", "isv.invalid-app-id", "无效的AppID参数")
        if params.get("sign_type") != "RSA2":
            return _Biz("40002", "Invalid Arguments", "isv.invalid-signature-type", "无效的签名类型")
        for name in ("timestamp", "version", "charset"):
            if not params.get(name):
                return _Biz("40001", "Missing Required Arguments", f"isv.missing-{name}", f"缺少{name}参数")
        if not params.get("sign") or not alipay.verify_rsa2(
            alipay.string_to_sign(params), params["sign"], self.config.app_public_key
        ):
            return _Biz("40002", "Invalid Arguments", "isv.invalid-signature", "验签出错")
        return None

    # --- methods ----------------------------------------------------------------------------------

    def _pay(self, biz: dict[str, Any], bank: SimulatedBank) -> dict[str, Any]:
        out_trade_no = _out_trade_no(biz)
        if biz.get("scene") != "bar_code":
            raise _Biz("40002", "Invalid Arguments", "isv.invalid-parameter", "scene 须为 bar_code")
        try:
            fen = alipay.yuan_to_fen(str(biz.get("total_amount", "")))
        except ValueError:
            fen = 0
        if not 1 <= fen <= MAX_FEN:
            raise _Biz(
                "40002",
                "Invalid Arguments",
                "isv.invalid-parameter",
                "total_amount 须为 0.01 到 100000.00 的金额",
            )
        code = str(biz.get("auth_code", ""))
        classified = classify(code)
        if classified.kind is not CodeKind.ALIPAY or classified.text != code:
            raise _business(
                "ACQ.PAYMENT_AUTH_CODE_INVALID", "支付失败，获取顾客账户信息失败，请顾客刷新付款码后重新收款"
            )
        subject = str(biz.get("subject", ""))
        if not subject:
            raise _Biz("40001", "Missing Required Arguments", "isv.missing-subject", "缺少 subject")
        try:
            view = bank.pay(PayOrder(out_trade_no, "alipay", code, fen, subject[:256]))
        except TradeConflict:
            raise _business("ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改") from None
        log.info(
            "alipay pay %s %d fen code %s -> %s %s", out_trade_no, fen, mask(code), view.status, view.reason
        )
        if view.deliver == DELIVER_SYSTEM_ERROR:
            return {
                "code": "20000",
                "msg": "Service Currently Unavailable",
                "sub_code": "ACQ.SYSTEM_ERROR",
                "sub_msg": "系统错误",
            }
        if view.status is ChargeStatus.PAID:
            fields: dict[str, Any] = {
                "code": "10000",
                "msg": "Success",
                "trade_no": view.transaction_id,
                "out_trade_no": out_trade_no,
                "total_amount": alipay.fen_to_yuan(fen),
                "gmt_payment": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"),
            }
            if view.deliver:
                fields["_deliver"] = view.deliver
            return fields
        if view.status is ChargeStatus.USER_PAYING:
            return {"code": "10003", "msg": "ORDER_SUCCESS_PAY_INPROCESS", "out_trade_no": out_trade_no}
        if view.status is ChargeStatus.CANCELLED:
            raise _business("ACQ.TRADE_HAS_CLOSE", "交易已经关闭")
        sub = {
            REASON_INSUFFICIENT_FUNDS: ("ACQ.BUYER_BALANCE_NOT_ENOUGH", "买家余额不足"),
            REASON_EXPIRED: ("ACQ.PAYMENT_AUTH_CODE_INVALID", "付款码已过期，请顾客刷新付款码"),
            REASON_CODE_USED: ("ACQ.PAYMENT_AUTH_CODE_INVALID", "付款码已使用，请顾客刷新付款码"),
        }.get(view.reason, ("ACQ.PAYMENT_FAIL", view.reason))
        raise _business(*sub)

    def _query(self, biz: dict[str, Any], bank: SimulatedBank) -> dict[str, Any]:
        out_trade_no = _out_trade_no(biz)
        view = bank.query(out_trade_no)
        if view.status in (ChargeStatus.UNKNOWN, ChargeStatus.FAILED):
            raise _business("ACQ.TRADE_NOT_EXIST", "交易不存在")
        state = {
            ChargeStatus.PAID: "TRADE_SUCCESS",
            ChargeStatus.USER_PAYING: "WAIT_BUYER_PAY",
        }.get(view.status, "TRADE_CLOSED")
        fields: dict[str, Any] = {
            "code": "10000",
            "msg": "Success",
            "out_trade_no": out_trade_no,
            "trade_status": state,
        }
        if view.transaction_id:
            fields["trade_no"] = view.transaction_id
        return fields

    def _cancel(self, biz: dict[str, Any], bank: SimulatedBank) -> dict[str, Any]:
        out_trade_no = _out_trade_no(biz)
        before = bank.query(out_trade_no)
        view = bank.cancel(out_trade_no)
        action = "refund" if before.status is ChargeStatus.PAID else "close"
        log.info("alipay cancel %s -> %s (%s)", out_trade_no, view.status, action)
        fields: dict[str, Any] = {
            "code": "10000",
            "msg": "Success",
            "out_trade_no": out_trade_no,
            "retry_flag": "N",
            "action": action,
        }
        if view.transaction_id:
            fields["trade_no"] = view.transaction_id
        return fields

    def _refund(self, biz: dict[str, Any], bank: SimulatedBank) -> dict[str, Any]:
        out_trade_no = _out_trade_no(biz)
        request_no = str(biz.get("out_request_no", ""))
        if not OUT_TRADE_NO_RE.fullmatch(request_no):
            raise _Biz("40002", "Invalid Arguments", "isv.invalid-parameter", "out_request_no 格式错误")
        try:
            fen = alipay.yuan_to_fen(str(biz.get("refund_amount", "")))
        except ValueError:
            raise _Biz(
                "40002", "Invalid Arguments", "isv.invalid-parameter", "refund_amount 格式错误"
            ) from None
        view = bank.refund(out_trade_no, request_no, fen)
        if not view.refunded:
            sub = {
                REASON_NOT_EXIST: ("ACQ.TRADE_NOT_EXIST", "交易不存在"),
                REASON_NOT_PAID: ("ACQ.TRADE_STATUS_ERROR", "交易状态不合法"),
            }.get(view.reason, ("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限"))
            raise _business(*sub)
        return {
            "code": "10000",
            "msg": "Success",
            "out_trade_no": out_trade_no,
            "trade_no": view.refund_id,
            "fund_change": "Y",
            "refund_fee": alipay.fen_to_yuan(fen),
            "_deliver": view.deliver,
        }


def _out_trade_no(biz: Mapping[str, Any]) -> str:
    value = biz.get("out_trade_no")
    if not isinstance(value, str) or not OUT_TRADE_NO_RE.fullmatch(value):
        raise _Biz(
            "40002",
            "Invalid Arguments",
            "isv.invalid-parameter",
            "out_trade_no 须为 1 到 64 位字母、数字、_ 或 -",
        )
    return value
