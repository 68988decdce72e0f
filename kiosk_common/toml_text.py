"""TOML that a person wrote by hand: read it safely, and quote bad values briefly.

Settings files, the receipt template and ``KIOSK_*`` variables are written by installers, sometimes
on Windows, sometimes by a script gone wrong. ``tomllib`` alone turns some of that into a traceback
(a 100,000-deep ``[[[...]]]`` exhausts its recursion, a 5,000-digit number trips Python's integer
limit) or into a message that echoes a 50 MB value. Everything here answers with a short sentence
that says what is wrong and what to do; the caller puts the file or variable name in front.

A UTF-8 byte-order mark at the start of a file is accepted and dropped: Notepad and other Windows
editors add it invisibly, it carries no meaning in UTF-8, and an installer cannot see it to remove
it. (The HQ catalog import accepts it for the same reason.) UTF-16 is named as such, because
"not UTF-8" alone does not tell the installer which editor setting to change.
"""

from __future__ import annotations

import reprlib
import tomllib
from typing import Any

__all__ = [
    "MAX_BYTES",
    "MAX_DEPTH",
    "NotToml",
    "TomlTextError",
    "depth",
    "parse_document",
    "parse_value",
    "shorten",
    "shorten_text",
]

#: a settings file is a few kilobytes; anything past this is the wrong file or a runaway script
MAX_BYTES = 1 << 20
#: levels of tables and lists, the document itself counting as one; real settings need four
MAX_DEPTH = 16
UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")

_REPR = reprlib.Repr()
_REPR.maxstring = 40
_REPR.maxother = 40
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 4
_REPR.maxlevel = 2


class TomlTextError(ValueError):
    """The text cannot be used; the message says why and what to do, without naming its source."""


class NotToml(ValueError):
    """The text is not a TOML value; the caller may take it as plain text."""


def _too_deep() -> TomlTextError:
    return TomlTextError(
        f"nested deeper than {MAX_DEPTH} levels of [ ] or {{ }}; no setting is (settings are plain values, "
        "short lists and tables), so the text is garbled: fix it"
    )


def depth(value: Any) -> int:
    """How many levels of tables and lists ``value`` has (a scalar: 0), counted without recursion.

    Stops counting once past :data:`MAX_DEPTH`, so a pathological value costs no more than a sane one.
    """
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        level += 1
        deepest = max(deepest, level)
        if deepest > MAX_DEPTH:
            return deepest
        stack.extend((child, level) for child in children)
    return deepest


def _loads(text: str) -> dict[str, Any]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TomlTextError(f"not valid TOML ({shorten_text(str(exc), 120)}); fix the syntax") from None
    except RecursionError:
        raise _too_deep() from None
    except ValueError as exc:  # a number past Python's 4300-digit limit, and the like
        raise TomlTextError(
            f"holds a value that cannot be read ({shorten_text(str(exc), 120)}); fix it"
        ) from None
    if depth(data) > MAX_DEPTH:
        raise _too_deep()
    return data


def parse_document(raw: bytes) -> dict[str, Any]:
    """A whole file's bytes as a TOML document, after checking size and encoding."""
    if len(raw) > MAX_BYTES:
        raise TomlTextError(
            f"bigger than {MAX_BYTES // (1 << 20)} MB, far too big for a settings file; check that it is the right file"
        )
    if raw.startswith(_UTF16_BOMS):
        raise TomlTextError('not UTF-8 text but UTF-16 ("Unicode" in some Windows editors); save it as UTF-8')
    raw = raw.removeprefix(UTF8_BOM)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TomlTextError(f"not UTF-8 text (byte {exc.start} cannot be read); save it as UTF-8") from None
    return _loads(text)


def parse_value(text: str) -> Any:
    """One value as TOML (``9600`` is a number, ``false`` a boolean, ``[1, 2]`` a list).

    Raises :class:`NotToml` when it is not a TOML value (the caller takes it as text), and
    :class:`TomlTextError` when it is TOML no setting can be (nested absurdly deep).
    """
    try:
        data = tomllib.loads(f"v = {text}")
    except tomllib.TOMLDecodeError:
        raise NotToml(text) from None
    except RecursionError:
        raise _too_deep() from None
    except ValueError:  # a huge integer: no setting is one, so it is text (and fails validation as such)
        raise NotToml(text) from None
    if set(data) != {"v"}:  # "1\nother = 2" is not one value
        raise NotToml(text)
    if depth(data) > MAX_DEPTH:
        raise _too_deep()
    return data["v"]


def shorten_text(text: str, limit: int = 200) -> str:
    """``text`` cut to about ``limit`` characters, saying how long it really was."""
    if len(text) <= limit:
        return text
    return f"{text[: limit - 1]}… ({len(text)} characters)"


def shorten(value: Any) -> str:
    """A short ``repr`` of a value for an error message: long text is cut in the middle, lists elided."""
    shown = _REPR.repr(value)
    if isinstance(value, str) and len(value) > _REPR.maxstring:
        shown += f" ({len(value)} characters)"
    return shown
