"""The gateway simulator's WeChat Pay v2 side: ``/pay/micropay``, ``/pay/orderquery``,
``/secapi/pay/reverse``, ``/secapi/pay/refund``, XML in and out, signatures checked as WeChat Pay does.

A request with a wrong signature, another merchant's ``appid``/``mch_id``, or XML it cannot read gets
``return_code=FAIL`` with the message the real gateway sends (``签名错误`` ...) and nothing is recorded.
Every ``return_code=SUCCESS`` reply is signed with the merchant's API key and the request's
``sign_type`` (MD5 when absent, as the v2 rules say).

The simulator speaks plain HTTP on loopback, so it cannot check the merchant certificate the real
``secapi`` calls need; the kiosk's adapter sends it all the same (see docs/payments.md).
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from kiosk.core.codes import CodeKind, classify
from kiosk.payments import wechat
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
    REASON_REVERSED,
    PayOrder,
    SimulatedBank,
    TradeConflict,
    TradeView,
)
from paysim.protocol import SimReply, SimRequest

log = logging.getLogger("paysim.server")

OUT_TRADE_NO_RE = re.compile(r"[A-Za-z0-9_*@|-]{1,32}")
#: an amount in fen as WeChat Pay takes it: ASCII digits (not "²" or full-width "８", which str.isdigit
#: accepts), and few enough of them for int()
FEN_RE = re.compile(r"[0-9]{1,10}")
MAX_FEE = 10_000_000
XML_TYPE = "text/xml; charset=utf-8"


@dataclass(frozen=True, slots=True)
class SimWechatConfig:
    appid: str
    mch_id: str
    api_key: str

    def __repr__(self) -> str:
        return f"SimWechatConfig(appid={self.appid!r}, mch_id={self.mch_id!r})"


class _Refused(ValueError):
    """The request as such is refused (return_code=FAIL): nothing is recorded."""


class _BizError(ValueError):
    """A business failure (result_code=FAIL) with an err_code."""

    def __init__(self, err_code: str, des: str) -> None:
        super().__init__(des)
        self.err_code = err_code


def _fail(message: str) -> SimReply:
    return SimReply(200, wechat.to_xml({"return_code": "FAIL", "return_msg": message}), XML_TYPE)


class WechatProtocol:
    name = "wechat"

    def __init__(self, config: SimWechatConfig) -> None:
        self.config = config
        self._routes: dict[str, Callable[[dict[str, str], SimulatedBank], dict[str, str]]] = {
            wechat.PATH_MICROPAY: self._micropay,
            wechat.PATH_QUERY: self._query,
            wechat.PATH_REVERSE: self._reverse,
            wechat.PATH_REFUND: self._refund,
        }

    def handle(self, request: SimRequest, bank: SimulatedBank) -> SimReply | None:
        route = self._routes.get(request.path)
        if route is None:
            return None
        if request.method != "POST":
            return _fail(f"{request.path} 只接受 POST")
        try:
            params = wechat.from_xml(request.body)
        except ValueError as exc:
            return _fail(f"XML格式错误: {exc}")
        sign_type = params.get("sign_type") or "MD5"
        if sign_type not in wechat.SIGN_TYPES:
            return _fail("sign_type 参数错误")
        if params.get("appid") != self.config.appid or params.get("mch_id") != self.config.mch_id:
            return _fail("appid和mch_id不匹配")
        if not params.get("nonce_str"):
            return _fail("缺少参数 nonce_str")
        if not wechat.verify(params, self.config.api_key, sign_type):
            log.info("wechat %s: bad signature", request.path)
            return _fail("签名错误")
        try:
            fields = route(params, bank)
        except _Refused as exc:
            return _fail(str(exc))
        except _BizError as exc:
            fields = {"result_code": "FAIL", "err_code": exc.err_code, "err_code_des": str(exc)}
        deliver = fields.pop("_deliver", "")
        reply = {
            "return_code": "SUCCESS",
            "return_msg": "OK",
            "appid": self.config.appid,
            "mch_id": self.config.mch_id,
            "nonce_str": secrets.token_hex(16),
            **fields,
        }
        reply["sign"] = wechat.sign(reply, self.config.api_key, sign_type)
        body = wechat.to_xml(reply)
        return SimReply(
            200,
            body,
            XML_TYPE,
            drop=deliver == DELIVER_DROP,
            delay_s=bank.slow_s if deliver == DELIVER_SLOW else 0,
        )

    # --- endpoints --------------------------------------------------------------------------------

    def _micropay(self, p: dict[str, str], bank: SimulatedBank) -> dict[str, str]:
        out_trade_no = _out_trade_no(p)
        fee_text = p.get("total_fee", "")
        if not FEN_RE.fullmatch(fee_text) or not 1 <= int(fee_text) <= MAX_FEE:
            raise _Refused(f"total_fee 参数错误: 须为 1 到 {MAX_FEE} 的整数(分)")
        code = p.get("auth_code", "")
        classified = classify(code)
        if classified.kind is not CodeKind.WECHAT or classified.text != code:
            raise _BizError("AUTH_CODE_INVALID", "付款码无效，请重新扫码")
        if not p.get("body"):
            raise _Refused("缺少参数 body")
        order = PayOrder(out_trade_no, "wechat", code, int(fee_text), p["body"][:128])
        try:
            view = bank.pay(order)
        except TradeConflict:
            raise _BizError("OUT_TRADE_NO_USED", "商户订单号重复") from None
        log.info(
            "wechat micropay %s %s fen code %s -> %s %s",
            out_trade_no,
            fee_text,
            mask(code),
            view.status,
            view.reason,
        )
        if view.deliver == DELIVER_SYSTEM_ERROR:
            return {"result_code": "FAIL", "err_code": "SYSTEMERROR", "err_code_des": "系统超时"}
        fields = _pay_fields(view, fee_text)
        if view.deliver:
            fields["_deliver"] = view.deliver
        return fields

    def _query(self, p: dict[str, str], bank: SimulatedBank) -> dict[str, str]:
        out_trade_no = _out_trade_no(p)
        view = bank.query(out_trade_no)
        if view.status is ChargeStatus.UNKNOWN and view.reason == REASON_NOT_EXIST:
            raise _BizError("ORDERNOTEXIST", "此交易订单号不存在")
        state = {
            ChargeStatus.PAID: "SUCCESS",
            ChargeStatus.USER_PAYING: "USERPAYING",
            ChargeStatus.FAILED: "PAYERROR",
            ChargeStatus.CANCELLED: "REVOKED"
            if view.reason == REASON_REVERSED or view.transaction_id
            else "CLOSED",
        }.get(view.status, "NOTPAY")
        fields = {"result_code": "SUCCESS", "out_trade_no": out_trade_no, "trade_state": state}
        if view.transaction_id:
            fields["transaction_id"] = view.transaction_id
        return fields

    def _reverse(self, p: dict[str, str], bank: SimulatedBank) -> dict[str, str]:
        view = bank.cancel(_out_trade_no(p))
        log.info("wechat reverse %s -> %s %s", view.out_trade_no, view.status, view.reason)
        return {"result_code": "SUCCESS", "recall": "N"}

    def _refund(self, p: dict[str, str], bank: SimulatedBank) -> dict[str, str]:
        out_trade_no = _out_trade_no(p)
        refund_no = p.get("out_refund_no", "")
        if not OUT_TRADE_NO_RE.fullmatch(refund_no):
            raise _Refused("out_refund_no 参数错误")
        amounts = (p.get("total_fee", ""), p.get("refund_fee", ""))
        if not all(FEN_RE.fullmatch(a) for a in amounts):
            raise _Refused("total_fee/refund_fee 参数错误: 须为整数(分)")
        view = bank.refund(out_trade_no, refund_no, int(amounts[1]))
        if not view.refunded:
            err = {REASON_NOT_EXIST: "ORDERNOTEXIST", REASON_NOT_PAID: "TRADE_STATE_ERROR"}.get(
                view.reason, "INVALID_REQUEST"
            )
            raise _BizError(err, view.reason)
        return {
            "result_code": "SUCCESS",
            "out_trade_no": out_trade_no,
            "out_refund_no": refund_no,
            "refund_id": view.refund_id,
            "refund_fee": amounts[1],
            "total_fee": amounts[0],
            "_deliver": view.deliver,
        }


def _out_trade_no(p: Mapping[str, str]) -> str:
    value = p.get("out_trade_no", "")
    if not OUT_TRADE_NO_RE.fullmatch(value):
        raise _Refused("out_trade_no 参数错误: 须为 1 到 32 位字母、数字或 _-|*@")
    return value


def _pay_fields(view: TradeView, fee_text: str) -> dict[str, str]:
    if view.status is ChargeStatus.PAID:
        return {
            "result_code": "SUCCESS",
            "out_trade_no": view.out_trade_no,
            "transaction_id": view.transaction_id,
            "total_fee": fee_text,
            "fee_type": "CNY",
            "trade_type": "MICROPAY",
        }
    if view.status is ChargeStatus.USER_PAYING:
        return {"result_code": "FAIL", "err_code": "USERPAYING", "err_code_des": "需要用户输入支付密码"}
    if view.status is ChargeStatus.CANCELLED:
        return {"result_code": "FAIL", "err_code": "ORDERREVERSED", "err_code_des": "订单已撤销"}
    err = {
        REASON_INSUFFICIENT_FUNDS: ("NOTENOUGH", "余额不足"),
        REASON_EXPIRED: ("AUTHCODEEXPIRE", "二维码已过期，请用户在微信上刷新后再试"),
        REASON_CODE_USED: ("AUTH_CODE_INVALID", "付款码已使用，请刷新后重试"),
    }.get(view.reason, ("PAYERROR", view.reason))
    return {"result_code": "FAIL", "err_code": err[0], "err_code_des": err[1]}
