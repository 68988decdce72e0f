"""``HttpHqClient``: the HqClient port over HTTP, protocol v1 (docs/sync-protocol.md).

Every request is signed with the kiosk's enrolment secret (``HqSigner``) and names the protocol
(``X-Sync-Protocol: 1``). Every answer, errors included, carries HQ's clock (``X-HQ-Time``), which
the signer observes, so a kiosk whose clock is far off still signs within HQ's window; after a 401
whose reason is ``clock`` the client re-measures and tries once more.

A request that fails as a whole comes out as ``HqError`` (``unreachable`` when HQ never answered,
``retry_after_s`` when HQ said when to come back); nothing is known about any event in it, and the
pusher sends the same events again. An answer about each event (stored, duplicate, rejected) comes
back as a list of ``EventResult``. The secret never appears in a message or a log.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, Literal
from urllib.parse import urlencode

import requests
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError

from kiosk.core.pricing import PromotionError, promotion_from_dict
from kiosk.maintenance.zreport import DayTotals
from kiosk.ports import CatalogItem, CatalogUpdate, EventResult, HqError, OutEvent, PictureRef, StaffItem
from kiosk.sync.signed import HqSigner
from kiosk_common.codes import gtin_check_ok
from kiosk_common.pictures import MAX_IMAGE_BYTES, sku_for_file
from kiosk_common.signing import CHECK_NOW_TTL_S, parse_check_now

log = logging.getLogger(__name__)

EVENTS_PATH = "/api/v1/sync/events"
CATALOG_PATH = "/api/v1/sync/catalog"
TOTALS_PATH = "/api/v1/sync/totals"
PICTURES_PATH = "/api/v1/sync/pictures"
#: HQ's limit for one POST /api/v1/sync/events
MAX_EVENTS_PER_REQUEST = 1000
#: longest Retry-After we honour; a larger (or absurd) value is clipped to it
MAX_RETRY_AFTER_S = 3600.0
#: check-now nonces remembered (each for the notice's lifetime) so a replayed notice is ignored
MAX_NOTICE_NONCES = 256


class _Strict(BaseModel):
    # a later protocol version adds fields: the kiosk ignores what it does not know (§ intro)
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Result(_Strict):
    key: StrictStr
    status: Literal["stored", "duplicate", "rejected"]
    problems: list[Any] = []


class _EventsReply(_Strict):
    results: list[_Result]
    #: HQ's signed check-now (docs/sync-protocol.md §3); checked on its own, so a bad one never costs
    #: the events' results
    ota_check_now: Any = None


class _PictureReply(_Strict):
    name: StrictStr = Field(max_length=80)
    sha256: StrictStr = Field(pattern=r"^[0-9a-f]{64}$")
    size: StrictInt = Field(ge=1, le=MAX_IMAGE_BYTES)


class _ProductReply(_Strict):
    sku: StrictStr = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    name_zh: StrictStr = Field(min_length=1, max_length=128)
    name_en: StrictStr = Field(min_length=1, max_length=128)
    price_fen: StrictInt = Field(ge=0, le=100_000_000)
    barcode: StrictStr | None
    category: StrictStr | None = None
    active: StrictBool
    #: checked on its own (``_picture``): a bad reference costs the picture, never the catalog
    picture: Any = None


class _StaffReply(_Strict):
    id: StrictInt = Field(ge=1, le=2**62)
    name: StrictStr = Field(min_length=1, max_length=64)
    role: Literal["cashier", "manager", "it"]
    #: empty for an inactive account (HQ sends no hash of an account the kiosk must drop)
    pin_hash: StrictStr = Field(max_length=255, pattern=r"^(\$argon2id\$[ -~]+)?$")
    active: StrictBool


class _CatalogReply(_Strict):
    kind: Literal["delta", "snapshot"]
    since: StrictInt = Field(ge=0)
    version: StrictInt = Field(ge=0)
    products: list[_ProductReply] = []
    settings: dict[str, Any] = {}
    staff: list[_StaffReply] = []
    badge_public_key: StrictStr = Field("", max_length=64, pattern=r"^([A-Za-z0-9+/]{43}=)?$")
    #: absent from an older HQ: the kiosk keeps the promotions it has
    promotions: list[dict[str, Any]] | None = Field(None, max_length=500)


class _TotalsReply(BaseModel):
    model_config = ConfigDict(extra="ignore")

    kiosk_id: StrictStr
    day: StrictStr
    sales_count: StrictInt = Field(ge=0)
    sales_fen: StrictInt = Field(ge=0)
    refunds_count: StrictInt = Field(ge=0)
    refunds_fen: StrictInt = Field(ge=0)


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "(reply)"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def _problem_text(problem: Any) -> str:
    """One problem of a rejected event as a line for the log and the parked reason."""
    if isinstance(problem, dict):
        field = str(problem.get("field", ""))[:100]
        text = str(problem.get("problem", ""))[:300]
        return f"{field}: {text}" if field else text
    return str(problem)[:300]


def check_catalog(reply: Any) -> CatalogUpdate:
    """HQ's catalog answer checked as the kiosk needs it (a unique sku and barcode per product, valid
    EAN/UPC barcodes) before anything of it reaches the store. HqError says what is wrong."""
    try:
        parsed = _CatalogReply.model_validate(reply)
    except ValidationError as exc:
        raise HqError(
            f"HQ sent a catalog we cannot use ({_describe(exc)}); ask the HQ admin to check it"
        ) from None
    if parsed.kind == "delta" and parsed.version < parsed.since:
        raise HqError(f"HQ sent a catalog delta from version {parsed.since} back to {parsed.version}")
    items: list[CatalogItem] = []
    skus: set[str] = set()
    barcodes: set[str] = set()
    for index, p in enumerate(parsed.products):
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
            CatalogItem(
                p.sku,
                p.name_zh,
                p.name_en,
                p.price_fen,
                p.barcode,
                p.category or "",
                p.active,
                _picture(p.sku, p.picture),
            )
        )
    for key in parsed.settings:
        if not re.fullmatch(r"[A-Za-z0-9._-]{1,58}", key):
            raise HqError(
                f"HQ sent a setting named {key[:60]!r}; names are 1-58 letters, digits, '.', '_' or '-'"
            )
    if any(s.active and not s.pin_hash for s in parsed.staff):
        raise HqError("HQ sent a catalog we cannot use: an active staff account without a PIN hash")
    staff_ids = [s.id for s in parsed.staff]
    if len(set(staff_ids)) != len(staff_ids):
        raise HqError("HQ sent a catalog we cannot use: a staff account appears twice")
    staff = tuple(StaffItem(s.id, s.name, s.role, s.pin_hash, s.active) for s in parsed.staff)
    return CatalogUpdate(
        parsed.kind,
        parsed.since,
        parsed.version,
        tuple(items),
        dict(parsed.settings),
        staff,
        parsed.badge_public_key,
        _promotions(parsed.promotions),
    )


def _picture(sku: str, raw: Any) -> PictureRef | None:
    """HQ's picture reference for ``sku``, or None (with a warning) when it is not one this kiosk can
    fetch safely: the file name must be the sku with a picture suffix, so it cannot name another
    product's file or climb out of the pictures folder. The tile then keeps its initial."""
    if raw is None:
        return None
    try:
        ref = _PictureReply.model_validate(raw)
    except ValidationError as exc:
        log.warning("HQ's picture of %s is not usable; its tile keeps its initial: %s", sku, _describe(exc))
        return None
    if sku_for_file(ref.name) != sku:
        log.warning(
            "HQ's picture of %s is named %r, not %s.png or %s.jpg; not fetched", sku, ref.name[:80], sku, sku
        )
        return None
    return PictureRef(ref.name, ref.sha256, ref.size)


def _promotions(bodies: list[dict[str, Any]] | None) -> tuple[dict[str, Any], ...] | None:
    """HQ's promotions as the store keeps them. One this release cannot apply (a newer kind, a bad
    number) is left out with a warning, not the whole catalog: the customer pays the normal price."""
    if bodies is None:
        return None
    kept: list[dict[str, Any]] = []
    seen: set[str] = set()
    for body in bodies:
        try:
            promo = promotion_from_dict(body)
        except PromotionError as exc:
            log.warning("HQ sent a promotion this kiosk cannot apply; skipped: %s", exc)
            continue
        if promo.promo_id in seen:
            log.warning("HQ sent promotion %s twice; the first is kept", promo.promo_id)
            continue
        seen.add(promo.promo_id)
        kept.append(body)
    return tuple(kept)


class HttpHqClient:
    """Talks to HQ for one enrolled kiosk. Owns (and closes) its requests session unless one is passed in."""

    def __init__(
        self,
        base_url: str,
        signer: HqSigner,
        timeout_s: float,
        session: requests.Session | None = None,
        wall_clock: Callable[[], float] = time.time,
        on_check_now: Callable[[], object] | None = None,
    ) -> None:
        if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", base_url):
            raise ValueError(
                f"HQ URL {base_url!r} must start with http:// or https://, e.g. http://hq.local:8080"
            )
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0, got {timeout_s}")
        self.base_url = base_url.rstrip("/")
        self.signer = signer
        self.kiosk_id = signer.kiosk_id
        self.timeout_s = timeout_s
        self._clock = wall_clock
        self._owns_session = session is None
        self._session = session or requests.Session()
        #: called when an events answer carries a genuine, fresh check-now for this kiosk (the kiosk
        #: app asks its update agent to poll HQ at once: kiosk.ota_link.request_check_now)
        self.on_check_now = on_check_now
        self._notice_nonces: dict[str, float] = {}

    def close(self) -> None:
        if self._owns_session:
            self._session.close()

    @property
    def clock_offset_s(self) -> float:
        return self.signer.offset_s

    # --- the port ---------------------------------------------------------------------------------

    def push_events(self, events: Sequence[OutEvent]) -> list[EventResult]:
        if not events:
            return []
        if len(events) > MAX_EVENTS_PER_REQUEST:
            raise ValueError(f"at most {MAX_EVENTS_PER_REQUEST} events a request, got {len(events)}")
        body = json.dumps(
            {"events": [{"key": e.key, "kind": e.kind, "at": e.at, "body": e.body} for e in events]},
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode("utf-8")
        response = self._request("POST", EVENTS_PATH, body)
        if response.status_code != 200:
            raise self._http_error(response, "take the events")
        try:
            reply = _EventsReply.model_validate(self._json(response))
        except ValidationError as exc:
            raise HqError(f"HQ answered the events with something we cannot use ({_describe(exc)})") from None
        sent = {e.key for e in events}
        results = []
        for r in reply.results:
            if r.key not in sent:
                log.warning(
                    "HQ answered about event %s, which this request did not send; ignored", r.key[:40]
                )
                continue
            results.append(EventResult(r.key, r.status, tuple(_problem_text(p) for p in r.problems[:10])))
        if reply.ota_check_now is not None:
            self._take_check_now(reply.ota_check_now)
        return results

    def _take_check_now(self, raw: Any) -> None:
        """Act on HQ's check-now notice only when it is well formed, signed with this kiosk's secret,
        for this kiosk, fresh by HQ's clock and not seen before; anything else is logged (never the
        signature) and ignored. Nothing here may cost the events' results."""
        notice = parse_check_now(raw)
        reason = "malformed" if notice is None else self.signer.check_now_refusal(notice)
        hq_now = self.signer.hq_now()
        self._notice_nonces = {n: t for n, t in self._notice_nonces.items() if t > hq_now}
        if notice is not None and not reason and notice.nonce in self._notice_nonces:
            reason = "replayed"
        if reason:
            log.warning("HQ's check-now notice ignored (%s)", reason)
            return
        assert notice is not None
        if len(self._notice_nonces) < MAX_NOTICE_NONCES:
            self._notice_nonces[notice.nonce] = notice.issued_at + CHECK_NOW_TTL_S
        else:
            log.warning("too many check-now notices at once; this one is not acted on")
            return
        log.info("HQ asks for an update check now")
        if self.on_check_now is None:
            return
        try:
            self.on_check_now()
        except Exception:
            log.exception("HQ's check-now could not be passed to the update agent")

    def fetch_catalog(self, since: int) -> CatalogUpdate | None:
        if since < 0:
            raise ValueError(f"since must be >= 0, got {since}")
        response = self._request("GET", f"{CATALOG_PATH}?since={int(since)}", b"")
        if response.status_code == 304:
            return None
        if response.status_code != 200:
            raise self._http_error(response, "send the catalog")
        update = check_catalog(self._json(response))
        if update.kind == "delta" and update.since != since:
            raise HqError(f"HQ answered a delta from version {update.since} to a request since {since}")
        return update

    def fetch_picture(self, sku: str, max_bytes: int) -> bytes:
        """The bytes of the picture of ``sku`` (``GET /api/v1/sync/pictures/{sku}``), read no further
        than ``max_bytes`` (a larger answer is refused, not held in memory). The caller checks them
        against the catalog's SHA-256; HqError when HQ did not send them."""
        if sku_for_file(f"{sku}.png") != sku:
            raise ValueError(f"{sku!r} cannot name a picture")
        response = self._request("GET", f"{PICTURES_PATH}/{sku}", b"", stream=True)
        try:
            if response.status_code != 200:
                raise self._http_error(response, f"send the picture of {sku}")
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise HqError(f"HQ's picture of {sku} is {declared} bytes; at most {max_bytes} are taken")
            data = bytearray()
            try:
                for chunk in response.iter_content(64 * 1024):
                    data += chunk
                    if len(data) > max_bytes:
                        raise HqError(f"HQ's picture of {sku} is over {max_bytes} bytes; not taken")
            except requests.RequestException as exc:
                raise HqError(
                    f"the picture of {sku} did not arrive whole: {str(exc)[:200]}", unreachable=True
                ) from None
            return bytes(data)
        finally:
            response.close()

    def fetch_day_totals(self, day: date, tz: str) -> DayTotals:
        """HQ's count and sum of this kiosk's sales and refunds on ``day`` (the kiosk's calendar day
        in ``tz``): what the Z-report holds up against the ledger (``GET /api/v1/sync/totals``)."""
        query = urlencode({"day": day.isoformat(), "tz": tz})
        response = self._request("GET", f"{TOTALS_PATH}?{query}", b"")
        if response.status_code != 200:
            raise self._http_error(response, "send its day totals")
        try:
            reply = _TotalsReply.model_validate(self._json(response))
        except ValidationError as exc:
            raise HqError(
                f"HQ answered the day totals with something we cannot use ({_describe(exc)})"
            ) from None
        if reply.day != day.isoformat():
            raise HqError(f"HQ answered the totals of {reply.day[:10]!r}, not {day.isoformat()}")
        return DayTotals(reply.sales_count, reply.sales_fen, reply.refunds_count, reply.refunds_fen)

    def send(self, path: str, method: str, body: bytes) -> requests.Response:
        """A signed request to another part of HQ's kiosk API (the update agent's ``/api/v1/ota/...``):
        the same signing, clock correction and errors as sync; ``error_of`` turns a refusal into words."""
        return self._request(method, path, body)

    def error_of(self, response: requests.Response, doing: str) -> HqError:
        """The ``HqError`` for an answer other than the one expected (``doing``: what HQ should have done)."""
        return self._http_error(response, doing)

    # --- internals --------------------------------------------------------------------------------

    def _request(self, method: str, path: str, body: bytes, stream: bool = False) -> requests.Response:
        """Send once; after a 401 ``clock`` refusal (the signer has just learnt HQ's clock from that
        very answer) send once more with a fresh signature."""
        response = self._send(method, path, body, stream)
        if response.status_code == 401 and self._refusal_reason(response) == "clock":
            log.warning(
                "HQ refused this kiosk's clock (offset now %.1f s); signing again", self.signer.offset_s
            )
            response.close()
            response = self._send(method, path, body, stream)
        return response

    def _send(self, method: str, path: str, body: bytes, stream: bool = False) -> requests.Response:
        url = self.base_url + path
        headers = {"Accept": "application/json"}
        if body:
            headers["Content-Type"] = "application/json"
        sent_at = self._clock()
        try:
            response = self._session.request(
                method,
                url,
                data=body or None,
                headers=headers,
                auth=self.signer,
                timeout=(self.timeout_s, self.timeout_s),
                allow_redirects=False,
                stream=stream,
            )
        except requests.Timeout:
            raise HqError(
                f"HQ at {self.base_url} did not answer within {self.timeout_s:g} s", unreachable=True
            ) from None
        except requests.ConnectionError as exc:
            raise HqError(
                f"cannot reach HQ at {self.base_url}: {self._reason(exc)}", unreachable=True
            ) from None
        except requests.RequestException as exc:
            raise HqError(
                f"request to HQ at {self.base_url} failed: {str(exc)[:300]}", unreachable=True
            ) from None
        self.signer.observe(response, sent_at)
        return response

    def _refusal_reason(self, response: requests.Response) -> str:
        body = self._json_or_none(response)
        detail = body.get("detail") if isinstance(body, dict) else None
        reason = detail.get("reason") if isinstance(detail, dict) else None
        return reason if isinstance(reason, str) else ""

    def _http_error(self, response: requests.Response, doing: str) -> HqError:
        status = response.status_code
        said = self._hq_said(response)
        retry_after = self._retry_after(response)
        if status == 401:
            reason = self._refusal_reason(response) or "not given"
            hint = {
                "unknown_kiosk": "HQ does not know this kiosk: enrol it (kiosk enroll CODE --hq URL --replace)",
                "revoked": "HQ revoked this kiosk: ask the HQ admin for a new code and run kiosk enroll CODE --hq URL --replace",
                "signature": "the credentials file does not match HQ's record: enrol again (kiosk enroll CODE --hq URL --replace)",
                "clock": "this kiosk's clock is too far from HQ's even after correcting; set it right (NTP)",
                "replay": "HQ saw this request's nonce before; will retry",
            }.get(reason, "check [hq] url and the enrolment (kiosk enroll)")
            return HqError(
                f"HQ refused kiosk {self.kiosk_id} (reason: {reason}): {hint}",
                retry_after_s=retry_after,
                refusal=reason,
            )
        if status == 429:
            wait = f"{retry_after:g} s" if retry_after is not None else "a while"
            return HqError(
                f"HQ asks this kiosk to wait {wait} before it tries again ({said})", retry_after_s=retry_after
            )
        if status == 400 and self._json_or_none(response) is not None:
            body = self._json_or_none(response)
            detail = body.get("detail") if isinstance(body, dict) else None
            if isinstance(detail, dict) and "supported" in detail:
                return HqError(
                    f"HQ does not speak sync protocol 1 (it speaks {str(detail['supported'])[:40]}): this kiosk "
                    "keeps selling and queues everything until it is updated"
                )
        if 300 <= status < 400:
            where = response.headers.get("Location", "?")[:200]
            return HqError(f"HQ answered a redirect ({status}) to {where}; set [hq] url to the final address")
        if status >= 500:
            return HqError(
                f"HQ could not {doing}: it answered {status} ({said}); will retry", retry_after_s=retry_after
            )
        return HqError(f"HQ refused to {doing}: {status} ({said})", retry_after_s=retry_after)

    @staticmethod
    def _retry_after(response: requests.Response) -> float | None:
        raw = response.headers.get("Retry-After", "").strip()
        if not raw or len(raw) > 10:
            return None
        try:
            value = float(raw)
        except ValueError:
            return None
        if value != value or value < 0:  # NaN or negative
            return None
        return min(value, MAX_RETRY_AFTER_S)

    def _hq_said(self, response: requests.Response) -> str:
        body = self._json_or_none(response)
        text = body.get("error") if isinstance(body, dict) else None
        if not isinstance(text, str) or not text:
            text = response.reason or "no reason given"
        return text[:300]

    def _json(self, response: requests.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            kind = response.headers.get("Content-Type", "unknown type")
            raise HqError(
                f"HQ answered {response.status_code} with {kind}, not JSON; is [hq] url really HQ?"
            ) from None

    @staticmethod
    def _json_or_none(response: requests.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            return None

    @staticmethod
    def _reason(exc: requests.ConnectionError) -> str:
        """The operating system's words (``Connection refused``), not urllib3's paragraph around them."""
        match = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", str(exc))
        return match.group(1).strip() if match else type(exc).__name__
