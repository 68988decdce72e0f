"""HQ held to its own OpenAPI document: schemathesis generates requests from /openapi.json, valid and
invalid, sends them to the ASGI app on a real SQLite file, and checks every answer against the status
codes, headers and bodies the document promises. No 5xx, no undocumented status, no body that breaks
its schema."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hq_fixtures import make_sale, running_hq, sqlite_url
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from hq.app import create_app
from hq.db import connected
from hq.devices import add_device
from hq.settings import AuthSection

TIMEOUT = 10.0
#: per operation and mode; three operations, two modes: about 20 s on a busy 2-core machine
EXAMPLES = 40
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    ignored_auth,
]
OPERATIONS = [("GET", "/api/v1/catalog"), ("POST", "/api/v1/sales"), ("POST", "/api/v1/refunds")]


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[Any, str]]:
    """The app on a fresh database with one kiosk, and that kiosk's key. Per test, because the
    database HQ's models are bound to is process-wide and other tests rebind it."""
    db = sqlite_url(tmp_path / "hq.sqlite3")
    # the fuzzer's own probes for ignored auth send unknown keys; they must not trip the limiter
    app = create_app(db, AuthSection(max_failures=100_000, window_s=1))
    with connected():
        key = add_device("kiosk-001")
    yield schemathesis.openapi.from_asgi("/openapi.json", app), key


def test_the_document_lists_every_error_an_operation_can_answer(api: tuple[Any, str]) -> None:
    schema, _ = api
    paths = schema.raw_schema["paths"]
    for method, path in OPERATIONS:
        responses = paths[path][method.lower()]["responses"]
        assert {"200", "401", "429", "500", "503"} <= set(responses), (method, path)
        assert "Retry-After" in responses["429"]["headers"]
        assert "WWW-Authenticate" in responses["401"]["headers"]
    for path in ("/api/v1/sales", "/api/v1/refunds"):
        assert {"403", "409", "411", "413", "422"} <= set(paths[path]["post"]["responses"])
    assert "HTTPValidationError" not in schema.raw_schema["components"]["schemas"]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_every_answer_matches_the_document(
    api: tuple[Any, str], method: str, path: str, mode: GenerationMode
) -> None:
    schema, key = api
    operation = schema[path][method]

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    # mostly the kiosk's key, so most cases reach validation; otherwise whatever the fuzzer sends
    @given(case=operation.as_strategy(generation_mode=mode), keyed=st.sampled_from([True, True, True, False]))
    def run(case: Any, keyed: bool) -> None:
        headers = {"Authorization": f"Bearer {key}"} if keyed else None
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()


# --- each error HQ really sends, over HTTP, against the document -------------------------------------


class StoppedClock:
    def __call__(self) -> float:
        return 0.0


def claiming_length(url: str, headers: dict[str, str], length: int) -> requests.Response:
    """A POST that tells HQ its body is ``length`` bytes and sends one: enough for a 413."""
    with requests.Session() as session:
        prepared = session.prepare_request(requests.Request("POST", url, headers=headers, data=b"["))
        prepared.headers["Content-Length"] = str(length)
        return session.send(prepared, timeout=TIMEOUT)


def test_each_error_hq_sends_is_the_one_its_document_describes(tmp_path: Path) -> None:
    """GIVEN a live HQ WHEN each kind of refusal is provoked THEN its status is documented for that
    operation and its body and headers match the documented schema (schemathesis validates them)."""
    limits = AuthSection(max_failures=2, window_s=60)
    with running_hq(sqlite_url(tmp_path / "hq.sqlite3"), auth=limits, clock=StoppedClock()) as hq:
        key = hq.add_device("kiosk-001")
        document = schemathesis.openapi.from_url(f"{hq.url}/openapi.json")
        kiosk = {"Authorization": f"Bearer {key}"}
        sales, refunds = f"{hq.url}/api/v1/sales", f"{hq.url}/api/v1/refunds"
        sale = make_sale()
        assert requests.post(sales, json=[sale], headers=kiosk, timeout=TIMEOUT).status_code == 200
        refund = {
            "order_id": sale["order_id"],
            "kiosk_id": "kiosk-001",
            "out_trade_no": sale["out_trade_no"],
            "out_refund_no": "R-1",
            "amount_fen": 100,
            "refunded_at": "2026-11-24T12:05:00Z",
        }
        assert requests.post(refunds, json=[refund], headers=kiosk, timeout=TIMEOUT).status_code == 200

        def chunks() -> Iterator[bytes]:
            yield b"[]"

        json_kiosk = kiosk | {"Content-Type": "application/json"}
        answers: list[tuple[str, str, requests.Response]] = [
            ("GET", "/api/v1/catalog", requests.get(f"{hq.url}/api/v1/catalog", timeout=TIMEOUT)),
            (
                "POST",
                "/api/v1/sales",
                requests.post(sales, json=[make_sale(kiosk_id="kiosk-2")], headers=kiosk, timeout=TIMEOUT),
            ),
            (
                "POST",
                "/api/v1/refunds",
                requests.post(refunds, json=[refund | {"kiosk_id": "k2"}], headers=kiosk, timeout=TIMEOUT),
            ),
            (
                "POST",
                "/api/v1/sales",
                requests.post(sales, json=[sale | {"total_fen": 1}], headers=kiosk, timeout=TIMEOUT),
            ),
            (
                "POST",
                "/api/v1/sales",
                requests.post(
                    sales, json=[sale | {"paid_at": "2026-11-24T12:09:00Z"}], headers=kiosk, timeout=TIMEOUT
                ),
            ),
            (
                "POST",
                "/api/v1/refunds",
                requests.post(refunds, json=[refund | {"amount_fen": 5}], headers=kiosk, timeout=TIMEOUT),
            ),
            (
                "POST",
                "/api/v1/refunds",
                requests.post(
                    refunds,
                    json=[refund | {"order_id": make_sale()["order_id"]}],
                    headers=kiosk,
                    timeout=TIMEOUT,
                ),
            ),
            (
                "POST",
                "/api/v1/sales",
                requests.post(sales, data=b'[{"total_fen": NaN}]', headers=json_kiosk, timeout=TIMEOUT),
            ),
            (
                "POST",
                "/api/v1/sales",
                requests.post(sales, data=b'["\\ud800"]', headers=json_kiosk, timeout=TIMEOUT),
            ),
            ("POST", "/api/v1/sales", requests.post(sales, json=[{}] * 1001, headers=kiosk, timeout=TIMEOUT)),
            (
                "POST",
                "/api/v1/sales",
                requests.post(sales, data=chunks(), headers=json_kiosk, timeout=TIMEOUT),
            ),
            (
                "POST",
                "/api/v1/sales",
                claiming_length(sales, json_kiosk, 999_999_999),
            ),
        ]
        for _ in range(limits.max_failures + 1):
            unknown = requests.get(
                f"{hq.url}/api/v1/catalog", headers={"Authorization": "Bearer nope"}, timeout=TIMEOUT
            )
            answers.append(("GET", "/api/v1/catalog", unknown))

        statuses = [reply.status_code for _, _, reply in answers]
        assert statuses == [401, 403, 403, 422, 409, 409, 422, 422, 422, 422, 411, 413, 401, 401, 429]
        for method, path, reply in answers:
            documented = document.raw_schema["paths"][path][method.lower()]["responses"]
            assert str(reply.status_code) in documented, (method, path, reply.status_code)
            document[path][method].validate_response(reply)
