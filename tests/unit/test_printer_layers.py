"""The printer driver stands on its own: it imports nothing from the kiosk or HQ above it, and the
kiosk turns its settings into the driver's plain arguments in one place (kiosk/bootstrap.py)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from drivers.printer.factory import PrinterConfig
from drivers.printer.file_printer import FileReceiptPrinter
from kiosk.bootstrap import open_configured_printer, printer_config
from kiosk.settings import PrinterSection

REPO = Path(__file__).resolve().parents[2]
DRIVER = REPO / "drivers" / "printer"
FORBIDDEN = ("kiosk", "hq", "printer_emulator", "paysim")


def _imported_roots(path: Path) -> set[str]:
    """Every top-level package a module imports, at any depth (inside functions, TYPE_CHECKING too)."""
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_no_printer_module_imports_the_kiosk_or_hq() -> None:
    modules = sorted(DRIVER.glob("*.py"))
    assert len(modules) >= 9  # the split modules are all here: a rename must not make this pass
    offenders = {p.name: sorted(_imported_roots(p) & set(FORBIDDEN)) for p in modules}
    assert {name: found for name, found in offenders.items() if found} == {}


def test_loading_the_driver_loads_nothing_from_the_kiosk() -> None:
    """The same at run time, through every import the driver makes (a fresh interpreter)."""
    code = (
        "import sys, drivers.printer.factory, drivers.printer.commands, drivers.printer.status; "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"


def test_kiosk_core_does_not_reach_the_driver() -> None:
    core = sorted((REPO / "kiosk" / "core").glob("*.py"))
    assert core
    assert {p.name for p in core if "drivers" in _imported_roots(p)} == set()


# --- the translation in kiosk/bootstrap.py ----------------------------------------------------------


def test_printer_settings_become_the_driver_arguments(tmp_path: Path) -> None:
    section = PrinterSection(
        transport="serial",
        device="/dev/ttyUSB0",
        baudrate=19200,
        profile="TM-T88V",
        encoding="cp437",
        status_timeout_ms=300,
        nv_logo=2,
    )
    assert printer_config(section, tmp_path) == PrinterConfig(
        transport="serial",
        device="/dev/ttyUSB0",
        baudrate=19200,
        profile="TM-T88V",
        encoding="cp437",
        status_timeout_ms=300,
        nv_logo=2,
    )


def test_a_relative_receipt_folder_is_inside_the_data_dir(tmp_path: Path) -> None:
    relative = printer_config(PrinterSection(transport="file", device="receipts"), tmp_path)
    assert relative.device == str(tmp_path / "receipts")
    absolute = printer_config(PrinterSection(transport="file", device="/srv/receipts"), tmp_path)
    assert absolute.device == "/srv/receipts"
    printer = open_configured_printer(PrinterSection(transport="file", device="receipts"), tmp_path)
    assert isinstance(printer, FileReceiptPrinter) and printer.folder == tmp_path / "receipts"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"profile": "TM-NOPE"}, r"^\[printer\] profile = 'TM-NOPE' is not a python-escpos printer profile"),
        (
            {"transport": "network", "device": "printer.local:port"},
            r"^\[printer\] device = 'printer.local:port'",
        ),
    ],
)
def test_a_driver_refusal_names_the_settings_key(
    tmp_path: Path, changes: dict[str, object], message: str
) -> None:
    """Settings validation refuses a bad profile first; one that slips past (built unchecked) is still
    refused by the driver, and the message names the section and key."""
    unchecked = PrinterSection.model_construct(**{**PrinterSection().model_dump(), **changes})
    with pytest.raises(ValueError, match=message):
        open_configured_printer(unchecked, tmp_path)
