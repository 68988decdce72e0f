"""The image's systemd units parse cleanly. ``systemd-analyze verify`` is run only where it is
installed (it is on Debian and in CI); it exits 0 on warnings, so any output counts as a failure."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

UNITS = Path(__file__).resolve().parents[2] / "image" / "systemd"


def test_the_kiosk_unit_runs_the_boot_check_and_the_current_release() -> None:
    text = (UNITS / "kiosk.service").read_text()
    assert "ExecStartPre=+/opt/kiosk/.venv/bin/python -m ota boot-check" in text
    assert "ExecStart=/opt/kiosk/current/venv/bin/python -m kiosk run" in text
    assert "python -m ota agent" in (UNITS / "kiosk-ota.service").read_text()


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed here")
@pytest.mark.parametrize("unit", ["kiosk.service", "kiosk-ota.service"])
def test_systemd_analyze_verify_has_nothing_to_say(unit: str, tmp_path: Path) -> None:
    # verify looks the binaries up: point the absolute paths at ones that exist on this machine
    text = (UNITS / unit).read_text()
    text = text.replace("/opt/kiosk/.venv/bin/python", "/bin/true").replace(
        "/opt/kiosk/current/venv/bin/python", "/bin/true"
    )
    copy = tmp_path / unit
    copy.write_text(text)
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(copy)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and not (done.stdout + done.stderr).strip(), done.stdout + done.stderr
