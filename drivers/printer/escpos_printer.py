"""The receipt printer: ESC/POS over python-escpos, with our own job bytes and status queries.

The parts: ``commands`` builds the bytes of a receipt, ``status`` decodes the printer's replies,
``transports`` opens the wire and reads replies back, ``factory`` picks all of it from plain
arguments. This class puts them together and decides what a failure means.

Status: python-escpos 3.1's ``paper_status()`` reports "adequate" when the printer is silent, and a
dead printer must not look ready, so the real-time queries ``DLE EOT 1..4`` are sent and read here,
each bounded by ``status_timeout_ms``. A receipt is checked before it is sent (nothing is sent to a
printer that cannot print it) and after (paper that ran out mid-receipt is noticed), and a failure
says whether the printer may have printed it (``PrintFault.may_have_printed``), so the reprint queue
never prints a receipt twice blindly.

Only a wire error (``transports.WIRE_ERRORS``) means the printer or its cable went away. Any other
exception is a bug: it is logged with its traceback and raised as a ``PrintFault`` of kind
``internal error``, so staff are never sent to check a cable that is fine.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from drivers.printer.commands import DLE_DC4_CLEAR_BUFFERS, job_format_for, nv_logo_bytes, status_query
from drivers.printer.document import ReceiptDocument
from drivers.printer.errors import FaultKind, PrinterError, PrintFault
from drivers.printer.status import (
    PrinterStatus,
    decode_status,
    is_status_byte,
    needs_error_cause,
    needs_offline_cause,
    silent,
)
from drivers.printer.transports import (
    WIRE_ERRORS,
    StatusReader,
    close_device,
    open_device,
    reader_for,
    where_of,
)

if TYPE_CHECKING:
    from escpos.escpos import Escpos

log = logging.getLogger(__name__)

_MAX_STATUS_READS = 8
_BITS_PER_BYTE = 10  # start + 8 data + stop on the serial line


@dataclass(slots=True)
class _Progress:
    """How far a receipt got: once its bytes may have left, a failure may have printed it."""

    sent: bool = False


def _internal_detail(exc: BaseException) -> str:
    return f"internal error in the printer driver ({type(exc).__name__}: {exc}); see the kiosk log"


class EscposReceiptPrinter:
    """A ReceiptPrinter on any python-escpos printer object (``Serial`` on a kiosk, ``Dummy`` in tests).

    ``check_status``: ask the printer before and after each receipt. Off only for transports that
    cannot answer (``Dummy`` in golden-byte tests, a write-only device file).
    """

    def __init__(
        self,
        printer: Escpos,
        encoding: str = "gb18030",
        status_timeout_ms: int = 500,
        *,
        check_status: bool | None = None,
        nv_logo: int = 0,
    ) -> None:
        if not 1 <= status_timeout_ms <= 60_000:
            raise ValueError(f"status_timeout_ms must be 1..60000, got {status_timeout_ms}")
        self._format = job_format_for(printer, encoding, nv_logo)
        self._printer = printer
        self._timeout_s = status_timeout_ms / 1000
        self._check_status = check_status
        self._lock = threading.Lock()
        self._where = where_of(printer)
        self._baudrate = int(getattr(printer, "baudrate", 0) or 0)

    @property
    def encoding(self) -> str:
        return self._format.encoding

    def job_bytes(self, document: ReceiptDocument) -> bytes:
        """Every byte of one receipt, from ``ESC @`` to the cut (pure: the golden-byte tests read it)."""
        return self._format.job_bytes(document)

    # --- printing ---------------------------------------------------------------------------------

    def print_receipt(self, order_id: str, document: ReceiptDocument) -> None:
        """Print and cut the receipt of ``order_id``, or raise PrintFault saying what happened."""
        progress = _Progress()
        try:
            job = self.job_bytes(document)
            with self._lock:
                self._print_locked(job, progress)
        except PrinterError:
            raise
        except Exception as exc:  # not the printer: a bug here or in a library
            log.exception("printer: internal error while printing the receipt of order %s", order_id)
            what = "the receipt may have printed in part" if progress.sent else "nothing was sent"
            raise PrintFault(
                f"{_internal_detail(exc)}; {what}",
                may_have_printed=progress.sent,
                kind=FaultKind.INTERNAL,
            ) from exc

    def _print_locked(self, job: bytes, progress: _Progress) -> None:
        device = open_device(self._printer, self._where)
        reader = self._reader(device)
        if reader is not None:
            before = self._status_locked(reader)
            if not before.ready:
                raise PrintFault(
                    f"{self._where} is not ready ({before.detail}); nothing was sent",
                    may_have_printed=False,
                    kind=FaultKind.NOT_READY,
                    status=before,
                )
        progress.sent = True
        try:
            self._printer._raw(job)
            if reader is not None:
                reader.drain()
        except WIRE_ERRORS as exc:
            close_device(self._printer)
            raise PrintFault(
                f"printing on {self._where} failed: {exc}; check the cable, the power and the paper",
                may_have_printed=True,
                kind=FaultKind.CONNECTION_LOST,
            ) from exc
        if reader is None:
            return
        # the printer answers real-time queries as bytes arrive, after the job ahead of them
        wire_s = len(job) * _BITS_PER_BYTE / self._baudrate if self._baudrate else 0.0
        after = self._status_locked(reader, first_wait_s=wire_s)
        if after.online is None:
            close_device(self._printer)
            raise PrintFault(
                f"{self._where} stopped answering after the receipt was sent; it may or may not have printed",
                may_have_printed=True,
                kind=FaultKind.NO_ANSWER,
                status=after,
            )
        if not after.ready:
            self._clear_buffers()
            raise PrintFault(
                f"{self._where} reported a fault during the receipt ({after.detail})",
                may_have_printed=False,
                kind=FaultKind.FAULT_DURING_RECEIPT,
                status=after,
            )

    def store_nv_logo(self, image: Any, max_width_dots: int = 384) -> int:
        """Define ``image`` as the printer's NV logo 1 (``FS q``); return the bytes sent."""
        data = nv_logo_bytes(image, max_width_dots)
        with self._lock:
            open_device(self._printer, self._where)
            try:
                self._printer._raw(data)
            except WIRE_ERRORS as exc:
                close_device(self._printer)
                raise PrintFault(
                    f"storing the logo on {self._where} failed: {exc}",
                    may_have_printed=True,
                    kind=FaultKind.CONNECTION_LOST,
                ) from exc
        return len(data)

    def _clear_buffers(self) -> None:
        """Drop the unprinted rest of an interrupted receipt so it cannot print after the fault clears."""
        try:
            self._printer._raw(DLE_DC4_CLEAR_BUFFERS)
        except WIRE_ERRORS as exc:  # the printer is already in trouble; the reprint is what matters
            log.debug("printer: clearing buffers failed: %s", exc)

    # --- status -----------------------------------------------------------------------------------

    def is_ready(self) -> bool:
        return self.status().ready

    def status(self) -> PrinterStatus:
        """Ask the printer (DLE EOT 1; 2 and 3 when offline; then 4); silence gives an unknown status.

        A dead printer costs one ``status_timeout_ms``: after the first query goes unanswered no more
        are sent. A bug while asking is an ``internal`` error in the status, logged with its traceback.
        """
        with self._lock:
            try:
                try:
                    device = open_device(self._printer, self._where)
                except PrinterError as exc:
                    return silent(str(exc))
                reader = self._reader(device)
                if reader is None:
                    return silent("this transport cannot read status replies")
                return self._status_locked(reader)
            except Exception as exc:  # not the printer: a bug here or in a library
                log.exception("printer: internal error while asking for the printer's status")
                return PrinterStatus(
                    online=None, paper="unknown", detail=_internal_detail(exc), errors=("internal",)
                )

    def _status_locked(self, reader: StatusReader, first_wait_s: float = 0.0) -> PrinterStatus:
        """The status, or an unknown one (and the port closed) when the wire fails while asking."""
        try:
            return self._query_all(reader, first_wait_s)
        except WIRE_ERRORS as exc:
            close_device(self._printer)
            return silent(f"status query failed: {exc}")

    def _query_all(self, reader: StatusReader, first_wait_s: float = 0.0) -> PrinterStatus:
        st1 = self._query(reader, 1, first_wait_s)
        if st1 is None:
            return silent(f"no answer within {round(self._timeout_s * 1000)} ms")
        st2 = st3 = None
        if needs_offline_cause(st1):
            st2 = self._query(reader, 2)
            if needs_error_cause(st2):
                st3 = self._query(reader, 3)
        st4 = self._query(reader, 4)
        return decode_status(st1, st2, st3, st4)

    def _query(self, reader: StatusReader, n: int, extra_wait_s: float = 0.0) -> int | None:
        """Send DLE EOT n and return the first well-formed reply byte, or None by the deadline."""
        reader.discard_input()  # a late reply to an earlier query must not answer this one
        self._printer._raw(status_query(n))
        deadline = time.monotonic() + self._timeout_s + extra_wait_s
        for _ in range(_MAX_STATUS_READS):
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            data = reader.read_byte(left)
            if data is None:
                return None
            if is_status_byte(data):
                return data
            log.debug("printer: ignoring byte 0x%02x while waiting for status %d", data, n)
        return None

    def _reader(self, device: Any) -> StatusReader | None:
        if self._check_status is False:
            return None
        return reader_for(device)

    # --- connection -------------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            close_device(self._printer)
