"""What a printer says about itself: the replies to ``DLE EOT 1..4`` turned into a ``PrinterStatus``.

Pure: no I/O, no clock. The driver decides which queries to send (``needs_offline_cause``,
``needs_error_cause``), reads the reply bytes with its own timeouts, and hands them here, so the
bit layout is tested byte by byte without a printer (tests/unit/test_printer_status.py).

Bit layout (Epson's, which the Chinese clones follow):

| reply | bits used |
|---|---|
| ``DLE EOT 1`` printer status | 3: offline |
| ``DLE EOT 2`` offline cause | 2: cover open; 3: feed button held; 6: an error occurred |
| ``DLE EOT 3`` error cause | 3: auto-cutter; 5: unrecoverable; 6: auto-recoverable (head too hot) |
| ``DLE EOT 4`` roll paper sensor | 2-3: near end; 5-6: paper end |

Every reply byte has bits 1 and 4 set and bits 0 and 7 clear; any other byte is noise on the line
(or a late echo) and is not taken for an answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

PaperState = Literal["ok", "near_end", "out", "unknown"]

_STATUS_FIXED_MASK = 0x93
_STATUS_FIXED_BITS = 0x12
_ST1_OFFLINE = 0x08
_ST2_COVER_OPEN = 0x04
_ST2_FEED_BUTTON = 0x08
_ST2_ERROR = 0x40
_ST3_CAUSES = (("cutter", 0x08), ("unrecoverable", 0x20), ("auto_recoverable", 0x40))
_ST4_NEAR_END = 0x0C
_ST4_PAPER_END = 0x60


@dataclass(frozen=True, slots=True)
class PrinterStatus:
    """What the printer said about itself. ``None`` / "unknown" mean it did not say (no answer).

    ``errors`` holds ``cutter``, ``unrecoverable``, ``auto_recoverable``, ``feed_button`` or
    ``error`` from the printer, or ``internal`` when the kiosk's own code failed while asking.
    """

    online: bool | None
    paper: PaperState
    cover_open: bool | None = None
    detail: str = ""
    errors: tuple[str, ...] = field(default=())

    @property
    def ready(self) -> bool:
        return (
            self.online is True
            and self.paper in ("ok", "near_end")
            and self.cover_open is not True
            and not self.errors
        )

    def as_json(self) -> dict[str, Any]:
        """The shape ``kiosk printer status --json`` prints (null / "unknown" when not answered)."""
        return {
            "online": self.online,
            "cover_open": self.cover_open,
            "paper": self.paper,
            "errors": list(self.errors),
        }


UNKNOWN_STATUS = PrinterStatus(online=None, paper="unknown")


def _error_reason(error: str) -> str:
    """ "cutter error", "unrecoverable error"; the plain "error" (cause not told) stays "error"."""
    return error if error == "error" else f"{error.replace('_', ' ')} error"


def silent(detail: str) -> PrinterStatus:
    """The printer did not say (no answer, port not open, a transport that cannot read)."""
    return PrinterStatus(online=None, paper="unknown", detail=detail)


def is_status_byte(byte: int) -> bool:
    """True for a byte shaped like a real-time status reply (bits 1 and 4 set, 0 and 7 clear)."""
    return byte & _STATUS_FIXED_MASK == _STATUS_FIXED_BITS


def needs_offline_cause(st1: int) -> bool:
    """Ask ``DLE EOT 2`` only when ``DLE EOT 1`` says offline: an online printer has no cause."""
    return bool(st1 & _ST1_OFFLINE)


def needs_error_cause(st2: int | None) -> bool:
    """Ask ``DLE EOT 3`` only when ``DLE EOT 2`` says an error occurred."""
    return st2 is not None and bool(st2 & _ST2_ERROR)


def decode_status(
    st1: int, st2: int | None = None, st3: int | None = None, st4: int | None = None
) -> PrinterStatus:
    """The status from the replies the printer gave; ``None`` for a query it did not answer.

    ``st2`` and ``st3`` count only when the printer is offline (an online printer's offline cause is
    meaningless); an error bit whose cause did not come (``st3`` None) is the plain ``error``.
    """
    online = not needs_offline_cause(st1)
    cover_open: bool | None = False  # an open cover always takes the printer offline
    errors: list[str] = []
    if not online:
        cover_open = None if st2 is None else bool(st2 & _ST2_COVER_OPEN)
        if st2 is not None and st2 & _ST2_FEED_BUTTON:
            errors.append("feed_button")
        if needs_error_cause(st2):
            causes = [] if st3 is None else [name for name, bit in _ST3_CAUSES if st3 & bit]
            errors += causes or ["error"]
    paper: PaperState
    if st4 is None:
        paper = "unknown"
    elif st4 & _ST4_PAPER_END:
        paper = "out"
    elif st4 & _ST4_NEAR_END:
        paper = "near_end"
    else:
        paper = "ok"
    reasons = [
        reason
        for reason, present in (
            ("offline", not online),
            ("cover open", cover_open is True),
            (f"paper {paper.replace('_', ' ')}", paper != "ok"),
            *((_error_reason(e), True) for e in errors if e != "feed_button"),
            ("feed button held", "feed_button" in errors),
        )
        if present
    ]
    return PrinterStatus(
        online, paper, cover_open, detail=", ".join(reasons) or "ready", errors=tuple(errors)
    )
