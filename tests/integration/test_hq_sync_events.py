"""POST /api/v1/sync/events over real HTTP, signed as an enrolled kiosk: every kind of event, exactly
once, per-event answers, and the rules a record must meet (docs/sync-protocol.md §3, §4)."""

from __future__ import annotations

import copy
import json
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from hq_fixtures import LiveHq, make_sale, running_hq
from sync_helpers import (
    EVENTS,
    TIMEOUT,
    event,
    heartbeat,
    post_events,
    refund_of,
    results,
    rows,
    sale_event,
)

KIOSK = "kiosk-001"


@pytest.fixture
def hq(hq_db_url: str) -> Iterator[LiveHq]:
    with running_hq(hq_db_url) as live:
        yield live


@pytest.fixture
def kiosk(hq: LiveHq) -> requests.Session:
    return hq.session(hq.enrol(KIOSK, store="s01"))


def problems(reply: requests.Response, index: int) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = reply.json()["results"][index]["problems"]
    return result


def test_sales_are_stored_with_their_lines_and_the_signers_store(hq: LiveHq, kiosk: requests.Session) -> None:
    sales = [make_sale(KIOSK) for _ in range(3)]
    events = [sale_event(s) for s in sales]
    reply = post_events(kiosk, hq, events)
    assert results(reply) == [(e["key"], "stored") for e in events]
    assert all(r["problems"] == [] for r in reply.json()["results"])
    assert reply.json()["hq_time"].endswith("Z")
    ((store_id,),) = rows(hq, "SELECT id FROM store WHERE code = 's01'")
    stored = rows(hq, "SELECT order_id, kiosk_id, total_fen, channel, store_id FROM sale ORDER BY order_id")
    assert stored == sorted((s["order_id"], KIOSK, 750, "wechat", store_id) for s in sales)
    lines = rows(
        hq,
        "SELECT line_no, sku, name, qty, unit_price_fen, line_total_fen FROM sale_line "
        "WHERE order_id = ? ORDER BY line_no",
        (sales[0]["order_id"],),
    )
    assert lines == [(1, "D001", "矿泉水 Mineral water", 2, 200, 400), (2, "D002", "可乐 Cola", 1, 350, 350)]
    assert rows(hq, "SELECT count(*) FROM sync_event") == [(3,)]


def test_a_replayed_batch_gets_the_first_answers_and_nothing_is_stored_twice(
    hq: LiveHq, kiosk: requests.Session
) -> None:
    sale = make_sale(KIOSK)
    events = [
        sale_event(sale),
        event("refund", refund_of(sale, amount_fen=100)),
        event("sale", make_sale(KIOSK, total_fen=1)),  # rejected: total is not the sum of its lines
        event("heartbeat", heartbeat()),
        event("audit", {"at": "2026-11-24T12:00:00Z", "actor": "staff:li", "action": "login"}),
    ]
    first = post_events(kiosk, hq, events)
    assert [s for _, s in results(first)] == ["stored", "stored", "rejected", "stored", "stored"]
    again = post_events(kiosk, hq, events)
    assert [s for _, s in results(again)] == ["duplicate", "duplicate", "rejected", "duplicate", "duplicate"]
    assert problems(again, 2) == problems(first, 2) != []
    assert rows(hq, "SELECT count(*) FROM sale") == [(1,)]
    assert rows(hq, "SELECT count(*) FROM sale_line") == [(2,)]
    assert rows(hq, "SELECT count(*) FROM refund") == [(1,)]
    assert rows(hq, "SELECT count(*) FROM heartbeat") == [(1,)]
    assert rows(hq, "SELECT count(*) FROM audit_event") == [(1,)]
    assert rows(hq, "SELECT count(*) FROM sync_event") == [(5,)]


def test_one_key_twice_in_a_batch_is_stored_once(hq: LiveHq, kiosk: requests.Session) -> None:
    one = sale_event(make_sale(KIOSK))
    reply = post_events(kiosk, hq, [one, copy.deepcopy(one)])
    assert [s for _, s in results(reply)] == ["stored", "duplicate"]
    assert rows(hq, "SELECT count(*) FROM sale") == [(1,)]


def test_a_poison_event_is_rejected_and_the_others_are_stored(hq: LiveHq, kiosk: requests.Session) -> None:
    """GIVEN a batch with one sale that breaks the contract in the middle THEN only it is rejected, with
    the field and the problem named, and the events before and after it are stored."""
    before, after = make_sale(KIOSK), make_sale(KIOSK)
    poison = make_sale(KIOSK)
    poison["lines"][1]["qty"] = 0
    poison["lines"][1]["line_total_fen"] = 0
    poison["total_fen"] = 400
    reply = post_events(kiosk, hq, [sale_event(before), sale_event(poison), sale_event(after)])
    assert [s for _, s in results(reply)] == ["stored", "rejected", "stored"]
    [problem] = problems(reply, 1)
    assert problem["field"] == "body.lines[1].qty" and "greater than or equal to 1" in problem["problem"]
    assert problem["value"] == 0
    assert rows(hq, "SELECT order_id FROM sale ORDER BY order_id") == sorted(
        [(before["order_id"],), (after["order_id"],)]
    )


def test_validation_problems_name_the_field_and_value(hq: LiveHq, kiosk: requests.Session) -> None:
    bad_total = make_sale(KIOSK, total_fen=1)
    bad_uuid = make_sale(KIOSK, order_id="ORDER-7")
    reply = post_events(
        kiosk,
        hq,
        [
            sale_event(bad_total),
            sale_event(bad_uuid),
            event("sale", make_sale(KIOSK), at="yesterday"),
            {"key": "k-1", "kind": "gift", "at": "2026-11-24T12:00:00Z", "body": {}},
            {"body": {}},
        ],
    )
    statuses = results(reply)
    assert [s for _, s in statuses] == ["rejected"] * 5
    assert "total_fen 1 is not the sum of lines[].line_total_fen (750)" in problems(reply, 0)[0]["problem"]
    assert problems(reply, 1)[0] | {"problem": ""} == {
        "field": "body.order_id",
        "problem": "",
        "value": "ORDER-7",
    }
    assert problems(reply, 2)[0]["field"] == "at" and problems(reply, 2)[0]["value"] == "yesterday"
    assert problems(reply, 3)[0]["field"] == "kind" and problems(reply, 3)[0]["value"] == "gift"
    assert statuses[4] == (None, "rejected") and {p["field"] for p in problems(reply, 4)} >= {"key", "kind"}
    assert rows(hq, "SELECT count(*) FROM sale") == [(0,)]
    # the events with a usable key are in the ledger, so a replay gets the same answer
    assert rows(hq, "SELECT count(*) FROM sync_event WHERE answer LIKE ?", ("%rejected%",)) == [(4,)]


def test_records_of_another_kiosk_are_rejected(hq: LiveHq, kiosk: requests.Session) -> None:
    stranger = make_sale("kiosk-002")
    mine = make_sale(KIOSK)
    reply = post_events(
        kiosk,
        hq,
        [sale_event(stranger), event("refund", refund_of(mine, kiosk_id="kiosk-002")), sale_event(mine)],
    )
    assert [s for _, s in results(reply)] == ["rejected", "rejected", "stored"]
    for index in (0, 1):
        [problem] = problems(reply, index)
        assert problem["field"] == "body.kiosk_id" and problem["value"] == "kiosk-002"
        assert "signed by kiosk kiosk-001" in problem["problem"]
    assert rows(hq, "SELECT kiosk_id FROM sale") == [(KIOSK,)]


def test_an_upper_case_order_id_is_the_same_order(hq: LiveHq, kiosk: requests.Session) -> None:
    sale = make_sale(KIOSK)
    shouted = dict(sale, order_id=sale["order_id"].upper())
    assert results(post_events(kiosk, hq, [sale_event(shouted)]))[0][1] == "stored"
    assert results(post_events(kiosk, hq, [sale_event(sale)]))[0][1] == "duplicate"
    assert rows(hq, "SELECT order_id FROM sale") == [(sale["order_id"],)]


def test_a_natural_id_under_a_new_key_is_a_duplicate_or_rejected_and_never_overwrites(
    hq: LiveHq, kiosk: requests.Session
) -> None:
    original = make_sale(KIOSK)
    assert results(post_events(kiosk, hq, [sale_event(original)]))[0][1] == "stored"
    forged = dict(copy.deepcopy(original), transaction_id="4200999999")
    innocent = make_sale(KIOSK)
    reply = post_events(
        kiosk, hq, [sale_event(copy.deepcopy(original)), sale_event(forged), sale_event(innocent)]
    )
    assert [s for _, s in results(reply)] == ["duplicate", "rejected", "stored"]
    [problem] = problems(reply, 1)
    assert problem["field"] == "body.order_id" and "never overwrites" in problem["problem"]
    assert rows(hq, "SELECT transaction_id FROM sale WHERE order_id = ?", (original["order_id"],)) == [
        (original["transaction_id"],)
    ]


def test_one_order_id_twice_in_a_batch_with_different_content(hq: LiveHq, kiosk: requests.Session) -> None:
    sale = make_sale(KIOSK)
    other = dict(sale, paid_at="2026-11-24T12:05:00Z")
    reply = post_events(kiosk, hq, [sale_event(sale), sale_event(other)])
    assert [s for _, s in results(reply)] == ["stored", "rejected"]
    assert rows(hq, "SELECT paid_at FROM sale") == [(_ts(hq, "2026-11-24 12:00:31"),)]


def test_concurrent_posts_of_the_same_events_store_each_once(hq: LiveHq) -> None:
    """GIVEN four threads posting overlapping batches of the same events at once (a kiosk retrying
    while its first request is still running) THEN each event is stored once, every answer is 200,
    and each key gets 'stored' in exactly one answer."""
    signer = hq.enrol(KIOSK)
    events = [sale_event(make_sale(KIOSK)) for _ in range(200)]
    batches = [events[0:120], events[80:200], events[40:160], events]
    answers: list[requests.Response] = []
    lock = threading.Lock()
    start = threading.Barrier(len(batches))

    def upload(batch: list[dict[str, Any]]) -> None:
        session = hq.session(signer)
        start.wait(TIMEOUT)
        reply = post_events(session, hq, batch)
        with lock:
            answers.append(reply)

    threads = [threading.Thread(target=upload, args=(b,)) for b in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT * 6)
    assert [r.status_code for r in answers] == [200] * 4, [r.text[:200] for r in answers]
    stored = [key for reply in answers for key, status in results(reply) if status == "stored"]
    assert sorted(stored) == sorted(e["key"] for e in events)
    assert all(s in ("stored", "duplicate") for reply in answers for _, s in results(reply))
    assert rows(hq, "SELECT count(*), count(DISTINCT order_id) FROM sale") == [(200, 200)]
    assert rows(hq, "SELECT count(*) FROM sale_line") == [(400,)]
    assert rows(hq, "SELECT count(*) FROM sync_event") == [(200,)]


# --- refunds ------------------------------------------------------------------------------------------


def test_a_refund_is_stored_once_and_a_repeat_under_a_new_key_is_a_duplicate(
    hq: LiveHq, kiosk: requests.Session
) -> None:
    sale = make_sale(KIOSK)
    refund = refund_of(sale)
    reply = post_events(kiosk, hq, [sale_event(sale), event("refund", refund)])
    assert [s for _, s in results(reply)] == ["stored", "stored"]
    again = post_events(kiosk, hq, [event("refund", refund)])
    assert results(again)[0][1] == "duplicate"
    assert rows(hq, "SELECT order_id, amount_fen, refunded_at FROM refund") == [
        (sale["order_id"], 750, _ts(hq, "2026-11-24 12:05:00"))
    ]


def _ts(hq: LiveHq, text: str) -> Any:
    """A stored datetime as the back end hands it to a plain query."""
    if hq.db_url.startswith("sqlite"):
        return text
    from datetime import datetime

    return datetime.fromisoformat(text)


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"amount_fen": 751}, "body.amount_fen", "more than its 750"),
        ({"out_trade_no": "K999"}, "body.out_trade_no", "was paid as"),
    ],
)
def test_a_refund_that_does_not_match_its_sale_is_rejected(
    hq: LiveHq, kiosk: requests.Session, changes: dict[str, Any], field: str, words: str
) -> None:
    sale = make_sale(KIOSK)
    reply = post_events(kiosk, hq, [sale_event(sale), event("refund", refund_of(sale, **changes))])
    assert [s for _, s in results(reply)] == ["stored", "rejected"]
    [problem] = problems(reply, 1)
    assert problem["field"] == field and words in problem["problem"]
    assert rows(hq, "SELECT count(*) FROM refund") == [(0,)]


def test_refunds_of_one_sale_never_add_up_to_more_than_it(hq: LiveHq, kiosk: requests.Session) -> None:
    sale = make_sale(KIOSK)
    first = refund_of(sale, amount_fen=500, out_refund_no="R-1")
    second = refund_of(sale, amount_fen=250, out_refund_no="R-2")
    third = refund_of(sale, amount_fen=1, out_refund_no="R-3")
    reply = post_events(kiosk, hq, [sale_event(sale), event("refund", first), event("refund", second)])
    assert [s for _, s in results(reply)] == ["stored"] * 3
    reply = post_events(kiosk, hq, [event("refund", third)])
    assert results(reply)[0][1] == "rejected" and "would come to 751 fen" in problems(reply, 0)[0]["problem"]


def test_a_conflicting_refund_is_rejected_and_the_stored_one_stays(
    hq: LiveHq, kiosk: requests.Session
) -> None:
    sale = make_sale(KIOSK)
    post_events(kiosk, hq, [sale_event(sale), event("refund", refund_of(sale, amount_fen=100))])
    reply = post_events(kiosk, hq, [event("refund", refund_of(sale, amount_fen=200))])
    assert results(reply)[0][1] == "rejected"
    assert problems(reply, 0)[0]["field"] == "body.out_refund_no"
    assert rows(hq, "SELECT amount_fen FROM refund") == [(100,)]


def test_a_refund_before_its_sale_in_a_batch_is_rejected_and_after_it_is_stored(
    hq: LiveHq, kiosk: requests.Session
) -> None:
    early, late = make_sale(KIOSK), make_sale(KIOSK)
    reply = post_events(
        kiosk,
        hq,
        [
            event("refund", refund_of(early)),
            sale_event(early),
            sale_event(late),
            event("refund", refund_of(late)),
        ],
    )
    assert [s for _, s in results(reply)] == ["rejected", "stored", "stored", "stored"]
    assert "send the sale first" in problems(reply, 0)[0]["problem"]


def test_another_kiosks_sale_gets_the_answer_of_a_sale_hq_does_not_hold(
    hq: LiveHq, kiosk: requests.Session
) -> None:
    """GIVEN kiosk-001's sales at HQ, one refunded WHEN kiosk-002 sends refunds naming them THEN each
    answer is word for word the one for an order id HQ has never seen, so kiosk-002 cannot tell
    whether kiosk-001's order ids (or refunds) exist."""
    other = hq.session(hq.enrol("kiosk-002", store="s01"))
    refunded, paid = make_sale(KIOSK), make_sale(KIOSK)
    post_events(kiosk, hq, [sale_event(refunded), sale_event(paid), event("refund", refund_of(refunded))])
    never_uploaded = make_sale("kiosk-002")

    def answer(sale: dict[str, Any]) -> str:
        refund = refund_of(sale, kiosk_id="kiosk-002")
        reply = post_events(other, hq, [event("refund", refund, key="same-key-" + sale["order_id"][:8])])
        text = json.dumps(reply.json()["results"])
        for value in (sale["order_id"], refund["out_refund_no"], sale["out_trade_no"], sale["order_id"][:8]):
            text = text.replace(value, "<id>")
        return text

    expected = answer(never_uploaded)
    assert "send the sale first" in expected and "rejected" in expected
    assert answer(refunded) == expected
    assert answer(paid) == expected
    assert rows(hq, "SELECT count(*) FROM refund") == [(1,)]


# --- payments, audit, heartbeats ------------------------------------------------------------------------


def payment(sale: dict[str, Any], **changes: Any) -> dict[str, Any]:
    body = {
        "out_trade_no": sale["out_trade_no"],
        "order_id": sale["order_id"],
        "channel": "wechat",
        "amount_fen": 750,
        "status": "paid",
        "transaction_id": sale["transaction_id"],
        "at": "2026-11-24T12:00:31Z",
    }
    body.update(changes)
    return body


def test_a_payment_left_unknown_may_be_followed_by_its_final_state_once(
    hq: LiveHq, kiosk: requests.Session
) -> None:
    sale = make_sale(KIOSK)
    unknown = payment(sale, status="unknown", transaction_id=None)
    assert results(post_events(kiosk, hq, [event("payment", unknown)]))[0][1] == "stored"
    assert rows(hq, "SELECT status, transaction_id FROM payment_event") == [("unknown", "")]
    paid = payment(sale)
    reply = post_events(kiosk, hq, [event("payment", paid), event("payment", payment(sale, status="failed"))])
    assert [s for _, s in results(reply)] == ["stored", "rejected"]
    assert rows(hq, "SELECT status, transaction_id FROM payment_event") == [("paid", sale["transaction_id"])]
    assert results(post_events(kiosk, hq, [event("payment", paid)]))[0][1] == "duplicate"


def test_audit_events_are_kept_as_sent(hq: LiveHq, kiosk: requests.Session) -> None:
    reply = post_events(
        kiosk,
        hq,
        [
            event("audit", {"at": "2026-11-24T12:00:00Z", "actor": "staff:li", "action": "login"}),
            event(
                "audit",
                {"at": "2026-11-24T12:01:00Z", "actor": "staff:li", "action": "refund", "detail": {"n": 1}},
            ),
            event("audit", {"at": "2026-11-24T12:01:00Z", "actor": "", "action": "refund"}),
        ],
    )
    assert [s for _, s in results(reply)] == ["stored", "stored", "rejected"]
    assert rows(hq, "SELECT kiosk_id, actor, action, detail FROM audit_event ORDER BY at") == [
        (KIOSK, "staff:li", "login", ""),
        (KIOSK, "staff:li", "refund", '{"n": 1}'),
    ]


def test_the_newest_heartbeat_is_copied_to_the_device_row(hq: LiveHq, kiosk: requests.Session) -> None:
    newer = heartbeat(
        at="2026-11-24T12:05:00Z",
        app_version="0.9.1",
        printer={"ready": False, "paper": "out", "cover": "open"},
    )
    older = heartbeat(at="2026-11-24T12:00:00Z", app_version="0.9.0")
    assert [s for _, s in results(post_events(kiosk, hq, [event("heartbeat", newer)]))] == ["stored"]
    assert [s for _, s in results(post_events(kiosk, hq, [event("heartbeat", older)]))] == ["stored"]
    assert rows(hq, "SELECT count(*) FROM heartbeat") == [(2,)]
    [(version, at, body)] = rows(hq, "SELECT app_version, last_heartbeat_at, last_heartbeat FROM device")
    assert version == "0.9.1" and at == _ts(hq, "2026-11-24 12:05:00")
    assert json.loads(body)["printer"] == {"ready": False, "paper": "out", "cover": "open"}


def test_a_heartbeat_must_carry_every_field(hq: LiveHq, kiosk: requests.Session) -> None:
    beat = heartbeat(camera="broken")
    del beat["disk_free_bytes"]
    reply = post_events(kiosk, hq, [event("heartbeat", beat)])
    assert results(reply)[0][1] == "rejected"
    assert {p["field"] for p in problems(reply, 0)} == {"body.camera", "body.disk_free_bytes"}


# --- the request as a whole ---------------------------------------------------------------------------


def test_more_than_1000_events_are_refused(hq: LiveHq, kiosk: requests.Session) -> None:
    reply = post_events(kiosk, hq, [event("audit", {})] * 1001)
    assert reply.status_code == 422
    assert "at most 1000" in json.dumps(reply.json()["detail"])
    assert "docs/sync-protocol.md" in reply.json()["error"] and reply.json()["error_zh"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [(b"[]", "valid dictionary"), (b'{"events": {}}', "valid list"), (b'{"events": [], "x": 1}', "Extra")],
)
def test_a_body_that_is_not_a_batch_is_a_clear_422(
    hq: LiveHq, kiosk: requests.Session, content: bytes, expected: str
) -> None:
    reply = kiosk.post(
        f"{hq.url}{EVENTS}", data=content, headers={"Content-Type": "application/json"}, timeout=TIMEOUT
    )
    assert reply.status_code == 422
    assert expected in json.dumps(reply.json()["detail"])


def test_json_that_python_reads_but_json_forbids_is_a_clear_422(hq: LiveHq, kiosk: requests.Session) -> None:
    body = json.dumps({"events": [event("sale", make_sale(KIOSK, total_fen="@@"))]}).replace('"@@"', "NaN")
    reply = kiosk.post(
        f"{hq.url}{EVENTS}", data=body.encode(), headers={"Content-Type": "application/json"}, timeout=TIMEOUT
    )
    assert reply.status_code == 422
    [entry] = reply.json()["detail"]
    assert entry["field"] == "body" and entry["problem"].startswith(
        "not valid JSON (NaN is not a JSON number"
    )


def test_unsigned_requests_are_refused(hq: LiveHq) -> None:
    reply = requests.post(
        f"{hq.url}{EVENTS}", json={"events": [sale_event(make_sale(KIOSK))]}, timeout=TIMEOUT
    )
    assert reply.status_code == 401 and reply.json()["detail"] == {"reason": "missing"}
    assert rows(hq, "SELECT count(*) FROM sale") == [(0,)]


def test_an_answer_echoes_at_most_a_short_clipped_form_of_what_was_sent(
    hq: LiveHq, kiosk: requests.Session
) -> None:
    sale = make_sale(KIOSK, order_id="x" * 100_000, total_fen=10**90)
    sale["f" * 10_000] = 1
    sale["lines"][0]["name"] = "名" * 20_000
    reply = post_events(kiosk, hq, [event("sale", sale, key="k" * 64), {"key": "y" * 100_000}])
    assert reply.status_code == 200
    assert len(reply.content) < 8_000, len(reply.content)
    values = {p["field"]: p.get("value") for p in problems(reply, 0)}
    assert values["body.order_id"] == "x" * 77 + "..."
    assert values["body.lines[0].name"] == "名" * 77 + "..."
    assert reply.json()["results"][1]["key"] == "y" * 77 + "..."


def test_a_protocol_version_hq_does_not_speak_is_refused_and_nothing_is_stored(
    hq: LiveHq, kiosk: requests.Session
) -> None:
    body = json.dumps({"events": [sale_event(make_sale(KIOSK))]}).encode()
    request = requests.Request(
        "POST", hq.url + EVENTS, data=body, headers={"Content-Type": "application/json"}
    )
    prepared = kiosk.prepare_request(request)  # signed, and set to the kiosk's version 1
    prepared.headers["X-Sync-Protocol"] = "2"  # a kiosk from the future (the header is not signed)
    refused = kiosk.send(prepared, timeout=TIMEOUT)
    assert refused.status_code == 400
    assert refused.json()["detail"] == {"supported": [1]}
    assert refused.headers["X-Sync-Protocol"] == "1"
    assert rows(hq, "SELECT COUNT(*) FROM sale") == [(0,)]
    # the kiosk's own version is taken, and every answer names the version HQ speaks
    accepted = kiosk.post(
        hq.url + EVENTS, data=body, headers={"Content-Type": "application/json"}, timeout=TIMEOUT
    )
    assert accepted.status_code == 200 and accepted.headers["X-Sync-Protocol"] == "1"


def test_an_event_whose_kind_is_not_text_is_rejected_not_a_server_error(
    hq: LiveHq, kiosk: requests.Session
) -> None:
    """GIVEN a batch whose event has a list or an object as its kind (found by the OpenAPI fuzzer)
    THEN that event is rejected and the batch answered 200, never HQ's 500."""
    good = sale_event(make_sale(KIOSK))
    # keys of their own (a key derived from the good one's could equal it and make it a repeat)
    odd = [dict(good, key=str(uuid.uuid4()), kind=kind) for kind in (["sale"], {"a": 1})]
    reply = post_events(kiosk, hq, [*odd, good])
    assert reply.status_code == 200, reply.text
    assert [s for _, s in results(reply)] == ["rejected", "rejected", "stored"]
