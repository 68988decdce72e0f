"""Request bodies read as JSON the strict way (RFC 8259) before FastAPI hands them to pydantic.

Python's ``json`` module reads more than JSON: ``NaN``, ``Infinity`` and ``-Infinity``; numbers too
large for a float, which it turns into infinity; integers of thousands of digits; and ``\\ud800``,
half of a UTF-16 surrogate pair, which becomes text that cannot be written as UTF-8. None of these
is part of a sale, and letting them through made HQ answer 500 when it tried to echo the value in
its 422. Each is refused here as "not valid JSON" with its position, so the kiosk's 422 says what
and where; the rest of the body is not looked at.

The checks cost little on an ordinary body: the constants and number limits are parser hooks that
run only on numbers, and the parsed value is checked for surrogates (by writing it out as UTF-8,
in C) only when the text holds a surrogate escape at all (an emoji, which ``requests`` sends as an
escaped pair). Finding the position of a fault costs more, and is bounded.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Coroutine
from typing import Any

import anyio.to_thread
from fastapi import Request, Response
from fastapi.routing import APIRoute

#: more digits than any amount, count or id a kiosk sends; longer integers are refused before int()
MAX_INT_DIGITS = 100
#: where a body nested too deep for Python's parser is said to go wrong (a list of sales needs 4 levels)
DEPTH_SHOWN = 100
#: tokens the error path looks at to find the exact position; past them it says how far it looked,
#: so a crafted 16 MB body costs a bounded moment, not seconds
MAX_TOKENS_SCANNED = 100_000

# a JSON string, written so the regex engine runs through it in one tight loop
_STRING = r'"[^"\\]*(?:\\.[^"\\]*)*"'
_BRACKETS = re.compile(rf"{_STRING}|([\[{{])|([\]}}])", re.S)
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


def _where_token(text: str, token: str) -> tuple[int, bool]:
    """Where ``token`` first stands as a value, outside any string (the parser stopped at the first),
    and whether that is exact; past ``MAX_TOKENS_SCANNED`` strings, how far the search got."""
    pattern = re.compile(rf"{_STRING}|(?<![\w.+-]){re.escape(token)}(?![\w.])", re.S)
    reached = 0
    for count, match in enumerate(pattern.finditer(text)):
        if not match.group(0).startswith('"'):
            return match.start(), True
        reached = match.end()
        if count >= MAX_TOKENS_SCANNED:
            break
    return reached, False


def _where_too_deep(text: str) -> tuple[int, bool]:
    """Where the nesting first passes ``DEPTH_SHOWN``, and whether that is exact (see _where_token)."""
    depth = 0
    reached = 0
    for count, match in enumerate(_BRACKETS.finditer(text)):
        if match.group(1):
            depth += 1
            if depth > DEPTH_SHOWN:
                return match.start(), True
        elif match.group(2):
            depth -= 1
        reached = match.end()
        if count >= MAX_TOKENS_SCANNED:
            break
    return reached, False


def _has_lone_surrogate(value: Any) -> bool:
    """Whether any text in ``value`` holds half a surrogate pair (it then cannot be written as UTF-8)."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def lone_surrogate(text: str) -> tuple[int, bool]:
    """Where the first ``\\uD800``-``\\uDFFF`` escape without its other half is in ``text``, and
    whether that is exact; past ``MAX_TOKENS_SCANNED`` surrogate escapes, how far the search got.

    Only called on text that parsed and holds such an escape, so every backslash is inside a string
    and starts an escape unless an odd number of backslashes stands before it. A high half is whole
    only when the escape of a low half follows at once, as Python's decoder pairs them.
    """
    reached = 0
    low_expected_at = -1
    for count, escape in enumerate(_SURROGATE_ESCAPE.finditer(text)):
        if count >= MAX_TOKENS_SCANNED:
            break
        at = escape.start()
        reached = escape.end()
        before = at
        while before > 0 and text[before - 1] == "\\":
            before -= 1
        if (at - before) % 2:
            continue  # an escaped backslash followed by the letters u, d, ...: plain text
        code = int(escape.group(0)[2:], 16)
        if code >= 0xDC00:
            if at != low_expected_at:
                return at, True
        else:
            follower = _SURROGATE_ESCAPE.match(text, escape.end())
            if follower is None or int(follower.group(0)[2:], 16) < 0xDC00:
                return at, True
            low_expected_at = escape.end()
    return reached, False


def _decode_error(why: str, text: str, where: tuple[int, bool]) -> json.JSONDecodeError:
    at, exact = where
    return json.JSONDecodeError(why if exact else f"{why}, somewhere after character {at}", text, at)


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
        raise _decode_error(exc.why, text, _where_token(text, exc.token)) from None
    except RecursionError:
        raise _decode_error("lists or objects nested too deeply", text, _where_too_deep(text)) from None
    if _SURROGATE_ESCAPE.search(text) and _has_lone_surrogate(value):
        at, exact = lone_surrogate(text)
        half = text[at : at + 6] if exact else "an escape \\uD800-\\uDFFF"
        why = f"{half} is half of a UTF-16 surrogate pair, not a character; send text as UTF-8 or escape both halves"
        raise _decode_error(why, text, (at, exact))
    return value


class StrictJsonRequest(Request):
    """A request whose ``json()`` is ``loads_strict``; FastAPI turns its errors into a 422 json_invalid.

    The parsing runs on a worker thread, so a large body does not hold up the event loop, which
    serves every other request.
    """

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            self._json = await anyio.to_thread.run_sync(loads_strict, body)
        return self._json


class StrictJsonRoute(APIRoute):
    """An API route that reads its body with ``StrictJsonRequest`` (FastAPI's custom route class)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict_handler(request: Request) -> Response:
            return await handler(StrictJsonRequest(request.scope, request.receive))

        return strict_handler
