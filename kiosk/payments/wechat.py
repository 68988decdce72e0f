"""WeChat Pay v2 payment-code (付款码) charges: ``pay/micropay``, ``pay/orderquery``, ``secapi/pay/reverse``,
``secapi/pay/refund``, as XML posts signed by the official v2 security rules (安全规范, 签名算法).

The signature, exactly as WeChat Pay defines it: take every parameter whose value is not empty, except
``sign`` itself; sort by name (ASCII order, case-sensitive); join as ``k1=v1&k2=v2``; append
``&key=<API key>``; then MD5, or HMAC-SHA256 keyed with the API key; hex in upper case. Replies are
signed the same way and a reply whose signature does not match is not an answer (GatewayError), since
a forged "SUCCESS" would hand over goods for nothing.

Only ``return_code=SUCCESS`` replies carry a signature: a ``FAIL`` there is the gateway refusing the
request itself (bad signature, bad parameter) before anything was charged.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import requests

from kiosk import crashpoints
from kiosk.core.payment import ChannelRules, wechat_rules
from kiosk.ports import ChargeRequest, ChargeResult, ChargeStatus, GatewayError, RefundRequest
from kiosk_common.codes import mask

log = logging.getLogger("kiosk.payments.wechat")

SIGN_TYPES = ("HMAC-SHA256", "MD5")
PATH_MICROPAY = "/pay/micropay"
PATH_QUERY = "/pay/orderquery"
PATH_REVERSE = "/secapi/pay/reverse"
PATH_REFUND = "/secapi/pay/refund"
MAX_REPLY_BYTES = 64 * 1024
#: the IP the kiosk reports as the terminal's; WeChat Pay wants one, the value is informative only
TERMINAL_IP = "127.0.0.1"

#: return_msg words of a request refused before any charge (signature, parameters, merchant ids, XML)
REFUSAL_WORDS = ("签名错误", "参数", "appid", "mch_id", "XML", "sign")

#: err_code values that leave the outcome open: query, and if need be reverse (微信支付 刷卡支付 文档)
OPEN_ERR_CODES = frozenset({"USERPAYING", "SYSTEMERROR", "BANKERROR", "ORDERPAID"})


class WechatSignatureError(GatewayError):
    """A reply whose signature is missing or wrong: it may not come from WeChat Pay at all."""


def string_to_sign(params: Mapping[str, str]) -> str:
    """``k=v&...`` over the non-empty parameters except ``sign``, sorted by name (ASCII)."""
    return "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "sign" and params[k] != "")


def sign(params: Mapping[str, str], api_key: str, sign_type: str = "HMAC-SHA256") -> str:
    """The v2 signature of ``params`` with the merchant's API key (upper-case hex)."""
    text = f"{string_to_sign(params)}&key={api_key}".encode()
    if sign_type == "MD5":
        return hashlib.md5(text, usedforsecurity=False).hexdigest().upper()
    if sign_type == "HMAC-SHA256":
        return hmac.new(api_key.encode("utf-8"), text, hashlib.sha256).hexdigest().upper()
    raise ValueError(f"sign_type must be one of {', '.join(SIGN_TYPES)}, got {sign_type!r}")


def verify(params: Mapping[str, str], api_key: str, sign_type: str) -> bool:
    """True when ``params['sign']`` is the signature of the rest (constant-time compare)."""
    given = params.get("sign", "")
    if not given:
        return False
    return hmac.compare_digest(given.upper(), sign(params, api_key, sign_type))


def to_xml(params: Mapping[str, str]) -> bytes:
    """``<xml><k>v</k>...</xml>``; ElementTree escapes ``<``, ``&`` (WeChat Pay also accepts CDATA)."""
    root = ET.Element("xml")
    for k, v in params.items():
        ET.SubElement(root, k).text = v
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=False))


def from_xml(body: bytes) -> dict[str, str]:
    """The flat ``<xml>`` map; ValueError for anything else (a DOCTYPE is refused outright)."""
    if len(body) > MAX_REPLY_BYTES:
        raise ValueError(f"XML body larger than {MAX_REPLY_BYTES} bytes")
    if b"<!DOCTYPE" in body.upper() or b"<!ENTITY" in body.upper():
        raise ValueError("XML with a DOCTYPE or ENTITY is refused")
    try:
        root = ET.fromstring(body)  # noqa: S314 - DOCTYPE/ENTITY refused above, so no entity expansion
    except ET.ParseError as exc:
        raise ValueError(f"not well-formed XML ({exc})") from None
    if root.tag != "xml":
        raise ValueError(f"root element is <{root.tag}>, expected <xml>")
    out: dict[str, str] = {}
    for child in root:
        if len(child):
            raise ValueError(f"<{child.tag}> is not a flat text field")
        out[child.tag] = child.text or ""
    return out


@dataclass(frozen=True, slots=True)
class WechatCredentials:
    appid: str
    mch_id: str
    api_key: str
    sign_type: str = "HMAC-SHA256"
    cert_file: Path | None = None
    key_file: Path | None = None

    def __repr__(self) -> str:  # never print the API key
        return (
            f"WechatCredentials(appid={self.appid!r}, mch_id={self.mch_id!r}, sign_type={self.sign_type!r})"
        )


def _status_of_trade_state(state: str) -> ChargeStatus:
    return {
        "SUCCESS": ChargeStatus.PAID,
        "REFUND": ChargeStatus.PAID,  # it was paid; a refund is a later, separate movement
        "USERPAYING": ChargeStatus.USER_PAYING,
        "NOTPAY": ChargeStatus.USER_PAYING,
        "CLOSED": ChargeStatus.CANCELLED,
        "REVOKED": ChargeStatus.CANCELLED,
        "PAYERROR": ChargeStatus.FAILED,
    }.get(state, ChargeStatus.UNKNOWN)


class WechatMicropayGateway:
    """:class:`~kiosk.ports.PaymentGateway` for WeChat Pay v2 payment codes, with ``requests``.

    ``gateway_url`` is the base (``https://api.mch.weixin.qq.com``, the sandbox, or the simulator);
    the protocol paths are appended here. The merchant certificate goes with the ``secapi`` calls.
    """

    name = "wechat"

    def __init__(
        self,
        gateway_url: str,
        credentials: WechatCredentials,
        timeout_s: float = 10.0,
        session: requests.Session | None = None,
        rules: ChannelRules | None = None,
    ) -> None:
        if credentials.sign_type not in SIGN_TYPES:
            raise ValueError(f"sign_type must be one of {', '.join(SIGN_TYPES)}")
        self.url = gateway_url.rstrip("/")
        self.creds = credentials
        self.timeout_s = timeout_s
        self._owns_session = session is None
        self._session = session or requests.Session()
        #: WeChat Pay's published timers: query every 5 s, stop before 45 s, reverse 15 s after the pay
        self.rules = rules or wechat_rules()

    # --- the port ---------------------------------------------------------------------------------

    def rules_for(self, channel: str) -> ChannelRules:
        return self.rules

    def pay(self, request: ChargeRequest) -> ChargeResult:
        params = {
            "body": request.subject[:128],
            "out_trade_no": request.out_trade_no,
            "total_fee": str(request.amount_fen),
            "fee_type": "CNY",
            "spbill_create_ip": TERMINAL_IP,
            "auth_code": request.auth_code,
        }
        log.info(
            "micropay %s %d fen code %s", request.out_trade_no, request.amount_fen, mask(request.auth_code)
        )
        reply = self._call(PATH_MICROPAY, params)
        if reply.get("return_code") != "SUCCESS":
            message = reply.get("return_msg", "")
            if any(word in message for word in REFUSAL_WORDS):
                # Refused as a request (signature, parameters, merchant ids): nothing was charged.
                return ChargeResult(ChargeStatus.FAILED, request.out_trade_no, reason=f"REFUSED: {message}")
            # Any other communication failure (系统繁忙 ...) says nothing about the trade: query it.
            return ChargeResult(
                ChargeStatus.UNKNOWN, request.out_trade_no, reason=f"return_code FAIL: {message}"
            )
        self._check_order(reply, request.out_trade_no)
        if reply.get("result_code") == "SUCCESS":
            return self._paid(reply, request.out_trade_no)
        err = reply.get("err_code", "")
        reason = f"{err}: {reply.get('err_code_des', '')}".strip(": ")
        if err == "USERPAYING":
            return ChargeResult(ChargeStatus.USER_PAYING, request.out_trade_no, reason=reason)
        if err in OPEN_ERR_CODES:
            return ChargeResult(ChargeStatus.UNKNOWN, request.out_trade_no, reason=reason)
        return ChargeResult(ChargeStatus.FAILED, request.out_trade_no, reason=reason)

    def query(self, out_trade_no: str) -> ChargeResult:
        reply = self._call(PATH_QUERY, {"out_trade_no": out_trade_no})
        if reply.get("return_code") != "SUCCESS":
            raise GatewayError(f"orderquery refused: {reply.get('return_msg', '')}")
        if reply.get("result_code") != "SUCCESS":
            err = reply.get("err_code", "")
            if err == "ORDERNOTEXIST":
                return ChargeResult(ChargeStatus.UNKNOWN, out_trade_no, reason="ORDER_NOT_EXIST")
            return ChargeResult(ChargeStatus.UNKNOWN, out_trade_no, reason=err or "SYSTEMERROR")
        self._check_order(reply, out_trade_no)
        state = reply.get("trade_state", "")
        status = _status_of_trade_state(state)
        if status is ChargeStatus.PAID:
            return self._paid(reply, out_trade_no)
        return ChargeResult(status, out_trade_no, reply.get("transaction_id", ""), state)

    def cancel(self, out_trade_no: str) -> ChargeResult:
        """Reverse (撤销): closes an unpaid order, refunds a paid one. ``retry`` is the gateway's ``recall``."""
        reply = self._call(PATH_REVERSE, {"out_trade_no": out_trade_no}, secure=True)
        if reply.get("return_code") != "SUCCESS":
            raise GatewayError(f"reverse refused: {reply.get('return_msg', '')}")
        recall = reply.get("recall", "N") == "Y"
        if reply.get("result_code") == "SUCCESS":
            return ChargeResult(ChargeStatus.CANCELLED, out_trade_no, reason="REVOKED", retry=recall)
        err = reply.get("err_code", "SYSTEMERROR")
        return ChargeResult(ChargeStatus.UNKNOWN, out_trade_no, reason=f"reverse: {err}", retry=recall)

    def refund(self, request: RefundRequest) -> ChargeResult:
        params = {
            "out_trade_no": request.out_trade_no,
            "out_refund_no": request.out_refund_no,
            "total_fee": str(request.total_fen),
            "refund_fee": str(request.amount_fen),
            "refund_desc": request.reason[:80],
        }
        reply = self._call(PATH_REFUND, params, secure=True)
        if reply.get("return_code") != "SUCCESS":
            raise GatewayError(f"refund refused: {reply.get('return_msg', '')}")
        if reply.get("result_code") == "SUCCESS":
            return ChargeResult(ChargeStatus.REFUNDED, request.out_trade_no, reply.get("refund_id", ""))
        err = reply.get("err_code", "")
        if err in ("SYSTEMERROR", "BIZERR_NEED_RETRY", ""):
            raise GatewayError(
                f"refund {request.out_refund_no}: {err or 'no answer'}; retry with the same number"
            )
        return ChargeResult(
            ChargeStatus.FAILED, request.out_trade_no, reason=f"{err}: {reply.get('err_code_des', '')}"
        )

    def close(self) -> None:
        if self._owns_session:
            self._session.close()

    # --- wire -------------------------------------------------------------------------------------

    def _paid(self, reply: Mapping[str, str], out_trade_no: str) -> ChargeResult:
        txn = reply.get("transaction_id", "")
        if not txn:
            raise GatewayError("WeChat Pay says paid but sent no transaction_id")
        return ChargeResult(ChargeStatus.PAID, out_trade_no, txn)

    def _check_order(self, reply: Mapping[str, str], out_trade_no: str) -> None:
        echoed = reply.get("out_trade_no")
        if echoed is not None and echoed != out_trade_no:
            raise GatewayError(f"WeChat Pay answered about out_trade_no {echoed!r}, not {out_trade_no!r}")
        if (
            reply.get("appid", self.creds.appid) != self.creds.appid
            or reply.get("mch_id", self.creds.mch_id) != self.creds.mch_id
        ):
            raise GatewayError("WeChat Pay reply is for another appid or mch_id")

    def _call(self, path: str, params: Mapping[str, str], secure: bool = False) -> dict[str, str]:
        body = {
            "appid": self.creds.appid,
            "mch_id": self.creds.mch_id,
            "nonce_str": secrets.token_hex(16),
            "sign_type": self.creds.sign_type,
            **params,
        }
        body["sign"] = sign(body, self.creds.api_key, self.creds.sign_type)
        where = f"{self.url}{path}"
        cert = None
        if secure and self.creds.cert_file is not None and self.creds.key_file is not None:
            cert = (str(self.creds.cert_file), str(self.creds.key_file))
        try:
            response = self._session.post(
                where,
                data=to_xml(body),
                headers={"Content-Type": "text/xml; charset=utf-8"},
                timeout=(self.timeout_s, self.timeout_s),
                allow_redirects=False,
                cert=cert,
            )
        except requests.Timeout:
            raise GatewayError(f"{where}: no answer within {self.timeout_s:g} s; outcome unknown") from None
        except requests.RequestException as exc:
            raise GatewayError(
                f"{where}: cannot reach WeChat Pay ({type(exc).__name__}); outcome unknown"
            ) from None
        if path == PATH_MICROPAY:
            crashpoints.reached("pay_answered")
        elif path == PATH_REVERSE:
            crashpoints.reached("reverse_answered")
        if response.status_code != 200:
            raise GatewayError(f"{where}: HTTP {response.status_code}; outcome unknown")
        try:
            reply = from_xml(response.content)
        except ValueError as exc:
            raise GatewayError(f"{where}: reply is not WeChat Pay XML ({exc}); outcome unknown") from None
        if reply.get("return_code") == "SUCCESS" and not verify(
            reply, self.creds.api_key, self.creds.sign_type
        ):
            raise WechatSignatureError(f"{where}: reply signature does not verify; outcome unknown")
        return reply
