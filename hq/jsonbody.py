"""Request bodies read as JSON the strict way (RFC 8259) before FastAPI hands them to pydantic.

Python's ``json`` module reads more than JSON: ``NaN``, ``Infinity`` and ``-Infinity``; numbers too
large for a float, which it turns into infinity; integers of thousands of digits; and ``\\ud800``,
half of a UTF-16 surrogate pair, which becomes text that cannot be written as UTF-8. None of these
is part of a sale, and letting them through made HQ answer 500 when it tried to echo the value in
its 422. Each is refused here as "not valid JSON" with its position, so the kiosk's 422 says what
and where; the rest of the body is not looked at.

The checks cost nothing on an ordinary body: the constants and number limits are parser hooks that
run only on numbers, and strings are scanned for surrogates only when the text holds a surrogate
escape at all (an emoji, sent by ``requests`` as an escaped pair).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

#: more digits than any amount, count or id a kiosk sends; longer integers are refused before int()
MAX_INT_DIGITS = 100
#: where a body nested too deep for Python's parser is said to go wrong (a list of sales needs 4 levels)
DEPTH_SHOWN = 100

_STRING = r'"(?:[^"\\]|\\.)*"'
_NUMBER = r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?"
#: a string (skipped whole, so nothing inside one is mistaken for a token), a constant or a number
_TOKENS = re.compile(rf"{_STRING}|(-?Infinity|NaN)|({_NUMBER})", re.S)
_BRACKETS = re.compile(rf"{_STRING}|([\[{{])|([\]}}])", re.S)
_STRINGS = re.compile(_STRING, re.S)
_ESCAPES = re.compile(r"\\(?:u([0-9a-fA-F]{4})|.)", re.S)
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


class _Refused(ValueError):
    """A token the parser met that JSON (or HQ) does not allow; ``why`` is said to the client."""

    def __init__(self, token: str, why: str) -> None:
        super().__init__(why)
        self.token = token
        self.why = why


def _clip(text: str, limit: int = 24) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _constant(name: str) -> Any:
    raise _Refused(name, f"{name} is not a JSON number; send numbers as decimal digits")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(text, f"the number {_clip(text)} is too large to be a number HQ can read")
    return value


def _bounded_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        raise _Refused(text, f"a whole number of {digits} digits is too long (at most {MAX_INT_DIGITS})")
    return int(text)


def _where_token(text: str, token: str) -> int:
    """Where ``token`` first stands as a value (not inside a string): the parser stopped at the first."""
    for match in _TOKENS.finditer(text):
        if (match.group(1) or match.group(2)) and match.group(0) == token:
            return match.start()
    return 0


def _where_too_deep(text: str) -> int:
    depth = 0
    for match in _BRACKETS.finditer(text):
        if match.group(1):
            depth += 1
            if depth > DEPTH_SHOWN:
                return match.start()
        elif match.group(2):
            depth -= 1
    return 0


def lone_surrogate(text: str) -> int | None:
    """Where the first ``\\uD800``-``\\uDFFF`` escape without its other half is, or None.

    Only called on text that parsed, so every ``"`` outside a string opens one and strings can be
    matched from left to right. A high half is whole only when the low half's escape follows at once.
    """
    for string in _STRINGS.finditer(text):
        token = string.group(0)
        if "\\u" not in token:
            continue
        high_at: int | None = None
        high_end = -1
        for escape in _ESCAPES.finditer(token):
            code = int(escape.group(1), 16) if escape.group(1) else -1
            is_low = 0xDC00 <= code <= 0xDFFF
            if high_at is not None:
                if is_low and escape.start() == high_end:
                    high_at = None
                    continue
                return string.start() + high_at
            if 0xD800 <= code <= 0xDBFF:
                high_at, high_end = escape.start(), escape.end()
            elif is_low:
                return string.start() + escape.start()
        if high_at is not None:
            return string.start() + high_at
    return None


def loads_strict(body: bytes) -> Any:
    """The JSON value of ``body``; raises ``json.JSONDecodeError`` (with a position) for anything else.

    A UTF-8 byte-order mark is skipped, as ``json.loads`` on bytes does; other encodings are refused
    because JSON between systems is UTF-8 (RFC 8259 section 8.1).
    """
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        position = len(body[: exc.start].decode("utf-8-sig"))
        raise json.JSONDecodeError(
            "bytes that are not UTF-8; send JSON as UTF-8 text",
            body.decode("utf-8", "replace"),
            position,
        ) from None
    try:
        value = json.loads(text, parse_constant=_constant, parse_float=_finite_float, parse_int=_bounded_int)
    except _Refused as exc:
        raise json.JSONDecodeError(exc.why, text, _where_token(text, exc.token)) from None
    except RecursionError:
        raise json.JSONDecodeError(
            "lists or objects nested too deeply", text, _where_too_deep(text)
        ) from None
    if _SURROGATE_ESCAPE.search(text):
        at = lone_surrogate(text)
        if at is not None:
            raise json.JSONDecodeError(
                f"{text[at : at + 6]} is half of a UTF-16 surrogate pair, not a character; "
                "send text as UTF-8 or escape both halves",
                text,
                at,
            )
    return value


class StrictJsonRequest(Request):
    """A request whose ``json()`` is ``loads_strict``; FastAPI turns its errors into a 422 json_invalid."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = loads_strict(await self.body())
        return self._json


class StrictJsonRoute(APIRoute):
    """An API route that reads its body with ``StrictJsonRequest`` (FastAPI's custom route class)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict_handler(request: Request) -> Response:
            return await handler(StrictJsonRequest(request.scope, request.receive))

        return strict_handler
