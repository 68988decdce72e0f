"""The real installer: a venv built in staging, the tiny wheel installed offline, the slot renamed, and
the release's Python still importing it from its final place (the reason units run ``python -m``)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ota.slots import OS_PYTHON, OS_PYTHON_PTH, Slots, VenvInstaller
from tests.fakes.ota_release import make_bundle


def _installed(root: Path, version: str) -> Path:
    """Install and switch to a tiny release ``version`` under ``root``; the current release's Python."""
    slots = Slots(root, root.parent / "health", installer=VenvInstaller())
    manifest = slots.install(make_bundle(root.parent / "bundles", version))
    slots.switch(manifest.version)
    return root / "current" / "venv" / "bin" / "python"


def _says(python: Path, code: str) -> list[str]:
    """What ``code`` prints under ``python``, word by word."""
    done = subprocess.run([str(python), "-c", code], capture_output=True, text=True, timeout=60, check=True)
    return done.stdout.split()


@pytest.mark.slow
def test_a_bundle_installs_offline_into_a_venv_that_works_after_the_rename(tmp_path: Path) -> None:
    python = _installed(tmp_path / "opt", "2.0.0")
    version, prefix = _says(python, "import kiosk_tiny, sys; print(kiosk_tiny.VERSION, sys.prefix)")
    assert version == "2.0.0"
    assert Path(prefix).resolve() == (tmp_path / "opt" / "releases" / "2.0.0" / "venv").resolve()
    assert not any((tmp_path / "opt" / "staging").iterdir())


@pytest.mark.slow
def test_every_release_sees_the_os_python_modules_beside_its_slots(tmp_path: Path) -> None:
    """On the image, lgpio (gpiozero's pin backend) comes from Raspberry Pi OS, not a wheel: PyPI has
    it only as source. install-kiosk.sh links the OS's module into ``os-python/``, and each release's
    venv sees that folder, after its own packages. Here the OS's module is a stand-in file."""
    root = tmp_path / "opt"
    (root / OS_PYTHON).mkdir(parents=True)
    (root / OS_PYTHON / "os_pins.py").write_text("WHERE = 'os'\n")
    (root / OS_PYTHON / "kiosk_tiny.py").write_text("VERSION = 'from the os'\n")  # a wheel wins
    python = _installed(root, "2.1.0")
    assert _says(python, "import kiosk_tiny, os_pins; print(kiosk_tiny.VERSION, os_pins.WHERE)") == [
        "2.1.0",
        "os",
    ]
    [pth] = (root / "releases" / "2.1.0" / "venv").rglob(OS_PYTHON_PTH)
    assert pth.read_text().strip() == str((root / OS_PYTHON).resolve())


@pytest.mark.slow
def test_without_an_os_python_folder_the_venv_has_no_path_file(tmp_path: Path) -> None:
    _installed(tmp_path / "opt", "2.2.0")
    assert not list((tmp_path / "opt" / "releases" / "2.2.0" / "venv").rglob(OS_PYTHON_PTH))
