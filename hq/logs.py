"""HQ's log lines: plain text or one JSON object a line (``[server] log_format``), never a secret.

JSON lines carry ``time`` (UTC, ISO 8601), ``level``, ``logger`` and ``message``, the request's
fields where the record has them (uvicorn's access lines: ``client``, ``method``, ``path``,
``status``; or ``extra`` fields a caller passed, such as ``kiosk_id``), and ``exc`` for a traceback.

Secrets are masked in the finished line, traceback included, whatever logger wrote it (HQ's own,
uvicorn's, a library's): an ``Authorization`` header's value, ``secret=``, ``password=``,
``token=``, ``key=`` and ``code=`` values, the password in a ``scheme://user:password@host`` URL,
long hex strings (kiosk secrets, signatures, keys), enrolment codes, the token of an e-receipt
path, staff PIN hashes (argon2), and payment codes (``kiosk_common.masking``). Code paths still keep secrets out of their
messages; this is the last line of defence, so it errs on the side of masking.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any, Literal

from kiosk_common.codes import mask
from kiosk_common.masking import mask_payment_codes

LogFormat = Literal["text", "json"]

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

#: an Authorization (or Proxy-Authorization) header's value, in any scheme, up to the line's end or a quote
_AUTH_HEADER = re.compile(
    r"(?i)((?:proxy-)?authorization['\"]?\s*[:=]\s*['\"]?)(?:[^'\"\r\n]*)|"
    r"((?:Kiosk-HMAC-SHA256|Bearer|Basic)\s+)[^\s'\",;]+(?:,\s*[a-z]+=[^\s'\",;]+)*"
)
#: name=value and "name": "value" pairs whose name says it holds a secret
_SECRET_PAIR = re.compile(
    r"(?i)(\b(?:[\w-]*secret|[\w-]*passw(?:or)?d|[\w-]*token|api[_-]?key|[\w-]*_key|key|sig|signature"
    r"|code|enrol[\w-]*code)['\"]?\s*[:=]\s*['\"]?)([^\s'\",;&)}\]]+)"
)
_URL_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@\s]*@")
_LONG_HEX = re.compile(r"(?<![0-9A-Za-z])[0-9a-fA-F]{32,}(?![0-9A-Za-z])")
#: an enrolment code: groups of four letters and digits (docs/sync-protocol.md §1)
_ENROL_CODE = re.compile(r"(?<![0-9A-Za-z-])[0-9A-Z]{4}(?:-[0-9A-Z]{4}){3,}(?![0-9A-Za-z-])")
#: /r/<kiosk>/<order>/<token>: the token opens the receipt
_RECEIPT_PATH = re.compile(r"(/r/[^/\s]+/[^/\s]+/)([^\s?\"']+)")
#: a password hash in PHC form (staff PIN hashes: ``$argon2id$v=19$m=...,t=...,p=...$salt$hash``)
_PHC_HASH = re.compile(r"\$argon2(?:id|i|d)\$[A-Za-z0-9+/$=,.-]+")
_MASK = "***"


def mask_secrets(text: str) -> str:
    """``text`` with everything that looks like a secret masked (see the module's docstring)."""
    text = _AUTH_HEADER.sub(lambda m: (m.group(1) or m.group(2) or "") + _MASK, text)
    text = _URL_PASSWORD.sub(r"\1" + _MASK + "@", text)
    text = _SECRET_PAIR.sub(lambda m: m.group(1) + _hide(m.group(2)), text)
    text = _RECEIPT_PATH.sub(lambda m: m.group(1) + _MASK, text)
    text = _PHC_HASH.sub("$argon2" + _MASK, text)
    text = _LONG_HEX.sub(lambda m: _hide(m.group(0)), text)
    text = _ENROL_CODE.sub(_MASK, text)
    return mask_payment_codes(text)


def _hide(value: str) -> str:
    """A secret's first and last four characters at most, so a log reader can tell two apart."""
    if value == _MASK:
        return value
    return mask(value) if len(value) >= 24 else _MASK


class MaskingTextFormatter(logging.Formatter):
    """``TEXT_FORMAT`` with UTC times and secrets masked in the finished line."""

    def __init__(self, fmt: str | None = None, datefmt: str | None = None) -> None:
        super().__init__(fmt or TEXT_FORMAT, datefmt)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        moment = datetime.fromtimestamp(record.created, UTC)
        return moment.strftime(datefmt) if datefmt else moment.isoformat(timespec="milliseconds")

    def format(self, record: logging.LogRecord) -> str:
        return mask_secrets(super().format(record))


#: attributes every LogRecord has; anything else on a record came from ``extra=`` and is a field
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "color_message",  # uvicorn's copy of the message with terminal colours
}
#: uvicorn's access line is logged with these arguments, in this order
_ACCESS_FIELDS = ("client", "method", "path", "http_version", "status")


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request fields, exc; secrets masked."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == 5:
            entry.update(zip(_ACCESS_FIELDS, record.args, strict=True))
        for name, value in record.__dict__.items():
            if name not in _STANDARD and not name.startswith("_") and name not in entry:
                entry[name] = value if isinstance(value, str | int | float | bool | None) else str(value)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        line = json.dumps(entry, ensure_ascii=False, default=str)
        return mask_secrets(line)


def logging_config(log_format: LogFormat, level: str = "INFO") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for HQ and uvicorn, the same in every worker process.

    uvicorn applies it in each process it starts (``uvicorn.Config(log_config=...)``), so every
    worker writes the same format to stderr. peewee stays at INFO whatever ``level`` says: at
    DEBUG it logs every query with its parameters, staff PIN hashes and kiosk secrets among them,
    and an SQL trace is not what an operator turning on debug wants from a busy HQ.
    """
    formatter: dict[str, Any] = (
        {"()": "hq.logs.JsonFormatter"} if log_format == "json" else {"()": "hq.logs.MaskingTextFormatter"}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"hq": formatter},
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "hq", "stream": "ext://sys.stderr"}
        },
        "loggers": {
            "uvicorn": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.error": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.access": {"handlers": [], "level": level, "propagate": True},
            "peewee": {"handlers": [], "level": "INFO", "propagate": True},
        },
        "root": {"handlers": ["stderr"], "level": level},
    }
