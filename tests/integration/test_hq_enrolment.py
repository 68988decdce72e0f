"""Kiosk identity against a real HQ on 127.0.0.1: enrolment codes from the `hq` command redeemed at
``POST /api/v1/enrol``, and every way a signed request is refused (revoked, replayed, wrong
signature, clock off, re-enrolled) on ``GET /api/v1/whoami``."""

from __future__ import annotations

import stat
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests
from hq_fixtures import LiveHq, running_hq

from hq.cli import main
from hq.db import connected
from hq.enrolment import make_code
from hq.models import EnrolCode, utc_now
from hq.settings import AuthSection
from kiosk.sync.signed import HqSigner

TIMEOUT = 10.0


class Clock:
    """The limiter's monotonic clock, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")


@pytest.fixture
def hq(hq_db_url: str) -> Iterator[LiveHq]:
    with running_hq(hq_db_url) as live:
        yield live


def hq_cli(capsys: pytest.CaptureFixture[str], db_url: str, *argv: str) -> tuple[int, str, str]:
    code = main([*argv, "--db", db_url])
    out, err = capsys.readouterr()
    return code, out, err


def new_code(capsys: pytest.CaptureFixture[str], hq: LiveHq, store: str = "s01", *extra: str) -> str:
    """A code from `hq device enroll-code`, making the store first if it is missing."""
    hq_cli(capsys, hq.db_url, "store", "add", store, "--name", f"Store {store}")
    code, out, err = hq_cli(capsys, hq.db_url, "device", "enroll-code", "--store", store, *extra)
    assert code == 0, err
    return out.strip()


def enrol(hq: LiveHq, code: str, kiosk_id: str | None = "kiosk-001", **extra: str) -> requests.Response:
    body: dict[str, str] = {"code": code, **extra}
    if kiosk_id is not None:
        body["kiosk_id"] = kiosk_id
    return requests.post(f"{hq.url}/api/v1/enrol", json=body, timeout=TIMEOUT)


def signer_from(reply: requests.Response) -> HqSigner:
    body = reply.json()
    return HqSigner(body["kiosk_id"], bytes.fromhex(body["secret"]))


def whoami(hq: LiveHq, signer: HqSigner) -> requests.Response:
    return hq.session(signer).get(f"{hq.url}/api/v1/whoami", timeout=TIMEOUT)


# --- enrolment --------------------------------------------------------------------------------------


def test_a_code_from_the_cli_enrols_a_kiosk_whose_signed_requests_hq_accepts(
    capsys: pytest.CaptureFixture[str], hq: LiveHq
) -> None:
    code = new_code(capsys, hq)
    assert len(code) == 19 and code.count("-") == 3
    reply = enrol(hq, code, app_version="0.9.0")
    assert reply.status_code == 201, reply.text
    body = reply.json()
    assert body["kiosk_id"] == "kiosk-001" and body["store"] == {"code": "s01", "name": "Store s01"}
    assert len(body["secret"]) == 64 and body["protocol"] == 1 and body["hq_time"].endswith("Z")
    me = whoami(hq, signer_from(reply))
    assert me.status_code == 200, me.text
    assert me.json() == {"kiosk_id": "kiosk-001", "store": "s01", "store_name": "Store s01"}
    with connected():
        row = EnrolCode.get()
    assert code.replace("-", "") not in row.code_sha256 and row.used_by == "kiosk-001"
    assert hq_cli(capsys, hq.db_url, "device", "list")[1].splitlines()[1].startswith("kiosk-001\ts01\t")


def test_a_code_is_typed_in_any_case_and_without_dashes(
    capsys: pytest.CaptureFixture[str], hq: LiveHq
) -> None:
    code = new_code(capsys, hq)
    assert enrol(hq, code.replace("-", " ").lower()).status_code == 201


def test_wrong_used_and_expired_codes_get_one_and_the_same_401(
    capsys: pytest.CaptureFixture[str], hq: LiveHq
) -> None:
    used = new_code(capsys, hq)
    assert enrol(hq, used).status_code == 201
    with connected():
        # made 16 minutes ago with the default 15-minute lifetime: expired a minute ago
        expired = make_code("s01", now=utc_now() - timedelta(minutes=16)).code
    wrong = "ABCD-EFGH-JKMN-PQRS"
    answers = [enrol(hq, c, "kiosk-002") for c in (used, expired, wrong, "not a code at all")]
    assert [a.status_code for a in answers] == [401] * 4
    assert len({a.text for a in answers}) == 1
    assert "wrong, used or expired" in answers[0].json()["error"] and answers[0].json()["detail"] is None


def test_a_code_for_one_kiosk_id_enrols_that_id_only_and_survives_a_mismatch(
    capsys: pytest.CaptureFixture[str], hq: LiveHq
) -> None:
    code = new_code(capsys, hq, "s01", "--kiosk-id", "kiosk-042")
    mismatch = enrol(hq, code, "kiosk-001")
    assert mismatch.status_code == 422
    assert mismatch.json()["detail"][0]["field"] == "kiosk_id" and "kiosk-042" in mismatch.json()["error"]
    reply = enrol(hq, code, kiosk_id=None)  # the code names the kiosk: the kiosk need not
    assert reply.status_code == 201 and reply.json()["kiosk_id"] == "kiosk-042"


def test_a_code_that_names_no_kiosk_needs_the_kiosks_id(
    capsys: pytest.CaptureFixture[str], hq: LiveHq
) -> None:
    code = new_code(capsys, hq)
    reply = enrol(hq, code, kiosk_id=None)
    assert reply.status_code == 422 and reply.json()["detail"][0]["field"] == "kiosk_id"
    assert enrol(hq, code).status_code == 201


def test_bad_enrolment_bodies_are_422_naming_the_field(hq: LiveHq) -> None:
    for body, field in (
        ({"kiosk_id": "kiosk-001"}, "body.code"),
        ({"code": "ABCD-EFGH-JKMN-PQRS", "kiosk_id": "kiosk 1; rm"}, "body.kiosk_id"),
        ({"code": "ABCD-EFGH-JKMN-PQRS", "extra": 1}, "body.extra"),
    ):
        reply = requests.post(f"{hq.url}/api/v1/enrol", json=body, timeout=TIMEOUT)
        assert reply.status_code == 422, body
        assert field in [p["field"] for p in reply.json()["detail"]], reply.text


def test_enrolling_again_gives_a_new_secret_and_voids_the_old(
    capsys: pytest.CaptureFixture[str], hq: LiveHq
) -> None:
    first = signer_from(enrol(hq, new_code(capsys, hq)))
    second = signer_from(enrol(hq, new_code(capsys, hq)))
    old = whoami(hq, first)
    assert old.status_code == 401 and old.json()["detail"] == {"reason": "signature"}
    assert whoami(hq, second).status_code == 200


def test_a_kiosk_id_of_another_store_is_409_and_the_code_is_not_spent(
    capsys: pytest.CaptureFixture[str], hq: LiveHq
) -> None:
    assert enrol(hq, new_code(capsys, hq, "s01")).status_code == 201
    code = new_code(capsys, hq, "s02")
    reply = enrol(hq, code)
    assert reply.status_code == 409 and "another store" in reply.json()["error"]
    taken = enrol(hq, code, "kiosk-002")
    assert taken.status_code == 201 and taken.json()["store"]["code"] == "s02"


def test_guessing_codes_is_held_back_with_429_even_for_a_right_code(
    capsys: pytest.CaptureFixture[str], hq_db_url: str
) -> None:
    clock = Clock()
    with running_hq(hq_db_url, auth=AuthSection(max_failures=3, window_s=60), clock=clock) as hq:
        right = new_code(capsys, hq)
        for n in range(3):
            assert enrol(hq, f"ABCD-EFGH-JKMN-PQR{n + 2}").status_code == 401
        held = enrol(hq, right)
        assert held.status_code == 429 and held.headers["Retry-After"] == "60"
        clock.now += 60
        assert enrol(hq, right).status_code == 201  # the 429 did not spend it


# --- signed requests refused ------------------------------------------------------------------------


def test_a_revoked_kiosks_next_request_is_refused_and_a_new_code_brings_it_back(
    capsys: pytest.CaptureFixture[str], hq: LiveHq
) -> None:
    signer = signer_from(enrol(hq, new_code(capsys, hq)))
    assert whoami(hq, signer).status_code == 200
    code, out, _ = hq_cli(capsys, hq.db_url, "device", "revoke", "kiosk-001")
    assert code == 0 and "kiosk-001 revoked" in out
    refused = whoami(hq, signer)
    assert refused.status_code == 401 and refused.json()["detail"] == {"reason": "revoked"}
    assert refused.headers["WWW-Authenticate"] == "Kiosk-HMAC-SHA256"
    again = enrol(hq, new_code(capsys, hq, "s01", "--kiosk-id", "kiosk-001"), kiosk_id=None)
    assert whoami(hq, signer_from(again)).status_code == 200


def test_revoking_a_kiosk_hq_does_not_know_is_bad_input(
    capsys: pytest.CaptureFixture[str], hq: LiveHq
) -> None:
    code, out, err = hq_cli(capsys, hq.db_url, "device", "revoke", "kiosk-404")
    assert (code, out) == (2, "") and "no kiosk kiosk-404" in err


def test_a_replayed_request_is_refused(capsys: pytest.CaptureFixture[str], hq: LiveHq) -> None:
    signer = signer_from(enrol(hq, new_code(capsys, hq)))
    request = requests.Request("GET", f"{hq.url}/api/v1/whoami", auth=signer).prepare()
    with requests.Session() as session:
        assert session.send(request, timeout=TIMEOUT).status_code == 200
        replay = session.send(request, timeout=TIMEOUT)  # the same bytes, nonce and all
    assert replay.status_code == 401 and replay.json()["detail"] == {"reason": "replay"}


def test_a_wrong_signature_and_an_unknown_kiosk_are_refused(
    capsys: pytest.CaptureFixture[str], hq: LiveHq
) -> None:
    signer = signer_from(enrol(hq, new_code(capsys, hq)))
    forged = HqSigner("kiosk-001", bytes(32))
    assert whoami(hq, forged).json()["detail"] == {"reason": "signature"}
    stranger = HqSigner("kiosk-999", bytes(32))
    assert whoami(hq, stranger).json()["detail"] == {"reason": "unknown_kiosk"}
    unsigned = requests.get(f"{hq.url}/api/v1/whoami", timeout=TIMEOUT)
    assert unsigned.status_code == 401 and unsigned.json()["detail"] == {"reason": "missing"}
    assert whoami(hq, signer).status_code == 200


def test_a_kiosk_clock_an_hour_off_is_refused_once_then_corrected_from_x_hq_time(
    capsys: pytest.CaptureFixture[str], hq: LiveHq
) -> None:
    secret = bytes.fromhex(enrol(hq, new_code(capsys, hq)).json()["secret"])
    slow = HqSigner("kiosk-001", secret, wall_clock=lambda: time.time() - 3600)
    session = hq.session(slow)
    first = session.get(f"{hq.url}/api/v1/whoami", timeout=TIMEOUT)
    assert first.status_code == 401 and first.json()["detail"] == {"reason": "clock"}
    assert 3500 < slow.offset_s < 3700  # learnt from the refusal's X-HQ-Time
    assert session.get(f"{hq.url}/api/v1/whoami", timeout=TIMEOUT).status_code == 200


def test_hqs_identity_file_is_0600(capsys: pytest.CaptureFixture[str], hq: LiveHq) -> None:
    assert stat.S_IMODE(hq.identity_file.stat().st_mode) == 0o600
