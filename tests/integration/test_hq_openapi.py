"""HQ held to its own OpenAPI document: schemathesis generates requests from /openapi.json, valid and
invalid, sends them signed as an enrolled kiosk to a live HQ on a real database, and checks every
answer against the status codes, headers and bodies the document promises. No 5xx, no undocumented
status, no body that breaks its schema."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hq_fixtures import LiveHq, make_sale, running_hq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.generation.meta import ParameterLocation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sync_helpers import CATALOG, EVENTS, event, sale_event

from hq.catalog import seed_demo
from hq.db import connected
from hq.settings import AuthSection

TIMEOUT = 10.0
#: per operation and mode; two operations, two modes: about 20 s on a busy 2-core machine
EXAMPLES = 40
#: schemathesis' ignored_auth check replays a request without its Authorization header through the
#: same session, which signs every request; unsigned requests are checked on their own below
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
OPERATIONS = [("GET", CATALOG), ("POST", EVENTS)]


@pytest.fixture
def api(hq_db_url: str) -> Iterator[tuple[Any, LiveHq, requests.Session]]:
    """The document of a live HQ with one enrolled kiosk, and a session that signs as that kiosk."""
    # the fuzzer's unsigned probes must not trip the limiter
    with running_hq(hq_db_url, auth=AuthSection(max_failures=100_000, window_s=1)) as hq:
        session = hq.session(hq.enrol("kiosk-001"))
        yield schemathesis.openapi.from_url(f"{hq.url}/openapi.json"), hq, session


def test_the_document_lists_every_error_an_operation_can_answer(
    api: tuple[Any, LiveHq, requests.Session],
) -> None:
    schema, _, _ = api
    paths = schema.raw_schema["paths"]
    for method, path in OPERATIONS:
        responses = paths[path][method.lower()]["responses"]
        assert {"200", "401", "422", "429", "500", "503"} <= set(responses), (method, path)
        assert "Retry-After" in responses["429"]["headers"]
        assert "WWW-Authenticate" in responses["401"]["headers"]
    assert {"411", "413"} <= set(paths[EVENTS]["post"]["responses"])
    assert "304" in paths[CATALOG]["get"]["responses"]
    assert "HTTPValidationError" not in schema.raw_schema["components"]["schemas"]
    for name in ("/api/v1/sales", "/api/v1/refunds", "/api/v1/catalog"):
        assert name not in paths


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_every_answer_matches_the_document(
    api: tuple[Any, LiveHq, requests.Session], method: str, path: str, mode: GenerationMode
) -> None:
    schema, hq, signed = api
    operation = schema[path][method]
    unsigned = requests.Session()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    # mostly signed, so most cases reach validation; otherwise whatever the fuzzer sends
    @given(case=operation.as_strategy(generation_mode=mode), keyed=st.sampled_from([True, True, True, False]))
    def run(case: Any, keyed: bool) -> None:
        # a case whose headers the fuzzer made invalid (the signature among them) goes out as made
        headers = case.meta.components.get(ParameterLocation.HEADER) if case.meta is not None else None
        bad_headers = headers is not None and headers.mode is GenerationMode.NEGATIVE
        session = signed if keyed and not bad_headers else unsigned
        case.call_and_validate(base_url=hq.url, session=session, checks=CHECKS)

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


def test_each_error_hq_sends_is_the_one_its_document_describes(hq_db_url: str) -> None:
    """GIVEN a live HQ WHEN each kind of refusal is provoked THEN its status is documented for that
    operation and its body and headers match the documented schema (schemathesis validates them)."""
    limits = AuthSection(max_failures=2, window_s=60)
    with running_hq(hq_db_url, auth=limits, clock=StoppedClock()) as hq:
        kiosk = hq.session(hq.enrol("kiosk-001"))
        document = schemathesis.openapi.from_url(f"{hq.url}/openapi.json")
        events, catalog = f"{hq.url}{EVENTS}", f"{hq.url}{CATALOG}"
        sale = make_sale()
        stored = kiosk.post(events, json={"events": [sale_event(sale)]}, timeout=TIMEOUT)
        assert stored.status_code == 200
        with connected():
            seed_demo()
        version = kiosk.get(f"{catalog}?since=0", timeout=TIMEOUT).json()["version"]

        def chunks() -> Iterator[bytes]:
            yield b"{}"

        json_type = {"Content-Type": "application/json"}
        answers: list[tuple[str, str, requests.Response]] = [
            ("GET", CATALOG, requests.get(catalog, timeout=TIMEOUT)),
            ("GET", CATALOG, kiosk.get(f"{catalog}?since=-1", timeout=TIMEOUT)),
            ("GET", CATALOG, kiosk.get(f"{catalog}?since={version}", timeout=TIMEOUT)),
            (
                "POST",
                EVENTS,
                kiosk.post(events, json={"events": [event("audit", {})] * 1001}, timeout=TIMEOUT),
            ),
            (
                "POST",
                EVENTS,
                kiosk.post(events, data=b'{"events": [NaN]}', headers=json_type, timeout=TIMEOUT),
            ),
            (
                "POST",
                EVENTS,
                kiosk.post(events, data=b'{"events": ["\\ud800"]}', headers=json_type, timeout=TIMEOUT),
            ),
            ("POST", EVENTS, kiosk.post(events, data=b"[]", headers=json_type, timeout=TIMEOUT)),
            ("POST", EVENTS, requests.post(events, data=chunks(), headers=json_type, timeout=TIMEOUT)),
            ("POST", EVENTS, claiming_length(events, json_type, 999_999_999)),
        ]
        for _ in range(limits.max_failures + 1):
            unknown = requests.get(
                catalog, headers={"Authorization": "Kiosk-HMAC-SHA256 nope"}, timeout=TIMEOUT
            )
            answers.append(("GET", CATALOG, unknown))

        statuses = [reply.status_code for _, _, reply in answers]
        # the unsigned GET at the start counts against the limit too
        assert statuses == [401, 422, 304, 422, 422, 422, 422, 411, 413, 401, 429, 429]
        for method, path, reply in answers:
            documented = document.raw_schema["paths"][path][method.lower()]["responses"]
            assert str(reply.status_code) in documented, (method, path, reply.status_code)
            if reply.status_code != 304:
                document[path][method].validate_response(reply)
