"""The enrolment and admin endpoints held to HQ's OpenAPI document: schemathesis generates requests,
valid and invalid, sends them to the ASGI app on a real SQLite file, and checks every answer's
status, headers and body against what the document promises (no 5xx, no undocumented status)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hq_fixtures import sqlite_url
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

from hq import admins
from hq.app import create_app
from hq.db import connected
from hq.devices import add_store
from hq.settings import AuthSection

EXAMPLES = 25
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    ignored_auth,
]
OPERATIONS = [
    ("POST", "/api/v1/enrol"),
    ("POST", "/api/v1/admin/login"),
    ("GET", "/api/v1/admin/stores"),
    ("POST", "/api/v1/admin/stores"),
    ("POST", "/api/v1/admin/enrol-codes"),
    ("GET", "/api/v1/admin/devices"),
    ("POST", "/api/v1/admin/devices/{kiosk_id}/revoke"),
    ("GET", "/api/v1/admin/fleet"),
]


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[Any, str]]:
    """The app on a fresh database with a store and a signed-in admin, and that admin's token."""
    db = sqlite_url(tmp_path / "hq.sqlite3")
    # the fuzzer's probes for ignored auth fail on purpose; they must not trip the limiter
    app = create_app(db, AuthSection(max_failures=100_000, window_s=1))
    with connected():
        add_store("s01", "Main street")
        admins.add_admin("alice", "correct horse battery staple")
        session = admins.sign_in("alice", "correct horse battery staple")
    assert session is not None
    yield schemathesis.openapi.from_asgi("/openapi.json", app), session.token


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_every_answer_matches_the_document(
    api: tuple[Any, str], method: str, path: str, mode: GenerationMode
) -> None:
    schema, token = api
    operation = schema[path][method]

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    # mostly the admin's token, so most cases reach validation; otherwise whatever the fuzzer sends
    @given(case=operation.as_strategy(generation_mode=mode), signed_in=st.sampled_from([True, True, False]))
    def run(case: Any, signed_in: bool) -> None:
        headers = {"Authorization": f"Bearer {token}"} if signed_in else None
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()
