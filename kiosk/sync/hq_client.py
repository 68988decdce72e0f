"""``HttpHqClient``: the HqClient port over HTTP with requests, against the API in hq/app.py.

Every failure comes out as ``HqError`` (network, timeout, refused key, 5xx, a reply we cannot use),
and no message ever holds the API key. HQ refuses a whole upload when one record in it is bad
(422) or conflicts with what HQ holds (409); the client then sends the rest again without those
records, so one poisoned sale cannot hold every later sale back. Refunds (``push_refunds``, to
``POST /api/v1/refunds``) are handled the same way, keyed by ``out_refund_no``; HQ refuses (422) a
refund of a sale it does not hold yet, and that refund simply waits in the outbox for a later try. The refused ones are simply not in
the returned list: they stay in the outbox and are retried with backoff, and the log says why. An
address that has sent HQ too many unknown keys is answered 429 for a while; the error says so.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import requests
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError

from kiosk.ports import CatalogItem, HqError
from kiosk_common.codes import gtin_check_ok, mask

log = logging.getLogger(__name__)

#: HQ's limit for one POST /api/v1/sales
MAX_SALES_PER_REQUEST = 1000
#: how many times one batch is re-sent without the records HQ refused
MAX_ISOLATION_ROUNDS = 3
SALES_PATH = "/api/v1/sales"
#: HQ's limit for one POST /api/v1/refunds
MAX_REFUNDS_PER_REQUEST = 1000
REFUNDS_PATH = "/api/v1/refunds"
CATALOG_PATH = "/api/v1/catalog"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _IngestReply(_Strict):
    stored: list[StrictStr]
    duplicates: list[StrictStr]


class _ProductReply(_Strict):
    sku: StrictStr = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    name_zh: StrictStr = Field(min_length=1, max_length=128)
    name_en: StrictStr = Field(min_length=1, max_length=128)
    price_fen: StrictInt = Field(ge=0, le=100_000_000)
    barcode: StrictStr | None
    category: StrictStr = Field(min_length=1, max_length=64)
    active: StrictBool


class _CatalogReply(_Strict):
    products: list[_ProductReply]


def canonical_order_id(value: Any) -> str | None:
    """The one spelling HQ answers an order id in (lower-case hyphenated UUID), or None if it is no UUID."""
    if not isinstance(value, str):
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def _refund_key(record: dict[str, Any]) -> str | None:
    value = record.get("out_refund_no")
    return value if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class _Upload:
    """One kind of record HQ takes in batches: where it goes and what names a record."""

    path: str
    noun: str
    plural: str
    field: str
    key_name: str
    key: Callable[[dict[str, Any]], str | None]


_SALES = _Upload(
    SALES_PATH, "sale", "sales", "order_id", "order id", lambda r: canonical_order_id(r.get("order_id"))
)
_REFUNDS = _Upload(REFUNDS_PATH, "refund", "refunds", "out_refund_no", "refund number", _refund_key)


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "(reply)"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


class HttpHqClient:
    """Talks to HQ for one kiosk. Owns (and closes) its requests session unless one is passed in."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        kiosk_id: str,
        timeout_s: float,
        session: requests.Session | None = None,
    ) -> None:
        if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", base_url):
            raise ValueError(
                f"HQ URL {base_url!r} must start with http:// or https://, e.g. http://hq.local:8080"
            )
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0, got {timeout_s}")
        self.base_url = base_url.rstrip("/")
        self.kiosk_id = kiosk_id
        self.timeout_s = timeout_s
        self._api_key = api_key
        self._owns_session = session is None
        self._session = session or requests.Session()

    def close(self) -> None:
        if self._owns_session:
            self._session.close()

    # --- the port ---------------------------------------------------------------------------------

    def push_sales(self, sales: Sequence[dict[str, Any]]) -> list[str]:
        """Upload the sales; return the order ids HQ now holds (newly stored or already known)."""
        sendable = []
        for sale in sales:
            if sale.get("kiosk_id") != self.kiosk_id:
                log.warning(
                    "not uploading sale %s: it names kiosk %r but this kiosk is %r",
                    sale.get("order_id"),
                    sale.get("kiosk_id"),
                    self.kiosk_id,
                )
                continue
            sendable.append(sale)
        confirmed: list[str] = []
        for start in range(0, len(sendable), MAX_SALES_PER_REQUEST):
            confirmed += self._push_batch(sendable[start : start + MAX_SALES_PER_REQUEST])
        return confirmed

    def push_refunds(self, refunds: Sequence[dict[str, Any]]) -> list[str]:
        """Upload the refunds; return the ``out_refund_no`` HQ now holds (newly stored or already known).

        HQ refuses (422) a refund of a sale it does not hold yet; that refund is left out of the
        answer, stays in the outbox and goes again with backoff, after its sale.
        """
        sendable = []
        for refund in refunds:
            if refund.get("kiosk_id") != self.kiosk_id:
                log.warning(
                    "not uploading refund %s: it names kiosk %r but this kiosk is %r",
                    refund.get("out_refund_no"),
                    refund.get("kiosk_id"),
                    self.kiosk_id,
                )
                continue
            sendable.append(refund)
        confirmed: list[str] = []
        for start in range(0, len(sendable), MAX_REFUNDS_PER_REQUEST):
            confirmed += self._push_batch(sendable[start : start + MAX_REFUNDS_PER_REQUEST], _REFUNDS)
        return confirmed

    def fetch_catalog(self) -> list[CatalogItem]:
        response = self._request("GET", CATALOG_PATH)
        if response.status_code != 200:
            raise self._http_error(response, "download the catalog")
        try:
            reply = _CatalogReply.model_validate(self._json(response))
        except ValidationError as exc:
            raise HqError(
                f"HQ sent a catalog we cannot use ({_describe(exc)}); ask the HQ admin to check it"
            ) from None
        items: list[CatalogItem] = []
        skus: set[str] = set()
        barcodes: set[str] = set()
        for index, p in enumerate(reply.products):
            where = f"product {index} (sku {p.sku})"
            if p.sku in skus:
                raise HqError(f"HQ sent a catalog we cannot use: {where} appears twice")
            if p.barcode is not None:
                if not gtin_check_ok(p.barcode) or len(p.barcode) not in (8, 12, 13):
                    raise HqError(
                        f"HQ sent a catalog we cannot use: {where} has barcode {p.barcode!r}, not a valid EAN/UPC"
                    )
                if p.barcode in barcodes:
                    raise HqError(
                        f"HQ sent a catalog we cannot use: {where} shares barcode {p.barcode} with another product"
                    )
                barcodes.add(p.barcode)
            skus.add(p.sku)
            items.append(
                CatalogItem(p.sku, p.name_zh, p.name_en, p.price_fen, p.barcode, p.category, p.active)
            )
        return items

    # --- internals --------------------------------------------------------------------------------

    def _push_batch(self, batch: list[dict[str, Any]], kind: _Upload = _SALES) -> list[str]:
        remaining = batch
        for _ in range(MAX_ISOLATION_ROUNDS):
            if not remaining:
                return []
            response = self._request("POST", kind.path, json=remaining)
            if response.status_code == 200:
                try:
                    reply = _IngestReply.model_validate(self._json(response))
                except ValidationError as exc:
                    raise HqError(
                        f"HQ answered the {kind.plural} upload with something we cannot use ({_describe(exc)})"
                    ) from None
                return reply.stored + reply.duplicates
            if response.status_code not in (409, 422):
                raise self._http_error(response, f"upload {kind.plural}")
            refused = self._refused(response, remaining, kind)
            if not refused:
                raise self._http_error(response, f"upload {kind.plural}")
            remaining = [record for i, record in enumerate(remaining) if i not in refused]
        raise HqError(
            f"HQ kept refusing {kind.plural} in a batch of {len(batch)} after {MAX_ISOLATION_ROUNDS} rounds; "
            "see the log for the records it named"
        )

    def _refused(
        self, response: requests.Response, sent: list[dict[str, Any]], kind: _Upload = _SALES
    ) -> set[int]:
        """Positions in ``sent`` of the records HQ named in a 409 or 422 answer; each is logged."""
        body = self._json_or_none(response)
        detail = body.get("detail") if isinstance(body, dict) else None
        refused: set[int] = set()
        if response.status_code == 409 and isinstance(detail, dict):
            conflicts = {c for c in detail.get("conflicts", []) if isinstance(c, str)}
            for i, record in enumerate(sent):
                if kind.key(record) in conflicts:
                    refused.add(i)
                    log.error(
                        "HQ refused %s %s: HQ holds a different %s with this %s; kept for staff",
                        kind.noun,
                        record.get(kind.field),
                        kind.noun,
                        kind.key_name,
                    )
        elif response.status_code == 422 and isinstance(detail, list):
            for entry in detail:
                index = entry.get("index") if isinstance(entry, dict) else None
                if isinstance(index, int) and 0 <= index < len(sent):
                    refused.add(index)
                    problems = entry.get("problems") if isinstance(entry, dict) else None
                    log.error(
                        "HQ refused %s %s: %s", kind.noun, sent[index].get(kind.field), str(problems)[:500]
                    )
        return refused

    def _request(self, method: str, path: str, json: Any = None) -> requests.Response:
        url = self.base_url + path
        headers = {"Authorization": f"Bearer {self._api_key}", "Accept": "application/json"}
        try:
            return self._session.request(
                method,
                url,
                json=json,
                headers=headers,
                timeout=(self.timeout_s, self.timeout_s),
                allow_redirects=False,
            )
        except requests.Timeout:
            raise HqError(f"HQ at {self.base_url} did not answer within {self.timeout_s:g} s") from None
        except requests.ConnectionError as exc:
            raise HqError(f"cannot reach HQ at {self.base_url}: {self._scrub(self._reason(exc))}") from None
        except requests.RequestException as exc:
            raise HqError(f"request to HQ at {self.base_url} failed: {self._scrub(str(exc))}") from None

    def _http_error(self, response: requests.Response, doing: str) -> HqError:
        status = response.status_code
        said = self._hq_said(response)
        if status == 401:
            return HqError(
                f"HQ refused the API key ({mask(self._api_key)}) of kiosk {self.kiosk_id}: {said}. "
                f"On HQ run `hq device add {self.kiosk_id}` (or add --rotate) and put the key in [hq] api_key"
            )
        if status == 429:
            seconds = response.headers.get("Retry-After", "")
            wait = f"{seconds} s" if seconds.isdigit() and len(seconds) <= 6 else "a while"
            return HqError(
                f"HQ holds back this kiosk's address for {wait} more: too many unknown API keys came from it. "
                f"Check [hq] api_key of kiosk {self.kiosk_id}; on HQ, "
                f"`hq device add {self.kiosk_id} --rotate` makes a new key. Will retry"
            )
        if 300 <= status < 400:
            where = response.headers.get("Location", "?")
            return HqError(f"HQ answered a redirect ({status}) to {where}; set [hq] url to the final address")
        if status >= 500:
            return HqError(f"HQ could not {doing}: it answered {status} ({said}); will retry")
        return HqError(f"HQ refused to {doing}: {status} ({said})")

    def _hq_said(self, response: requests.Response) -> str:
        body = self._json_or_none(response)
        text = body.get("error") if isinstance(body, dict) else None
        if not isinstance(text, str) or not text:
            text = response.reason or "no reason given"
        return self._scrub(text[:300])

    def _json(self, response: requests.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            kind = response.headers.get("Content-Type", "unknown type")
            raise HqError(
                f"HQ answered {response.status_code} with {kind}, not JSON; is [hq] url really HQ?"
            ) from None

    def _json_or_none(self, response: requests.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            return None

    @staticmethod
    def _reason(exc: requests.ConnectionError) -> str:
        """The operating system's words (``Connection refused``), not urllib3's paragraph around them."""
        match = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", str(exc))
        return match.group(1).strip() if match else type(exc).__name__

    def _scrub(self, text: str) -> str:
        return text.replace(self._api_key, mask(self._api_key)) if self._api_key else text
