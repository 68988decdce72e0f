"""The image's systemd units parse cleanly. ``systemd-analyze verify`` exits 0 on warnings, so any
output counts as a failure; a machine without it fails the test (scripts/install-debian-deps.sh)."""

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


def test_the_agent_keeps_what_it_trusts_where_only_root_can_change_it() -> None:
    """The kiosk user owns /var/lib/kiosk: the agent's state and TUF metadata live on the data
    partition in root's own folder, and its first TUF root is named on its command line rather
    than taken from kiosk.toml, which the kiosk user can change (ota.kiosk_files)."""
    text = (UNITS / "kiosk-ota.service").read_text()
    (exec_start,) = [line for line in text.splitlines() if line.startswith("ExecStart=")]
    argv = exec_start.split()
    assert argv[argv.index("--data") + 1] == "/var/lib/kiosk"
    assert argv[argv.index("--state") + 1] == "/data/ota-agent"
    assert argv[argv.index("--trusted-root") + 1] == "/etc/kiosk/ota-root.json"
    assert "/data" in next(line for line in text.splitlines() if line.startswith("RequiresMountsFor="))
    manifest = (UNITS.parent / "install-kiosk.sh").read_text()
    assert 'install -m 0644 -o root -g kiosk "$OTA_ROOT" /etc/kiosk/ota-root.json' in manifest


@pytest.mark.parametrize("unit", ["kiosk.service", "kiosk-ota.service"])
def test_systemd_analyze_verify_has_nothing_to_say(unit: str, tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.fail(
            "systemd-analyze is missing: run bash scripts/install-debian-deps.sh (it installs systemd)"
        )
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
