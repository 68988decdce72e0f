"""``open_printer``: the receipt printer that plain arguments describe.

The driver knows nothing of the kiosk's settings: ``kiosk.bootstrap`` turns ``[printer]`` into a
``PrinterConfig`` (and resolves a relative receipt folder), and a mistake in it comes back as a
ValueError naming the argument (``device = '...' is not host:port ...``) for the caller to place.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from drivers.printer.escpos_printer import EscposReceiptPrinter
from drivers.printer.file_printer import FileReceiptPrinter
from drivers.printer.no_printer import NoPrinter
from drivers.printer.transports import network_printer, serial_printer, usb_printer

Transport = Literal["serial", "usb", "network", "file", "none"]


@dataclass(frozen=True, slots=True)
class PrinterConfig:
    """What ``open_printer`` needs to know.

    ``device``: serial, the port (``/dev/serial0``); usb, a usblp device file or ``VID:PID`` in hex;
    network, ``host:port``; file, the folder receipts are written to (absolute); none: unused.
    ``profile`` is a python-escpos printer profile, ``encoding`` a Python codec name, ``nv_logo``
    the key of a logo in the printer's NV memory (0 = none).
    """

    transport: Transport = "serial"
    device: str = "/dev/serial0"
    baudrate: int = 9600
    profile: str = "default"
    encoding: str = "gb18030"
    status_timeout_ms: int = 500
    nv_logo: int = 0


PrinterDriver = EscposReceiptPrinter | FileReceiptPrinter | NoPrinter


def open_printer(config: PrinterConfig) -> PrinterDriver:
    """The printer ``config`` describes. Touches no device: a missing printer is reported on use.

    Raises ValueError for a transport, profile or device string that cannot work (a settings
    mistake, not a fault).
    """
    if config.transport not in get_args(Transport):
        raise ValueError(
            f"transport = {config.transport!r} is not a printer transport; use one of {', '.join(get_args(Transport))}"
        )
    if config.transport == "none":
        return NoPrinter()
    if config.transport == "file":
        return FileReceiptPrinter(Path(config.device))
    timeout_s = config.status_timeout_ms / 1000
    try:
        if config.transport == "serial":
            escpos = serial_printer(config.device, config.baudrate, config.profile, timeout_s)
        elif config.transport == "network":
            escpos = network_printer(config.device, config.profile, timeout_s)
        else:
            escpos = usb_printer(config.device, config.profile, config.status_timeout_ms)
    except KeyError:  # python-escpos looks the profile up when the printer object is made
        raise ValueError(
            f"profile = {config.profile!r} is not a python-escpos printer profile; "
            "use 'default' or a model name such as 'TM-T88V', 'NT-5890K' or 'ZJ-5870'"
        ) from None
    return EscposReceiptPrinter(
        escpos,
        encoding=config.encoding,
        status_timeout_ms=config.status_timeout_ms,
        nv_logo=config.nv_logo,
    )
