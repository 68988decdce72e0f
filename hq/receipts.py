"""The e-receipt page a customer opens from the QR code on a receipt (docs/sync-protocol.md §7).

``GET /r/{kiosk_id}/{order_id}/{token}``, without login. The token is
``kiosk_common.signing.receipt_token(kiosk secret, order id)``, which the kiosk makes offline; HQ
makes the kiosk's secret again from its key file for each enrolment the kiosk has had, newest
first, so a receipt printed before the kiosk was enrolled again still opens.

What the page may show is exactly one sale: its store, time (in ``[receipts] timezone``), lines,
total, channel and refunds. Everything else is one plain 404 page that reveals nothing: an unknown
kiosk, a wrong token, another sale's token, a malformed address. A right token for a sale HQ does
not hold yet (the kiosk has not uploaded it) gets the same 404 page with "not here yet, try again
in a minute" in place of "not found": only someone holding the receipt learns that, and a 404 tells
a caching proxy or a crawler nothing is there.

The page is one HTML document sized for a phone: a viewport meta tag, one inline stylesheet allowed
by its hash in a Content-Security-Policy that allows nothing else (no scripts, images, fonts, forms
or frames), no external assets, ``Cache-Control: no-store``, ``Referrer-Policy: no-referrer`` and
``X-Robots-Tag: noindex``. Chinese by default; English with ``?lang=en`` or an ``Accept-Language``
that prefers English.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from typing import Annotated, cast
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from hq import i18n
from hq.auth import KioskAuth
from hq.db import connected
from hq.errors import errors
from hq.i18n import Language, Text
from hq.identity import kiosk_secret
from hq.models import Device, Refund, Sale, SaleLine, Store
from hq.settings import ReceiptsSection
from kiosk_common.signing import receipt_token

router = APIRouter()

_KIOSK_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_ORDER_ID = re.compile(r"[0-9a-fA-F-]{36}")
_TOKEN = re.compile(r"[0-9a-f]{32}")
#: enrolments of one kiosk tried, newest first; far more than any kiosk will have
MAX_GENERATIONS = 1000

_CSS = (
    "body{font-family:system-ui,-apple-system,'PingFang SC','Noto Sans CJK SC',sans-serif;margin:0;"
    "background:#f4f4f4;color:#222}"
    "main{max-width:28rem;margin:0 auto;padding:1rem;background:#fff;min-height:100vh;box-sizing:border-box}"
    "h1{font-size:1.3rem;margin:.2rem 0 1rem}h2{font-size:1.1rem;margin:0}"
    "table{width:100%;border-collapse:collapse;font-size:.95rem}"
    "td,th{padding:.35rem .2rem;text-align:left;vertical-align:top}"
    "td.n,th.n{text-align:right;white-space:nowrap}"
    "tr.line td{border-top:1px solid #eee}tr.total td{border-top:2px solid #222;font-weight:bold}"
    "dl{display:grid;grid-template-columns:auto 1fr;gap:.2rem .8rem;margin:1rem 0;font-size:.9rem}"
    "dt{color:#666}dd{margin:0;word-break:break-all}"
    "p.muted{color:#666;font-size:.85rem}nav{text-align:right;font-size:.9rem}"
)
_CSS_HASH = base64.b64encode(hashlib.sha256(_CSS.encode("utf-8")).digest()).decode("ascii")
CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; style-src 'sha256-{_CSS_HASH}'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
}


@dataclass(frozen=True, slots=True)
class ReceiptLine:
    name: str
    qty: int
    line_total_fen: int


@dataclass(frozen=True, slots=True)
class ReceiptRefund:
    amount_fen: int
    refunded_at: datetime


@dataclass(frozen=True, slots=True)
class Receipt:
    store_name: str
    out_trade_no: str
    paid_at: datetime
    channel: str
    total_fen: int
    lines: tuple[ReceiptLine, ...]
    refunds: tuple[ReceiptRefund, ...]


class NotHereYet:
    """The token is right, but HQ does not hold the sale yet."""


def token_ok(key: bytes, kiosk_id: str, generation: int, order_id: str, token: str) -> bool:
    """Whether ``token`` is the receipt token of ``order_id`` under any enrolment of the kiosk."""
    found = False
    for g in range(min(generation, MAX_GENERATIONS), 0, -1):
        expected = receipt_token(kiosk_secret(key, kiosk_id, g), order_id)
        found |= hmac.compare_digest(expected, token)
    return found


def find_receipt(key: bytes, kiosk_id: str, order_id: str, token: str) -> Receipt | NotHereYet | None:
    """The receipt the address names, ``NotHereYet``, or None for anything else. Needs a connection."""
    if not (_KIOSK_ID.fullmatch(kiosk_id) and _ORDER_ID.fullmatch(order_id) and _TOKEN.fullmatch(token)):
        return None
    device = Device.get_or_none(Device.kiosk_id == kiosk_id)
    if device is None or not token_ok(key, kiosk_id, device.generation, order_id, token):
        return None
    sale = Sale.get_or_none((Sale.order_id == order_id) & (Sale.kiosk_id == kiosk_id))
    if sale is None:
        return NotHereYet()
    store_id = sale.store_id if sale.store_id is not None else device.store_id
    store = Store.get_or_none(Store.id == store_id) if store_id is not None else None
    lines = SaleLine.select().where(SaleLine.sale == sale.order_id).order_by(SaleLine.line_no)
    refunds = Refund.select().where(Refund.sale == sale.order_id).order_by(Refund.refunded_at)
    return Receipt(
        store_name=store.name if store is not None else "",
        out_trade_no=sale.out_trade_no,
        paid_at=sale.paid_at,
        channel=sale.channel,
        total_fen=sale.total_fen,
        lines=tuple(ReceiptLine(line.name, line.qty, line.line_total_fen) for line in lines),
        refunds=tuple(ReceiptRefund(r.amount_fen, r.refunded_at) for r in refunds),
    )


def choose_language(lang: str | None, accept_language: str | None) -> Language:
    """``?lang=`` first, then the browser's first preference; Chinese unless English is asked for."""
    if lang:
        return "en" if lang.lower().startswith("en") else "zh_CN"
    if accept_language:
        first = accept_language.split(",")[0].split(";")[0].strip().lower()
        if first.startswith("en"):
            return "en"
    return "zh_CN"


def _yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}¥{abs(fen) // 100}.{abs(fen) % 100:02d}"


def _local(moment: datetime, zone: ZoneInfo) -> str:
    return moment.replace(tzinfo=UTC).astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


def _page(language: Language, title: Text, body: str) -> str:
    other = "zh" if language == "en" else "en"
    html_lang = "en" if language == "en" else "zh-CN"
    return (
        f'<!DOCTYPE html><html lang="{html_lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex, nofollow">'
        f"<title>{escape(title.pick(language))}</title><style>{_CSS}</style></head><body><main>"
        f'<nav><a href="?lang={other}">{escape(i18n.RECEIPT_OTHER_LANGUAGE.pick(language))}</a></nav>'
        f"{body}</main></body></html>"
    )


def render_receipt(receipt: Receipt, language: Language, zone: ZoneInfo) -> str:
    t = lambda text: escape(text.pick(language))  # noqa: E731
    channels = {"wechat": i18n.RECEIPT_CHANNEL_WECHAT, "alipay": i18n.RECEIPT_CHANNEL_ALIPAY}
    channel = channels.get(receipt.channel)
    rows = "".join(
        f'<tr class="line"><td>{escape(line.name)}</td><td class="n">{line.qty}</td>'
        f'<td class="n">{_yuan(line.line_total_fen)}</td></tr>'
        for line in receipt.lines
    )
    rows += f'<tr class="total"><td colspan="2">{t(i18n.RECEIPT_TOTAL)}</td><td class="n">{_yuan(receipt.total_fen)}</td></tr>'
    for refund in receipt.refunds:
        when = escape(_local(refund.refunded_at, zone))
        label = escape(i18n.RECEIPT_REFUNDED.format(when=when).pick(language))
        rows += f'<tr class="refund"><td colspan="2">{label}</td><td class="n">{_yuan(-refund.amount_fen)}</td></tr>'
    if receipt.refunds:
        net = receipt.total_fen - sum(r.amount_fen for r in receipt.refunds)
        rows += f'<tr class="total"><td colspan="2">{t(i18n.RECEIPT_NET)}</td><td class="n">{_yuan(net)}</td></tr>'
    body = (
        f"<h2>{escape(receipt.store_name)}</h2><h1>{t(i18n.RECEIPT_TITLE)}</h1>"
        f"<dl><dt>{t(i18n.RECEIPT_TIME)}</dt><dd>{escape(_local(receipt.paid_at, zone))}</dd>"
        f"<dt>{t(i18n.RECEIPT_ORDER)}</dt><dd>{escape(receipt.out_trade_no)}</dd>"
        f"<dt>{t(i18n.RECEIPT_PAID_BY)}</dt>"
        f"<dd>{escape(channel.pick(language) if channel else receipt.channel)}</dd></dl>"
        f'<table><tr><th>{t(i18n.RECEIPT_ITEM)}</th><th class="n">{t(i18n.RECEIPT_QTY)}</th>'
        f'<th class="n">{t(i18n.RECEIPT_AMOUNT)}</th></tr>{rows}</table>'
        f'<p class="muted">{t(i18n.RECEIPT_THANKS)}</p>'
    )
    return _page(language, i18n.RECEIPT_TITLE, body)


def render_missing(language: Language, not_yet: bool) -> str:
    message = i18n.RECEIPT_NOT_YET if not_yet else i18n.RECEIPT_NOT_FOUND
    body = f"<h1>{escape(i18n.RECEIPT_NOT_FOUND_TITLE.pick(language))}</h1><p>{escape(message.pick(language))}</p>"
    return _page(language, i18n.RECEIPT_NOT_FOUND_TITLE, body)


_HTML = {"text/html": {"schema": {"type": "string"}}}


@router.get(
    "/r/{kiosk_id}/{order_id}/{token}",
    response_class=HTMLResponse,
    tags=["receipts"],
    summary="A sale's e-receipt page, for the customer (docs/sync-protocol.md §7)",
    responses={
        200: {"description": "The receipt, as an HTML page for a phone", "content": _HTML},
        404: {
            "description": "No receipt at this address, or (for a right token) not at HQ yet; "
            "the same HTML page apart from its wording",
            "content": _HTML,
        },
        **errors(422),
    },
)
async def receipt_page(
    request: Request,
    kiosk_id: str,
    order_id: str,
    token: str,
    lang: Annotated[str | None, Query(description="`en`, or `zh` (the default)")] = None,
    accept_language: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> HTMLResponse:
    language = choose_language(lang, accept_language)
    settings = cast(ReceiptsSection, getattr(request.app.state, "receipts", None) or ReceiptsSection())
    key = cast(KioskAuth, request.app.state.kiosk_auth).key

    def look_up() -> Receipt | NotHereYet | None:
        with connected():
            return find_receipt(key, kiosk_id, order_id, token)

    found = await run_in_threadpool(look_up)
    headers = {**HEADERS, "Content-Language": "en" if language == "en" else "zh-CN"}
    if isinstance(found, Receipt):
        return HTMLResponse(render_receipt(found, language, ZoneInfo(settings.timezone)), headers=headers)
    return HTMLResponse(render_missing(language, isinstance(found, NotHereYet)), 404, headers=headers)
