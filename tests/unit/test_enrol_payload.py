"""The enrolment QR payloads (kiosk_common.enrolment): what HQ prints, the kiosk reads back exactly,
and everything else a camera may see is refused with a reason, never half-read."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk_common.enrolment import (
    CODE_RE,
    ENROL_PREFIX,
    MAX_PAYLOAD,
    EnrolPayload,
    PayloadError,
    PayloadProblem,
    fingerprint_text,
    format_enrol_payload,
    format_kiosk_payload,
    parse_enrol_payload,
    url_problem,
)

CODE = "K7QF-2M9X-PA3L-H8RD"


@pytest.mark.parametrize(
    "url",
    [
        "https://hq.example.com",
        "https://hq.example.com:8443",
        "https://hq.example.com/kiosk-hq",
        "http://127.0.0.1:8080",
        "http://localhost:8080",
        "http://192.168.1.20:8080",
        "http://10.0.0.5",
        "http://172.16.4.1:80",
        "http://[::1]:8080",
        "http://[fd00::5]:8080",
    ],
)
def test_round_trip(url: str) -> None:
    text = format_enrol_payload(url, CODE)
    assert text == f"{ENROL_PREFIX}:{url}:{CODE}"
    assert parse_enrol_payload(text) == EnrolPayload(url, CODE)


def test_trailing_slash_and_undashed_code() -> None:
    got = parse_enrol_payload(f"{ENROL_PREFIX}:https://hq.example.com/:K7QF2M9XPA3LH8RD")
    assert got == EnrolPayload("https://hq.example.com", "K7QF2M9XPA3LH8RD")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("6921168509256", PayloadProblem.NOT_ENROLMENT),  # a product barcode
        ("134567890123456789", PayloadProblem.NOT_ENROLMENT),  # a WeChat payment code
        (CODE, PayloadProblem.NOT_ENROLMENT),  # the bare code: no HQ to redeem it at
        ("https://hq.example.com", PayloadProblem.NOT_ENROLMENT),
        ("kioskenrol1:https://hq.example.com:" + CODE, PayloadProblem.NOT_ENROLMENT),
        ("KIOSKENROL2:https://hq.example.com:" + CODE, PayloadProblem.UNKNOWN_VERSION),
        ("KIOSKENROL1:https://hq.example.com", PayloadProblem.BAD_CODE),
        ("KIOSKENROL1:https://hq.example.com:K7QF-2M9X", PayloadProblem.BAD_CODE),
        ("KIOSKENROL1:https://hq.example.com:K7QF-2M9X-PA3L-H8R!", PayloadProblem.BAD_CODE),
        ("KIOSKENROL1::" + CODE, PayloadProblem.BAD_URL),
        ("KIOSKENROL1:ftp://hq.example.com:" + CODE, PayloadProblem.BAD_URL),
        ("KIOSKENROL1:https://user@hq.example.com:" + CODE, PayloadProblem.BAD_URL),
        ("KIOSKENROL1:https://hq.example.com?x=1:" + CODE, PayloadProblem.BAD_URL),
        ("KIOSKENROL1:https://hq.example.com:99999:" + CODE, PayloadProblem.BAD_URL),
        ("KIOSKENROL1:https://hq example.com:" + CODE, PayloadProblem.BAD_URL),
        ("KIOSKENROL1:https://hq.例子.com:" + CODE, PayloadProblem.BAD_URL),
        ("KIOSKENROL1:http://hq.example.com:" + CODE, PayloadProblem.INSECURE_URL),
        ("KIOSKENROL1:http://hq.lan:8080:" + CODE, PayloadProblem.INSECURE_URL),
        ("KIOSKENROL1:http://8.8.8.8:" + CODE, PayloadProblem.INSECURE_URL),
        ("KIOSKENROL1:https://" + "a" * MAX_PAYLOAD + ":" + CODE, PayloadProblem.TOO_LONG),
    ],
)
def test_refusals(text: str, problem: PayloadProblem) -> None:
    with pytest.raises(PayloadError) as caught:
        parse_enrol_payload(text)
    assert caught.value.problem is problem


def test_format_refuses_what_a_kiosk_would_refuse() -> None:
    with pytest.raises(PayloadError) as caught:
        format_enrol_payload("http://hq.example.com", CODE)
    assert caught.value.problem is PayloadProblem.INSECURE_URL


def test_repr_hides_the_code() -> None:
    assert CODE not in repr(EnrolPayload("https://hq.example.com", CODE))


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=600))
def test_any_text_is_parsed_or_refused_with_a_reason(text: str) -> None:
    try:
        got = parse_enrol_payload(text)
    except PayloadError as exc:
        assert isinstance(exc.problem, PayloadProblem)
        return
    # what is accepted is exactly a payload HQ could have printed
    assert CODE_RE.fullmatch(got.code)
    assert url_problem(got.hq_url) is None
    assert parse_enrol_payload(format_enrol_payload(got.hq_url, got.code)) == got


_code = st.from_regex(CODE_RE, fullmatch=True)
_host = st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z]{2,6}){1,2}", fullmatch=True)


@settings(max_examples=200, deadline=None)
@given(_host, st.integers(1, 65535), _code)
def test_any_https_host_and_code_round_trip(host: str, port: int, code: str) -> None:
    url = f"https://{host}:{port}"
    assert parse_enrol_payload(format_enrol_payload(url, code)) == EnrolPayload(url, code)


@settings(max_examples=300, deadline=None)
@given(_code, st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=40))
def test_a_damaged_url_is_never_accepted_as_another(code: str, junk: str) -> None:
    """A camera misread that changes the address must not send the code somewhere else unseen:
    whatever is accepted has a URL that passes the same rules as HQ's own."""
    text = f"{ENROL_PREFIX}:https://hq.example.com{junk}:{code}"
    try:
        got = parse_enrol_payload(text)
    except PayloadError:
        return
    assert got.hq_url.startswith("https://hq.example.com")
    assert url_problem(got.hq_url) is None


def test_fingerprint_and_kiosk_payload() -> None:
    fp = fingerprint_text("0123456789ABCDEFffff")
    assert fp == "0123-4567-89ab-cdef"
    assert format_kiosk_payload("kiosk-1a2b3c4d", fp) == "KIOSKID1:kiosk-1a2b3c4d:0123-4567-89ab-cdef"
    with pytest.raises(ValueError):
        fingerprint_text("0123")
    with pytest.raises(ValueError):
        format_kiosk_payload("bad id", fp)
    with pytest.raises(ValueError):
        format_kiosk_payload("kiosk-1", "nothex")
