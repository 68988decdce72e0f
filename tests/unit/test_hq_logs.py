"""HQ's log lines: JSON fields, UTC times, and secrets masked whatever logger wrote them."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import logging.config
from collections.abc import Iterator

import pytest

from hq.logs import JsonFormatter, MaskingTextFormatter, logging_config, mask_secrets
from kiosk_common import signing

#: fixed, so every test process collects the same test ids (parallel runs compare them)
SECRET = hashlib.sha256(b"a kiosk secret for the log tests").digest()
HEADER = signing.authorization("kiosk-001", SECRET, "GET", "/api/v1/sync/catalog?since=0", b"", 1_800_000_000)


def _record(message: str, *args: object, name: str = "hq.test", **extra: object) -> logging.LogRecord:
    record = logging.LogRecord(name, logging.INFO, __file__, 1, message, args or None, None)
    record.__dict__.update(extra)
    return record


@pytest.mark.parametrize(
    "line",
    [
        f"headers: {{'authorization': '{HEADER}', 'host': 'hq'}}",
        f"Authorization: {HEADER}",
        f"refused {HEADER}",
        f'enrolled: {{"kiosk_id": "kiosk-001", "secret": "{SECRET.hex()}", "protocol": 1}}',
        f"the kiosk's secret is {SECRET.hex()}",
        f"secret={SECRET.hex()}",
        "redeemed code K7QF-2M9X-PA3L-H8RD for kiosk-001",
        'login {"name": "ana", "password": "correct horse battery"}',
        "url postgresql://hq:s3cr3t-pw@db.example/hq",
        "session token=Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA",
        "GET /r/kiosk-001/0f8fad5b-d9cb-469f-a165-70867728950e/0123456789abcdef0123456789abcdef HTTP/1.1",
        "paid with 134567890123456789",
    ],
)
def test_secrets_are_masked(line: str) -> None:
    masked = mask_secrets(line)
    for secret in (
        HEADER,
        HEADER.split("sig=")[1],
        SECRET.hex(),
        "K7QF-2M9X-PA3L-H8RD",
        "correct horse battery",
        "s3cr3t-pw",
        "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA",
        "0123456789abcdef0123456789abcdef",
        "134567890123456789",
    ):
        assert secret not in masked, masked


def test_ordinary_lines_are_left_alone() -> None:
    line = (
        "kiosk kiosk-001 uploaded 3 events: 2 stored, 1 duplicate; order 0f8fad5b-d9cb-469f-a165-70867728950e "
        '"GET /api/v1/sync/catalog?since=41 HTTP/1.1" 200, status_code=200, out_trade_no K20261124215203ABC'
    )
    assert mask_secrets(line) == line


def test_json_lines_have_utc_time_level_logger_message_and_request_fields() -> None:
    formatter = JsonFormatter()
    access = _record(
        '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", "/readyz", "1.1", 200, name="uvicorn.access"
    )
    entry = json.loads(formatter.format(access))
    assert entry["time"].endswith("+00:00")
    assert (entry["level"], entry["logger"]) == ("INFO", "uvicorn.access")
    assert entry["message"] == '127.0.0.1:5000 - "GET /readyz HTTP/1.1" 200'
    assert (entry["client"], entry["method"], entry["path"], entry["status"]) == (
        "127.0.0.1:5000",
        "GET",
        "/readyz",
        200,
    )
    own = json.loads(formatter.format(_record("kiosk %s sent %d", "kiosk-001", 3, kiosk_id="kiosk-001")))
    assert own["message"] == "kiosk kiosk-001 sent 3" and own["kiosk_id"] == "kiosk-001"
    assert "color_message" not in json.loads(formatter.format(_record("x", color_message="\x1b[1mx")))


def test_a_secret_in_a_traceback_is_masked_too() -> None:
    try:
        raise RuntimeError(f"could not use {HEADER}")
    except RuntimeError:
        record = logging.LogRecord(
            "hq", logging.ERROR, __file__, 1, "failed", None, __import__("sys").exc_info()
        )
    for formatter in (JsonFormatter(), MaskingTextFormatter()):
        line = formatter.format(record)
        assert "RuntimeError" in line and HEADER.split("sig=")[1] not in line


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    yield
    root.handlers[:], root.level = saved[0], saved[1]


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_the_logging_config_formats_every_logger(log_format: str, restore_logging: None) -> None:
    config = logging_config("json" if log_format == "json" else "text")
    stream = io.StringIO()
    config["handlers"]["stderr"]["stream"] = stream
    logging.config.dictConfig(config)
    logging.getLogger("uvicorn.error").info("Started server process [%d]", 42)
    logging.getLogger("hq.app").warning("bad sig=%s", "ab" * 32)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    if log_format == "json":
        entries = [json.loads(line) for line in lines]
        assert [e["logger"] for e in entries] == ["uvicorn.error", "hq.app"]
    else:
        assert lines[0].endswith("INFO uvicorn.error: Started server process [42]")
        assert "+00:00" in lines[0]
    assert "ab" * 32 not in stream.getvalue()


ARGON2_HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA"


def test_debug_logging_keeps_peewees_sql_and_its_pin_hashes_out(restore_logging: None) -> None:
    """At ``--log-level debug`` peewee logs every query with its parameters: staff PIN hashes among them."""
    config = logging_config("text", "DEBUG")
    stream = io.StringIO()
    config["handlers"]["stderr"]["stream"] = stream
    logging.config.dictConfig(config)
    logging.getLogger("peewee").debug(('UPDATE "staff" SET "pin_hash" = ?', [ARGON2_HASH]))
    logging.getLogger("hq.app").debug("still logged at debug")
    assert ARGON2_HASH not in stream.getvalue()
    assert "still logged at debug" in stream.getvalue()


def test_an_argon2_hash_is_masked_wherever_it_appears() -> None:
    masked = mask_secrets(f"staff row: {ARGON2_HASH}")
    assert ARGON2_HASH not in masked
    assert "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA" not in masked
