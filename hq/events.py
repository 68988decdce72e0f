"""Events up from kiosks, stored exactly once (docs/sync-protocol.md §3, §4).

A batch is checked event by event: the envelope, then the body for its kind. Then, in one
transaction, every new event gets its row in the ``sync_event`` ledger and its effect together. The
ledger's unique index on (kiosk, key) decides which request stores an event: the rows are written
with ``INSERT ... ON CONFLICT DO NOTHING ... RETURNING key``, and only the keys that come back are
applied; a key that does not come back was stored by a request that raced this one (on PostgreSQL
the insert waits for that request to commit), and its first answer is read back and repeated.

For speed the batch is applied with a few bulk statements per table rather than a round trip per
event. Should the database still refuse a bulk statement (a record HQ's checks let through but a
column cannot hold), the batch is applied again one event at a time, each in its own savepoint, so
only that event is rejected and the others are stored.

Natural ids (``order_id``, ``out_refund_no``, ``out_trade_no``) are unique too: a record that reuses
one under a new key is a duplicate when its content is the same and is rejected when it differs,
and a stored record is never overwritten. The one exception is a payment HQ holds as ``unknown``:
a later report of its final state (same order, channel and amount) replaces it.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, cast

import peewee
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
)

from hq import rollouts
from hq.errors import MAX_PROBLEMS_PER_RECORD, clip, field_path, problem_text, short
from hq.identity import KioskIdentity
from hq.models import (
    AuditEvent,
    Device,
    Heartbeat,
    PaymentEvent,
    Refund,
    Sale,
    SaleDiscount,
    SaleLine,
    Store,
    SyncEvent,
    WebhookDelivery,
    database,
    utc_now,
)
from hq.ota import ReportIn
from hq.refunds import RefundIn
from hq.sales import KioskRecord, SaleIn, UtcTimestamp

log = logging.getLogger(__name__)

MAX_EVENTS_PER_REQUEST = 1000
KEY_PATTERN = r"^[A-Za-z0-9._:-]{1,64}$"
_KEY_RE = re.compile(KEY_PATTERN)
_PRINTABLE = r"^[\x21-\x7e]+$"
_NO_CONTROL = r"^[^\x00-\x1f\x7f]+$"
#: longest audit ``detail`` HQ keeps, as JSON text
MAX_AUDIT_DETAIL_CHARS = 4000
#: rows per bulk statement: well under SQLite's 32,766 and PostgreSQL's 65,535 parameters
_CHUNK = 500

Kind = Literal["sale", "refund", "payment", "audit", "heartbeat"]
#: the kinds of event HQ knows, for counting what arrives
KINDS: frozenset[str] = frozenset(("sale", "refund", "payment", "audit", "heartbeat"))
Status = Literal["stored", "duplicate", "rejected"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EventEnvelope(_Strict):
    """One event as the kiosk's outbox holds it; ``body`` is checked against its kind's model."""

    key: StrictStr = Field(pattern=KEY_PATTERN)
    kind: Kind
    at: UtcTimestamp
    body: dict[str, Any]


class PaymentIn(KioskRecord):
    """A payment attempt's final state (docs/sync-protocol.md §3), for reconciling with the channels."""

    out_trade_no: StrictStr = Field(min_length=1, max_length=64, pattern=_PRINTABLE)
    channel: Literal["wechat", "alipay"]
    amount_fen: StrictInt = Field(ge=0, le=10**12)
    status: Literal["paid", "failed", "cancelled", "unknown"]
    transaction_id: StrictStr | None = Field(None, max_length=64, pattern=r"^[\x21-\x7e]*$")
    at: UtcTimestamp


class AuditIn(_Strict):
    at: UtcTimestamp
    actor: StrictStr = Field(min_length=1, max_length=64, pattern=_NO_CONTROL)
    action: StrictStr = Field(min_length=1, max_length=64, pattern=_NO_CONTROL)
    detail: StrictStr | dict[str, Any] = ""


class PrinterState(_Strict):
    ready: StrictBool
    paper: Literal["ok", "low", "out", "unknown"]
    cover: Literal["closed", "open", "unknown"]


class HeartbeatIn(_Strict):
    """A kiosk's health report (docs/sync-protocol.md §4)."""

    at: UtcTimestamp
    app_version: StrictStr = Field(min_length=1, max_length=64, pattern=_PRINTABLE)
    printer: PrinterState
    camera: Literal["ok", "failed", "none"]
    disk_free_bytes: StrictInt = Field(ge=0, le=2**62)
    temperature_c: StrictFloat | StrictInt | None = Field(ge=-100, le=200)
    outbox_depth: StrictInt = Field(ge=0, le=2**31)
    parked: StrictInt = Field(ge=0, le=2**31)
    catalog_version: StrictInt = Field(ge=0, le=2**62)
    clock_offset_s: StrictFloat | StrictInt = Field(ge=-(10**9), le=10**9)
    #: maintenance lockouts since a staff member last unlocked (0 or absent: none)
    maintenance_lockouts: StrictInt = Field(0, ge=0, le=2**31)
    #: the OTA agent's last state (docs/ota.md); absent from kiosks without the agent
    ota: ReportIn | None = None


_BODY_MODELS: dict[str, type[BaseModel]] = {
    "sale": SaleIn,
    "refund": RefundIn,
    "payment": PaymentIn,
    "audit": AuditIn,
    "heartbeat": HeartbeatIn,
}


class EventBatchIn(_Strict):
    """``POST /api/v1/sync/events``: events are checked one by one, so each is a JSON object here."""

    events: list[dict[str, Any]] = Field(
        max_length=MAX_EVENTS_PER_REQUEST,
        description="at most 1,000 events `{key, kind, at, body}`, oldest first (docs/sync-protocol.md §3)",
    )


class EventResult(BaseModel):
    key: str | None = Field(description="the event's key as sent (clipped); null when it had none")
    status: Status
    problems: list[dict[str, Any]] = Field(
        default_factory=list, description="why an event was rejected: `[{field, problem, value}]`"
    )


class CheckNowNoticeOut(BaseModel):
    """HQ's signed "check for an update now" for the kiosk that sent the events (docs/sync-protocol.md §3)."""

    kiosk_id: str = Field(description="the kiosk it is for: the one that signed the request")
    issued_at: int = Field(description="HQ's clock when it was made, unix seconds; valid 10 minutes")
    nonce: str = Field(description="32 hex digits, new in every notice")
    sig: str = Field(
        description='HMAC-SHA256 (hex) with the kiosk\'s secret over "ota-check-now", kiosk_id, issued_at, '
        "nonce, one per line"
    )


class EventBatchOut(BaseModel):
    results: list[EventResult] = Field(description="one per event, in the order sent")
    hq_time: str
    ota_check_now: CheckNowNoticeOut | None = Field(
        None,
        description="present while an admin's check-now waits for this kiosk's update agent; the kiosk "
        "verifies it and asks its agent to poll at once (docs/ota.md)",
    )


# --- checking -----------------------------------------------------------------------------------------


def _problems(exc: ValidationError, prefix: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for err in exc.errors()[:MAX_PROBLEMS_PER_RECORD]:
        problem: dict[str, Any] = {
            "field": field_path(prefix + tuple(err.get("loc", ()))),
            "problem": problem_text(dict(err)),
        }
        if not isinstance(err.get("input"), dict | list):
            problem["value"] = short(err.get("input"))
        found.append(problem)
    return found


def _problem(where: str, text: str, value: Any = None) -> dict[str, Any]:
    found: dict[str, Any] = {"field": where, "problem": text}
    if value is not None:
        found["value"] = short(value)
    return found


@dataclass(slots=True)
class Event:
    """One event of a batch: where it stood, its key, and its checked body (or why it has none)."""

    index: int
    key: str | None
    kind: str
    received: datetime
    record: Any = None
    problems: list[dict[str, Any]] = field(default_factory=list)


def check_event(index: int, raw: Any, kiosk_id: str, received: datetime) -> Event:
    """The event at ``index`` of a batch, checked; ``problems`` is empty when it may be applied."""
    raw_key = raw.get("key") if isinstance(raw, dict) else None
    key = raw_key if isinstance(raw_key, str) and _KEY_RE.fullmatch(raw_key) else None
    kind = raw.get("kind") if isinstance(raw, dict) else None
    event = Event(index, key, kind if isinstance(kind, str) and kind in _BODY_MODELS else "", received)
    try:
        envelope = EventEnvelope.model_validate(raw)
    except ValidationError as exc:
        event.problems = _problems(exc)
        return event
    try:
        record = _BODY_MODELS[envelope.kind].model_validate(envelope.body)
    except ValidationError as exc:
        event.problems = _problems(exc, ("body",))
        return event
    owner = getattr(record, "kiosk_id", kiosk_id)
    if owner != kiosk_id:
        event.problems = [
            _problem(
                "body.kiosk_id",
                f"this request is signed by kiosk {kiosk_id}; a kiosk sends only its own records",
                owner,
            )
        ]
        return event
    event.record = record
    return event


def _clipped_key(raw: Any) -> str | None:
    value = raw.get("key") if isinstance(raw, dict) else None
    return clip(value) if isinstance(value, str) else None


# --- applying -----------------------------------------------------------------------------------------


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def _iso(moment: datetime) -> str:
    return moment.replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


@dataclass(slots=True)
class _Known:
    """What HQ holds under the natural ids a batch names, kept up to date as the batch is decided."""

    sales: dict[str, Sale] = field(default_factory=dict)
    refunds: dict[str, str] = field(default_factory=dict)
    refunded: dict[str, int] = field(default_factory=dict)
    payments: dict[str, PaymentEvent] = field(default_factory=dict)


@dataclass(slots=True)
class _Plan:
    """The rows a batch's new events will write, by table, and the answer for each key."""

    answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)
    sales: dict[str, tuple[str, SaleIn, str]] = field(default_factory=dict)  # order_id -> key, sale, digest
    refunds: dict[str, tuple[str, RefundIn, str]] = field(default_factory=dict)
    payments: dict[str, tuple[str, PaymentIn, str, bool]] = field(default_factory=dict)  # ..., replaces
    audits: list[tuple[str, AuditIn]] = field(default_factory=list)
    heartbeats: list[tuple[str, HeartbeatIn]] = field(default_factory=list)


def _rows_in(model: type[peewee.Model], column: peewee.Field, values: Iterable[str]) -> list[Any]:
    found: list[Any] = []
    for chunk in peewee.chunked(sorted(set(values)), _CHUNK):
        found.extend(model.select().where(column.in_(chunk)))
    return found


def _load_known(events: Sequence[Event]) -> _Known:
    """One query per table for every natural id the batch names. The sales refunds name are locked
    (on PostgreSQL) so two requests cannot both refund the last fen of a sale."""
    known = _Known()
    sale_ids = {e.record.order_key for e in events if e.kind == "sale"}
    refund_sale_ids = {e.record.order_key for e in events if e.kind == "refund"}
    for chunk in peewee.chunked(sorted(sale_ids | refund_sale_ids), _CHUNK):
        query = Sale.select().where(Sale.order_id.in_(chunk)).order_by(Sale.order_id)
        if refund_sale_ids and isinstance(database.obj, peewee.PostgresqlDatabase):
            query = query.for_update()
        known.sales.update({s.order_id: s for s in query})
    refund_nos = [e.record.out_refund_no for e in events if e.kind == "refund"]
    known.refunds = {
        r.out_refund_no: r.content_sha256 for r in _rows_in(Refund, Refund.out_refund_no, refund_nos)
    }
    for chunk in peewee.chunked(sorted(refund_sale_ids), _CHUNK):
        totals = (
            Refund.select(Refund.sale, peewee.fn.SUM(Refund.amount_fen))
            .where(Refund.sale.in_(chunk))
            .group_by(Refund.sale)
            .tuples()
        )
        rows = cast(Iterable[tuple[Any, Any]], totals)
        known.refunded.update({str(order_id): int(total) for order_id, total in rows})
    trade_nos = [e.record.out_trade_no for e in events if e.kind == "payment"]
    known.payments = {p.out_trade_no: p for p in _rows_in(PaymentEvent, PaymentEvent.out_trade_no, trade_nos)}
    return known


STORED: dict[str, Any] = {"status": "stored", "problems": []}
DUPLICATE: dict[str, Any] = {"status": "duplicate", "problems": []}


def _rejected(*problems: dict[str, Any]) -> dict[str, Any]:
    return {"status": "rejected", "problems": list(problems)}


def _decide_sale(event: Event, known: _Known, plan: _Plan, kiosk: KioskIdentity) -> dict[str, Any]:
    sale = cast(SaleIn, event.record)
    order_id, digest = sale.order_key, sale.content_sha256()
    held = known.sales.get(order_id)
    if held is not None:
        if held.content_sha256 == digest:
            return DUPLICATE
        return _rejected(
            _problem(
                "body.order_id",
                "HQ holds a different sale under this order_id and never overwrites a stored sale",
                order_id,
            )
        )
    assert event.key is not None
    plan.sales[order_id] = (event.key, sale, digest)
    known.sales[order_id] = Sale(
        order_id=order_id,
        kiosk_id=sale.kiosk_id,
        out_trade_no=sale.out_trade_no,
        total_fen=sale.total_fen,
        content_sha256=digest,
        store_id=kiosk.store_id,
    )
    return STORED


def _decide_refund(event: Event, known: _Known, plan: _Plan) -> dict[str, Any]:
    """The rules of docs/hq.md §5, in the order that tells a kiosk nothing of another kiosk's sales."""
    refund = cast(RefundIn, event.record)
    order_id, digest = refund.order_key, refund.content_sha256()
    sale = known.sales.get(order_id)
    if sale is None or sale.kiosk_id != refund.kiosk_id:
        return _rejected(
            _problem(
                "body.order_id",
                f"HQ holds no sale {order_id} from kiosk {refund.kiosk_id}; a refund is taken only after its "
                "sale, so send the sale first",
                order_id,
            )
        )
    held = known.refunds.get(refund.out_refund_no)
    if held is not None:
        if held == digest:
            return DUPLICATE
        return _rejected(
            _problem(
                "body.out_refund_no",
                "HQ holds a different refund under this out_refund_no and never overwrites a stored refund",
                refund.out_refund_no,
            )
        )
    if sale.out_trade_no != refund.out_trade_no:
        return _rejected(
            _problem(
                "body.out_trade_no",
                f"sale {order_id} was paid as {sale.out_trade_no}, not {refund.out_trade_no}",
                refund.out_trade_no,
            )
        )
    total = known.refunded.get(order_id, 0) + refund.amount_fen
    if total > sale.total_fen:
        return _rejected(
            _problem(
                "body.amount_fen",
                f"refunds of sale {order_id} would come to {total} fen, more than its {sale.total_fen}",
                refund.amount_fen,
            )
        )
    assert event.key is not None
    known.refunded[order_id] = total
    known.refunds[refund.out_refund_no] = digest
    plan.refunds[refund.out_refund_no] = (event.key, refund, digest)
    return STORED


def _decide_payment(event: Event, known: _Known, plan: _Plan, kiosk: KioskIdentity) -> dict[str, Any]:
    payment = cast(PaymentIn, event.record)
    digest = payment.content_sha256()
    held = known.payments.get(payment.out_trade_no)
    replaces = False
    if held is not None:
        if held.content_sha256 == digest:
            return DUPLICATE
        same_payment = (
            held.kiosk_id == kiosk.kiosk_id
            and held.order_id == payment.order_key
            and held.channel == payment.channel
            and held.amount_fen == payment.amount_fen
        )
        if not (same_payment and held.status == "unknown" and payment.status != "unknown"):
            return _rejected(
                _problem(
                    "body.out_trade_no",
                    "HQ holds a different payment under this out_trade_no; only a payment HQ holds as "
                    "'unknown' may be followed by its final state",
                    payment.out_trade_no,
                )
            )
        replaces = True
    assert event.key is not None
    earlier = plan.payments.get(payment.out_trade_no)
    plan.payments[payment.out_trade_no] = (event.key, payment, digest, replaces or earlier is not None)
    known.payments[payment.out_trade_no] = PaymentEvent(
        out_trade_no=payment.out_trade_no,
        kiosk_id=kiosk.kiosk_id,
        order_id=payment.order_key,
        channel=payment.channel,
        amount_fen=payment.amount_fen,
        status=payment.status,
        content_sha256=digest,
    )
    return STORED


def _decide(events: Sequence[Event], kiosk: KioskIdentity) -> _Plan:
    """The answer for each new event, in the order sent, and the rows the stored ones write."""
    known = _load_known([e for e in events if e.record is not None])
    plan = _Plan()
    for event in events:
        assert event.key is not None
        plan.kinds[event.key] = event.kind
        if event.problems:
            answer = _rejected(*event.problems)
        elif event.kind == "sale":
            answer = _decide_sale(event, known, plan, kiosk)
        elif event.kind == "refund":
            answer = _decide_refund(event, known, plan)
        elif event.kind == "payment":
            answer = _decide_payment(event, known, plan, kiosk)
        elif event.kind == "audit":
            plan.audits.append((event.key, cast(AuditIn, event.record)))
            answer = STORED
        else:
            plan.heartbeats.append((event.key, cast(HeartbeatIn, event.record)))
            answer = STORED
        plan.answers[event.key] = answer
    return plan


def _ledger_answers(kiosk_id: str, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for chunk in peewee.chunked(sorted(set(keys)), _CHUNK):
        query = SyncEvent.select(SyncEvent.key, SyncEvent.answer).where(
            SyncEvent.kiosk_id == kiosk_id, SyncEvent.key.in_(chunk)
        )
        found.update({row.key: json.loads(row.answer) for row in query})
    return found


def _insert_returning(
    model: type[peewee.Model], rows: list[dict[str, Any]], column: peewee.Field, order: str
) -> set[str]:
    """Insert ``rows`` (sorted by ``order``, so racing requests lock in one order), skipping those
    a unique index refuses; return the ``column`` values that were inserted."""
    inserted: set[str] = set()
    rows = sorted(rows, key=lambda row: row[order])
    for chunk in peewee.chunked(rows, _CHUNK):
        query = model.insert_many(chunk).on_conflict_ignore().returning(column).tuples()
        inserted.update(str(row[0]) for row in query.execute())
    return inserted


def _set_answer(kiosk_id: str, key: str, answer: dict[str, Any], plan: _Plan) -> None:
    plan.answers[key] = answer
    SyncEvent.update(answer=json.dumps(answer, ensure_ascii=False)).where(
        SyncEvent.kiosk_id == kiosk_id, SyncEvent.key == key
    ).execute()


def _race_lost(kiosk_id: str, key: str, plan: _Plan, same: bool, where: str, value: str) -> None:
    """A natural id another request stored between this one's lookup and its insert (PostgreSQL)."""
    answer = (
        DUPLICATE
        if same
        else _rejected(
            _problem(where, "HQ holds a different record under this id and never overwrites it", value)
        )
    )
    _set_answer(kiosk_id, key, answer, plan)


@dataclass(slots=True)
class _Publisher:
    """Webhook deliveries for the sales and refunds a batch stores (docs/sync-protocol.md §6)."""

    store_code: str
    kiosk_id: str
    created_at: datetime
    rows: list[dict[str, Any]] = field(default_factory=list)

    def add(self, kind: str, data: dict[str, Any]) -> None:
        event_id = str(uuid.uuid4())
        payload = {
            "id": event_id,
            "type": kind,
            "created_at": _iso(self.created_at),
            "store": self.store_code,
            "kiosk_id": self.kiosk_id,
            "data": data,
        }
        self.rows.append(
            {
                "event_id": event_id,
                "kind": kind,
                "payload": json.dumps(payload, ensure_ascii=False, separators=(",", ":")),
                "created_at": self.created_at,
                "next_attempt_at": self.created_at,
            }
        )


def _apply_sales(kiosk: KioskIdentity, plan: _Plan, received: datetime, publisher: _Publisher | None) -> None:
    if not plan.sales:
        return
    rows = [
        {
            "order_id": order_id,
            "kiosk_id": sale.kiosk_id,
            "created_at": _naive(sale.created_at),
            "paid_at": _naive(sale.paid_at),
            "total_fen": sale.total_fen,
            "currency": sale.currency,
            "channel": sale.channel,
            "out_trade_no": sale.out_trade_no,
            "transaction_id": sale.transaction_id,
            "content_sha256": digest,
            "received_at": received,
            "store_id": kiosk.store_id,
        }
        for order_id, (_, sale, digest) in plan.sales.items()
    ]
    inserted = _insert_returning(Sale, rows, Sale.order_id, "order_id")
    for order_id in set(plan.sales) - inserted:
        key, _, digest = plan.sales[order_id]
        held = Sale.get_by_id(order_id)
        _race_lost(kiosk.kiosk_id, key, plan, held.content_sha256 == digest, "body.order_id", order_id)
    lines = [
        {
            "sale": order_id,
            "line_no": number,
            "sku": line.sku,
            "name": line.name,
            "qty": line.qty,
            "unit_price_fen": line.unit_price_fen,
            "line_total_fen": line.line_total_fen,
        }
        for order_id in sorted(inserted)
        for number, line in enumerate(plan.sales[order_id][1].lines, start=1)
    ]
    for chunk in peewee.chunked(lines, 1000):
        SaleLine.insert_many(chunk).execute()
    discounts = [
        {
            "sale": order_id,
            "line_no": number,
            "promo_id": d.promo_id,
            "sku": d.sku,
            "name": d.name,
            "amount_fen": d.amount_fen,
        }
        for order_id in sorted(inserted)
        for number, d in enumerate(plan.sales[order_id][1].discounts, start=1)
    ]
    for chunk in peewee.chunked(discounts, 1000):
        SaleDiscount.insert_many(chunk).execute()
    if publisher is not None:
        for order_id in sorted(inserted):
            publisher.add("sale.created", plan.sales[order_id][1].model_dump(mode="json"))


def _apply_refunds(
    kiosk: KioskIdentity, plan: _Plan, received: datetime, publisher: _Publisher | None
) -> None:
    if not plan.refunds:
        return
    rows = [
        {
            "out_refund_no": refund_no,
            "sale": refund.order_key,
            "kiosk_id": refund.kiosk_id,
            "out_trade_no": refund.out_trade_no,
            "amount_fen": refund.amount_fen,
            "refunded_at": _naive(refund.refunded_at),
            "content_sha256": digest,
            "received_at": received,
        }
        for refund_no, (_, refund, digest) in plan.refunds.items()
    ]
    inserted = _insert_returning(Refund, rows, Refund.out_refund_no, "out_refund_no")
    for refund_no in set(plan.refunds) - inserted:
        key, _, digest = plan.refunds[refund_no]
        held = Refund.get_by_id(refund_no)
        _race_lost(kiosk.kiosk_id, key, plan, held.content_sha256 == digest, "body.out_refund_no", refund_no)
    if publisher is not None:
        for refund_no in sorted(inserted):
            publisher.add("refund.created", plan.refunds[refund_no][1].model_dump(mode="json"))


def _payment_row(kiosk: KioskIdentity, payment: PaymentIn, digest: str, received: datetime) -> dict[str, Any]:
    return {
        "out_trade_no": payment.out_trade_no,
        "kiosk_id": kiosk.kiosk_id,
        "order_id": payment.order_key,
        "channel": payment.channel,
        "amount_fen": payment.amount_fen,
        "status": payment.status,
        "transaction_id": payment.transaction_id or "",
        "at": _naive(payment.at),
        "content_sha256": digest,
        "received_at": received,
    }


def _apply_payments(kiosk: KioskIdentity, plan: _Plan, received: datetime) -> None:
    new = [(no, entry) for no, entry in plan.payments.items() if not entry[3]]
    rows = [_payment_row(kiosk, payment, digest, received) for _, (_, payment, digest, _) in new]
    inserted = _insert_returning(PaymentEvent, rows, PaymentEvent.out_trade_no, "out_trade_no")
    for trade_no, (key, _, digest, _) in new:
        if trade_no not in inserted:
            held = PaymentEvent.get_by_id(trade_no)
            _race_lost(
                kiosk.kiosk_id, key, plan, held.content_sha256 == digest, "body.out_trade_no", trade_no
            )
    for trade_no, (key, payment, digest, replaces) in plan.payments.items():
        if not replaces:
            continue
        row = _payment_row(kiosk, payment, digest, received)
        row.pop("out_trade_no")
        updated = (
            PaymentEvent.update(**row)
            .where(PaymentEvent.out_trade_no == trade_no, PaymentEvent.status == "unknown")
            .execute()
        )
        if not updated:
            now_held = PaymentEvent.get_or_none(PaymentEvent.out_trade_no == trade_no)
            same = now_held is not None and now_held.content_sha256 == digest
            _race_lost(kiosk.kiosk_id, key, plan, same, "body.out_trade_no", trade_no)


def _apply_audits(kiosk: KioskIdentity, plan: _Plan, received: datetime) -> None:
    rows = []
    for _, audit in plan.audits:
        detail = (
            audit.detail if isinstance(audit.detail, str) else json.dumps(audit.detail, ensure_ascii=False)
        )
        rows.append(
            {
                "kiosk_id": kiosk.kiosk_id,
                "at": _naive(audit.at),
                "actor": audit.actor,
                "action": audit.action,
                "detail": detail[:MAX_AUDIT_DETAIL_CHARS],
                "received_at": received,
            }
        )
    for chunk in peewee.chunked(rows, _CHUNK):
        AuditEvent.insert_many(chunk).execute()


def _beat_json(beat: HeartbeatIn) -> str:
    """A heartbeat as stored: as sent, without ``ota`` when the kiosk sent none (older kiosks)."""
    body = beat.model_dump(mode="json")
    if body.get("ota") is None:
        body.pop("ota", None)
    return json.dumps(body, ensure_ascii=False)


def _apply_heartbeats(kiosk: KioskIdentity, plan: _Plan, received: datetime) -> None:
    if not plan.heartbeats:
        return
    rows = [
        {
            "kiosk_id": kiosk.kiosk_id,
            "at": _naive(beat.at),
            "body": _beat_json(beat),
            "received_at": received,
        }
        for _, beat in plan.heartbeats
    ]
    for chunk in peewee.chunked(rows, _CHUNK):
        Heartbeat.insert_many(chunk).execute()
    newest = max((beat for _, beat in plan.heartbeats), key=lambda beat: beat.at)
    at = _naive(newest.at)
    Device.update(
        last_heartbeat_at=at,
        last_heartbeat=_beat_json(newest),
        app_version=newest.app_version,
    ).where(
        Device.id == kiosk.device_id,
        (Device.last_heartbeat_at.is_null()) | (Device.last_heartbeat_at < at),
    ).execute()
    updates = [beat for _, beat in plan.heartbeats if beat.ota is not None]
    if updates:
        # the newest heartbeat with the agent's state counts as its report (older ones add nothing)
        latest = max(updates, key=lambda beat: beat.at)
        assert latest.ota is not None
        ota = latest.ota
        rollouts.record_report(
            kiosk.device_id, ota.version, ota.state, ota.detail, _naive(latest.at), received
        )


def _apply(
    events: Sequence[Event], kiosk: KioskIdentity, received: datetime, store_code: str | None
) -> dict[str, dict[str, Any]]:
    """Apply new events (distinct keys) inside the caller's transaction; the first answer of each key,
    with ``"replay": True`` for keys another request stored first."""
    known = _ledger_answers(kiosk.kiosk_id, [e.key for e in events if e.key is not None])
    fresh = [e for e in events if e.key is not None and e.key not in known]
    results: dict[str, dict[str, Any]] = {k: {**a, "replay": True} for k, a in known.items()}
    if not fresh:
        return results
    plan = _decide(fresh, kiosk)
    ledger = [
        {
            "kiosk_id": kiosk.kiosk_id,
            "key": key,
            "kind": plan.kinds[key] or "unknown",
            "answer": json.dumps(answer, ensure_ascii=False),
            "received_at": received,
        }
        for key, answer in plan.answers.items()
    ]
    won = _insert_returning(SyncEvent, ledger, SyncEvent.key, "key")
    if len(won) < len(plan.answers):
        lost = set(plan.answers) - won
        results.update({k: {**a, "replay": True} for k, a in _ledger_answers(kiosk.kiosk_id, lost).items()})
        _drop_lost(plan, won)
    publisher = _Publisher(store_code, kiosk.kiosk_id, received) if store_code is not None else None
    _apply_sales(kiosk, plan, received, publisher)
    _apply_refunds(kiosk, plan, received, publisher)
    _apply_payments(kiosk, plan, received)
    _apply_audits(kiosk, plan, received)
    _apply_heartbeats(kiosk, plan, received)
    if publisher is not None:
        for chunk in peewee.chunked(publisher.rows, _CHUNK):
            WebhookDelivery.insert_many(chunk).execute()
    results.update({key: plan.answers[key] for key in won})
    return results


def _drop_lost(plan: _Plan, won: set[str]) -> None:
    """Forget the effects of keys another request stored first: that request wrote them."""
    plan.sales = {k: v for k, v in plan.sales.items() if v[0] in won}
    plan.refunds = {k: v for k, v in plan.refunds.items() if v[0] in won}
    plan.payments = {k: v for k, v in plan.payments.items() if v[0] in won}
    plan.audits = [a for a in plan.audits if a[0] in won]
    plan.heartbeats = [h for h in plan.heartbeats if h[0] in won]


def _apply_one_by_one(
    events: Sequence[Event], kiosk: KioskIdentity, received: datetime, store_code: str | None
) -> dict[str, dict[str, Any]]:
    """The slow path: each event in its own savepoint, so one the database refuses is the only loss."""
    results: dict[str, dict[str, Any]] = {}
    for event in events:
        try:
            with database.atomic():
                results.update(_apply([event], kiosk, received, store_code))
        except (peewee.IntegrityError, peewee.DataError) as exc:
            log.error(
                "kiosk %s: the database refused event %s (%s): %s",
                kiosk.kiosk_id,
                event.key,
                event.kind,
                str(exc)[:300],
            )
            refused = Event(event.index, event.key, event.kind, received)
            refused.problems = [
                _problem("body", "HQ's database could not store this record; report it to HQ's administrator")
            ]
            with database.atomic():
                results.update(_apply([refused], kiosk, received, store_code))
    return results


def ingest_events(
    kiosk: KioskIdentity, raw_events: Sequence[Any], publish: bool, received: datetime | None = None
) -> list[EventResult]:
    """Check and store a batch of events from ``kiosk``; one result per event, in the order sent.

    ``publish`` writes a webhook delivery for each sale and refund stored (``[webhooks] url`` set).
    Must run inside a connection (``hq.db.connected``).
    """
    moment = received or utc_now()
    checked = [check_event(i, raw, kiosk.kiosk_id, moment) for i, raw in enumerate(raw_events)]
    primaries: dict[str, Event] = {}
    for event in checked:
        if event.key is not None:
            primaries.setdefault(event.key, event)
    with database.atomic():
        store_code = None
        if publish:
            store = Store.get_or_none(Store.id == kiosk.store_id)
            store_code = store.code if store is not None else ""
        try:
            with database.atomic():
                answers = _apply(list(primaries.values()), kiosk, moment, store_code)
        except (peewee.IntegrityError, peewee.DataError) as exc:
            log.warning("kiosk %s: a bulk insert was refused (%s); storing one by one", kiosk.kiosk_id, exc)
            answers = _apply_one_by_one(list(primaries.values()), kiosk, moment, store_code)
    results: list[EventResult] = []
    for raw, event in zip(raw_events, checked, strict=True):
        if event.key is None:
            problems = event.problems or [
                _problem("key", "an event needs a key: 1-64 letters, digits, . _ : -")
            ]
            results.append(EventResult(key=_clipped_key(raw), status="rejected", problems=problems))
            continue
        answer = answers[event.key]
        first = primaries[event.key] is event and not answer.get("replay")
        status = answer["status"]
        if not first and status != "rejected":
            status = "duplicate"
        results.append(EventResult(key=event.key, status=status, problems=answer.get("problems", [])))
    return results
