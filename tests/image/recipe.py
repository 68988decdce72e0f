"""The image recipe as the tests read it: the file manifest, the units and their Exec lines."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
IMAGE = REPO / "image"
UNITS_DIR = IMAGE / "systemd"
ROOTFS = IMAGE / "rootfs"
MANIFEST = IMAGE / "files.manifest"


def need(tool: str) -> str:
    """The path of ``tool`` (also in /usr/sbin, which a user's PATH may lack); a missing one fails the
    test, never skips it."""
    path = shutil.which(tool) or (f"/usr/sbin/{tool}" if Path(f"/usr/sbin/{tool}").exists() else None)
    if path is None:
        pytest.fail(f"{tool} is missing: run bash scripts/install-debian-deps.sh (it installs it)")
    return path


_EXEC = re.compile(r"^Exec\w+=(.*)$", re.MULTILINE)


@dataclass(frozen=True)
class Entry:
    """One line of image/files.manifest."""

    mode: int
    owner: str
    group: str
    source: str
    dest: str
    keep: bool


def manifest() -> list[Entry]:
    entries = []
    for number, raw in enumerate(MANIFEST.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        assert len(fields) in (5, 6), (
            f"files.manifest line {number}: {raw!r}: MODE OWNER GROUP SOURCE DEST [keep]"
        )
        assert len(fields) == 5 or fields[5] == "keep", (
            f"files.manifest line {number}: 6th field must be keep"
        )
        assert re.fullmatch(r"0[0-7]{3}", fields[0]), f"files.manifest line {number}: mode {fields[0]!r}"
        entries.append(Entry(int(fields[0], 8), fields[1], fields[2], fields[3], fields[4], len(fields) == 6))
    return entries


def units() -> list[Path]:
    return sorted(p for p in UNITS_DIR.iterdir() if p.suffix in (".service", ".timer", ".path", ".socket"))


def exec_paths(unit: Path) -> list[str]:
    """The program of every Exec*= line, without systemd's prefixes (-, +, @, !, :)."""
    found = []
    for value in _EXEC.findall(unit.read_text(encoding="utf-8")):
        program = value.strip().lstrip("-+@!:").split()[0]
        found.append(program)
    return found


def unit_values(unit: Path, key: str) -> list[str]:
    """Every value ``key`` has in the unit, one per line, in order."""
    values = re.findall(rf"^{re.escape(key)}=(.*)$", unit.read_text(encoding="utf-8"), re.MULTILINE)
    return [value.strip() for value in values]


def unit_value(unit: Path, key: str) -> str | None:
    """The last value of ``key`` in the unit (later lines win, as in systemd)."""
    values = unit_values(unit, key)
    return values[-1] if values else None
