"""Alipay OpenAPI payment-code (付款码) charges: ``alipay.trade.pay`` (``scene=bar_code``),
``alipay.trade.query``, ``alipay.trade.cancel``, ``alipay.trade.refund``, signed RSA2.

Requests: a form post to ``<gateway_url>/gateway.do`` with the public parameters (``app_id``,
``method``, ``format=JSON``, ``charset=utf-8``, ``sign_type=RSA2``, ``timestamp``, ``version=1.0``)
and ``biz_content`` (a JSON object). The signature is SHA256withRSA (PKCS#1 v1.5) of the sorted
``k=v&...`` string of every non-empty parameter except ``sign``, base64-encoded.

Replies: ``{"alipay_trade_pay_response": {...}, "sign": "..."}``. Alipay signs the *exact text* of the
``..._response`` value as it appears in the body, so the verifier cuts that text out of the raw body
(re-serialising the parsed JSON would change spacing or escapes and break the signature). A reply that
does not verify with Alipay's public key is not an answer (GatewayError).

Amounts travel as yuan strings with two decimals, converted exactly from integer fen.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from kiosk import crashpoints
from kiosk.core.money import Fen, parse_yuan
from kiosk.core.payment import ChannelRules, alipay_rules
from kiosk.ports import ChargeRequest, ChargeResult, ChargeStatus, GatewayError, RefundRequest
from kiosk_common.codes import mask

log = logging.getLogger("kiosk.payments.alipay")

PATH_GATEWAY = "/gateway.do"
BEIJING = timezone(timedelta(hours=8))
CODE_SUCCESS = "10000"
CODE_WAITING = "10003"  # the customer is entering a password (ORDER_SUCCESS_PAY_INPROCESS)
CODE_UNKNOWN = "20000"  # service busy: outcome unknown
CODE_BUSINESS = "40004"
CODE_BAD_ARGUMENTS = "40002"  # includes isv.invalid-signature: the request was refused as such

#: sub_codes of 40004 that leave the outcome open
OPEN_SUB_CODES = frozenset({"ACQ.SYSTEM_ERROR", "ACQ.TRADE_HAS_SUCCESS"})


class AlipaySignatureError(GatewayError):
    """A reply whose signature is missing or does not verify with Alipay's public key."""


def fen_to_yuan(fen: Fen) -> str:
    """Integer fen to Alipay's amount text, exactly: 1 -> "0.01", 12345 -> "123.45"."""
    if not isinstance(fen, int) or isinstance(fen, bool) or fen < 0:
        raise ValueError(f"amount must be a non-negative whole number of fen, got {fen!r}")
    whole, part = divmod(fen, 100)
    return f"{whole}.{part:02d}"


def yuan_to_fen(text: str) -> Fen:
    """Alipay's amount text to fen; ValueError for anything that is not yuan with at most two decimals."""
    return parse_yuan(text)


def string_to_sign(params: Mapping[str, str]) -> str:
    """``k=v&...`` over the non-empty parameters except ``sign``, sorted by name, values not URL-encoded."""
    return "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "sign" and params[k] != "")


def load_private_key(path: Path) -> rsa.RSAPrivateKey:
    """A PEM RSA private key (PKCS#8 or PKCS#1), or a bare base64 PKCS#8 body as Alipay's tool exports it."""
    key = _load(path, private=True)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{path}: not an RSA private key; Alipay RSA2 needs an RSA key (2048 bits)")
    return key


def load_public_key(path: Path) -> rsa.RSAPublicKey:
    key = _load(path, private=False)
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError(f"{path}: not an RSA public key; use the Alipay public key from the open platform")
    return key


def _load(path: Path, private: bool) -> Any:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the key file ({exc.strerror})") from None
    text = raw.strip()
    if not text.startswith(b"-----BEGIN"):
        try:
            der = base64.b64decode(b"".join(text.split()), validate=True)
        except ValueError:
            raise ValueError(f"{path}: neither PEM nor base64; export the key again") from None
        try:
            if private:
                return serialization.load_der_private_key(der, None)
            return serialization.load_der_public_key(der)
        except ValueError as exc:
            raise ValueError(f"{path}: not a key ({exc})") from None
    try:
        if private:
            return serialization.load_pem_private_key(text, None)
        return serialization.load_pem_public_key(text)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{path}: not a usable PEM key ({exc}); keys must be unencrypted") from None


def sign_rsa2(text: str, key: rsa.RSAPrivateKey) -> str:
    signature = key.sign(text.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode("ascii")


def verify_rsa2(text: str, signature_b64: str, key: rsa.RSAPublicKey) -> bool:
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        key.verify(signature, text.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


def sign_params(params: Mapping[str, str], key: rsa.RSAPrivateKey) -> str:
    return sign_rsa2(string_to_sign(params), key)


def response_key(method: str) -> str:
    """``alipay.trade.pay`` -> ``alipay_trade_pay_response``."""
    return method.replace(".", "_") + "_response"


def signed_part(body: str, key: str) -> tuple[str, dict[str, Any], str]:
    """The raw text of ``key``'s value in ``body`` (what Alipay signs), that value parsed, and ``sign``.

    ValueError when the body is not such a reply.
    """
    try:
        whole = json.loads(body)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg})") from None
    if not isinstance(whole, dict) or not isinstance(whole.get(key), dict):
        raise ValueError(f"no {key} object in the reply")
    marker = json.dumps(key) + ":"
    decoder = json.JSONDecoder()
    at = body.find(marker)
    while at >= 0:
        start = at + len(marker)
        while start < len(body) and body[start] in " \t\r\n":
            start += 1
        try:
            value, end = decoder.raw_decode(body, start)
        except json.JSONDecodeError:
            value, end = None, start
        if value == whole[key]:
            sig = whole.get("sign", "")
            return body[start:end], whole[key], sig if isinstance(sig, str) else ""
        at = body.find(marker, at + 1)
    raise ValueError(f"cannot find the text of {key} in the reply")


@dataclass(frozen=True, slots=True)
class AlipayCredentials:
    app_id: str
    app_private_key: rsa.RSAPrivateKey
    alipay_public_key: rsa.RSAPublicKey

    def __repr__(self) -> str:  # never print key material
        return f"AlipayCredentials(app_id={self.app_id!r})"

    @classmethod
    def from_files(
        cls, app_id: str, app_private_key_file: Path, alipay_public_key_file: Path
    ) -> AlipayCredentials:
        return cls(app_id, load_private_key(app_private_key_file), load_public_key(alipay_public_key_file))


def _reason(data: Mapping[str, Any]) -> str:
    parts = [str(data.get(k, "")) for k in ("sub_code", "sub_msg") if data.get(k)]
    return ": ".join(parts) or f"{data.get('code', '')} {data.get('msg', '')}".strip()


class AlipayBarcodeGateway:
    """:class:`~kiosk.ports.PaymentGateway` for Alipay payment codes (当面付 条码支付), with ``requests``."""

    name = "alipay"

    def __init__(
        self,
        gateway_url: str,
        credentials: AlipayCredentials,
        timeout_s: float = 10.0,
        session: requests.Session | None = None,
        now: Any = None,
        rules: ChannelRules | None = None,
    ) -> None:
        self.url = gateway_url.rstrip("/") + PATH_GATEWAY
        self.creds = credentials
        self.timeout_s = timeout_s
        self._now = now or (lambda: datetime.now(UTC))
        self._owns_session = session is None
        self._session = session or requests.Session()
        #: Alipay's published timers: query every 3-5 s up to the limit, then cancel (no reverse window)
        self.rules = rules or alipay_rules()

    def rules_for(self, channel: str) -> ChannelRules:
        return self.rules

    def pay(self, request: ChargeRequest) -> ChargeResult:
        biz = {
            "out_trade_no": request.out_trade_no,
            "scene": "bar_code",
            "auth_code": request.auth_code,
            "subject": request.subject[:256],
            "total_amount": fen_to_yuan(request.amount_fen),
        }
        log.info(
            "trade.pay %s %d fen code %s", request.out_trade_no, request.amount_fen, mask(request.auth_code)
        )
        data = self._call("alipay.trade.pay", biz)
        code = data.get("code")
        if code == CODE_SUCCESS:
            self._check_order(data, request.out_trade_no)
            return self._paid(data, request.out_trade_no, request.amount_fen)
        if code == CODE_WAITING:
            return ChargeResult(ChargeStatus.USER_PAYING, request.out_trade_no, reason="USER_PAYING")
        if code == CODE_UNKNOWN or data.get("sub_code") in OPEN_SUB_CODES:
            return ChargeResult(ChargeStatus.UNKNOWN, request.out_trade_no, reason=_reason(data))
        if code in (CODE_BUSINESS, CODE_BAD_ARGUMENTS, "40001", "40006"):
            return ChargeResult(ChargeStatus.FAILED, request.out_trade_no, reason=_reason(data))
        return ChargeResult(ChargeStatus.UNKNOWN, request.out_trade_no, reason=_reason(data))

    def query(self, out_trade_no: str) -> ChargeResult:
        data = self._call("alipay.trade.query", {"out_trade_no": out_trade_no})
        code = data.get("code")
        if code != CODE_SUCCESS:
            if data.get("sub_code") == "ACQ.TRADE_NOT_EXIST":
                return ChargeResult(ChargeStatus.UNKNOWN, out_trade_no, reason="ORDER_NOT_EXIST")
            return ChargeResult(ChargeStatus.UNKNOWN, out_trade_no, reason=_reason(data))
        self._check_order(data, out_trade_no)
        state = str(data.get("trade_status", ""))
        if state in ("TRADE_SUCCESS", "TRADE_FINISHED"):
            return self._paid(data, out_trade_no, None)
        if state == "WAIT_BUYER_PAY":
            return ChargeResult(ChargeStatus.USER_PAYING, out_trade_no, reason=state)
        if state == "TRADE_CLOSED":
            return ChargeResult(ChargeStatus.CANCELLED, out_trade_no, str(data.get("trade_no", "")), state)
        return ChargeResult(ChargeStatus.UNKNOWN, out_trade_no, reason=state or "no trade_status")

    def cancel(self, out_trade_no: str) -> ChargeResult:
        """Cancel (撤销): closes an unpaid trade, refunds a paid one; ``retry`` is ``retry_flag=Y``."""
        data = self._call("alipay.trade.cancel", {"out_trade_no": out_trade_no})
        retry = data.get("retry_flag") == "Y"
        if data.get("code") == CODE_SUCCESS:
            return ChargeResult(
                ChargeStatus.CANCELLED,
                out_trade_no,
                str(data.get("trade_no", "")),
                str(data.get("action", "")),
                retry,
            )
        return ChargeResult(
            ChargeStatus.UNKNOWN, out_trade_no, reason=f"cancel: {_reason(data)}", retry=retry
        )

    def refund(self, request: RefundRequest) -> ChargeResult:
        biz = {
            "out_trade_no": request.out_trade_no,
            "out_request_no": request.out_refund_no,
            "refund_amount": fen_to_yuan(request.amount_fen),
            "refund_reason": request.reason[:256],
        }
        data = self._call("alipay.trade.refund", biz)
        code = data.get("code")
        if code == CODE_SUCCESS:
            return ChargeResult(ChargeStatus.REFUNDED, request.out_trade_no, str(data.get("trade_no", "")))
        if code == CODE_UNKNOWN or data.get("sub_code") == "ACQ.SYSTEM_ERROR":
            raise GatewayError(f"refund {request.out_refund_no}: {_reason(data)}; retry with the same number")
        return ChargeResult(ChargeStatus.FAILED, request.out_trade_no, reason=_reason(data))

    def close(self) -> None:
        if self._owns_session:
            self._session.close()

    # --- wire -------------------------------------------------------------------------------------

    def _paid(self, data: Mapping[str, Any], out_trade_no: str, amount_fen: Fen | None) -> ChargeResult:
        trade_no = data.get("trade_no")
        if not isinstance(trade_no, str) or not trade_no:
            raise GatewayError("Alipay says paid but sent no trade_no")
        if amount_fen is not None and "total_amount" in data:
            try:
                charged = yuan_to_fen(str(data["total_amount"]))
            except ValueError:
                raise GatewayError(f"Alipay sent total_amount {data['total_amount']!r}") from None
            if charged != amount_fen:
                raise GatewayError(f"Alipay charged {charged} fen, not {amount_fen}: check this order")
        return ChargeResult(ChargeStatus.PAID, out_trade_no, trade_no)

    @staticmethod
    def _check_order(data: Mapping[str, Any], out_trade_no: str) -> None:
        echoed = data.get("out_trade_no")
        if echoed is not None and echoed != out_trade_no:
            raise GatewayError(f"Alipay answered about out_trade_no {echoed!r}, not {out_trade_no!r}")

    def _call(self, method: str, biz: Mapping[str, str]) -> dict[str, Any]:
        params = {
            "app_id": self.creds.app_id,
            "method": method,
            "format": "JSON",
            "charset": "utf-8",
            "sign_type": "RSA2",
            "timestamp": self._now().astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S"),
            "version": "1.0",
            "biz_content": json.dumps(biz, ensure_ascii=False, separators=(",", ":")),
        }
        params["sign"] = sign_params(params, self.creds.app_private_key)
        try:
            response = self._session.post(
                self.url,
                data={k: v.encode("utf-8") for k, v in params.items()},
                headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
                timeout=(self.timeout_s, self.timeout_s),
                allow_redirects=False,
            )
        except requests.Timeout:
            raise GatewayError(f"{method}: no answer within {self.timeout_s:g} s; outcome unknown") from None
        except requests.RequestException as exc:
            raise GatewayError(
                f"{method}: cannot reach Alipay ({type(exc).__name__}); outcome unknown"
            ) from None
        if method == "alipay.trade.pay":
            crashpoints.reached("pay_answered")
        elif method == "alipay.trade.cancel":
            crashpoints.reached("reverse_answered")
        if response.status_code != 200:
            raise GatewayError(f"{method}: HTTP {response.status_code}; outcome unknown")
        try:
            text, data, sig = signed_part(response.content.decode("utf-8"), response_key(method))
        except (ValueError, UnicodeDecodeError) as exc:
            raise GatewayError(f"{method}: reply is not an Alipay answer ({exc}); outcome unknown") from None
        if not sig:
            if (
                data.get("code") in (CODE_BAD_ARGUMENTS, "40001", "40006", "20001")
                and method == "alipay.trade.pay"
            ):
                # Alipay refuses bad requests (including bad signatures) unsigned; nothing was charged.
                return data
            raise AlipaySignatureError(f"{method}: reply has no signature; outcome unknown")
        if not verify_rsa2(text, sig, self.creds.alipay_public_key):
            raise AlipaySignatureError(f"{method}: reply signature does not verify; outcome unknown")
        return data
