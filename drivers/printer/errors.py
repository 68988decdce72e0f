"""What goes wrong with a receipt, said so that the reprint queue never prints one twice blindly."""

from __future__ import annotations

import enum

from drivers.printer.status import PrinterStatus


class PrinterError(RuntimeError):
    """The printer could not print (offline, out of paper, cable pulled). The sale is unaffected."""


class FaultKind(enum.StrEnum):
    """Why a receipt did not (certainly) print; staff act differently on each."""

    #: the port could not be opened (unplugged, wrong device): nothing was sent
    UNREACHABLE = "unreachable"
    #: the printer said it cannot print now (paper, cover, offline, silent): nothing was sent
    NOT_READY = "not ready"
    #: the wire failed while the receipt was going out (cable pulled, power cut)
    CONNECTION_LOST = "connection lost"
    #: the printer took the receipt and then stopped answering
    NO_ANSWER = "no answer"
    #: the printer reported a fault (paper ran out, cover opened) after taking the receipt
    FAULT_DURING_RECEIPT = "fault during receipt"
    #: a bug in the kiosk's own code (logged with its traceback), not a printer or cable fault
    INTERNAL = "internal error"


class PrintFault(PrinterError):
    """A receipt that did not (certainly) print. ``may_have_printed`` guards against double prints.

    False: nothing, or only a part cut short by a reported fault, reached the paper, so printing it
    again once the printer is ready gives the customer one whole receipt. True: the printer stopped
    answering (or the driver failed) after the bytes left, so it may have printed all of it; only
    staff decide to reprint.
    """

    def __init__(
        self,
        message: str,
        *,
        may_have_printed: bool,
        kind: FaultKind,
        status: PrinterStatus | None = None,
    ) -> None:
        super().__init__(message)
        self.may_have_printed = may_have_printed
        self.kind = kind
        self.status = status
