"""The real installer: a venv built in staging, the tiny wheel installed offline, the slot renamed, and
the release's Python still importing it from its final place (the reason units run ``python -m``)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ota.slots import Slots, VenvInstaller
from tests.fakes.ota_release import make_bundle


@pytest.mark.slow
def test_a_bundle_installs_offline_into_a_venv_that_works_after_the_rename(tmp_path: Path) -> None:
    slots = Slots(tmp_path / "opt", tmp_path / "health", installer=VenvInstaller())
    manifest = slots.install(make_bundle(tmp_path / "bundles", "2.0.0"))
    slots.switch(manifest.version)
    python = tmp_path / "opt" / "current" / "venv" / "bin" / "python"
    done = subprocess.run(
        [str(python), "-c", "import kiosk_tiny, sys; print(kiosk_tiny.VERSION, sys.prefix)"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    version, prefix = done.stdout.split()
    assert version == "2.0.0"
    assert Path(prefix).resolve() == (tmp_path / "opt" / "releases" / "2.0.0" / "venv").resolve()
    assert not any((tmp_path / "opt" / "staging").iterdir())


@pytest.mark.slow
def test_every_release_sees_the_os_python_modules_beside_its_slots(tmp_path: Path) -> None:
    """On the image, lgpio (gpiozero's pin backend) comes from Raspberry Pi OS, not a wheel: PyPI has
    it only as source. install-kiosk.sh links the OS's module into ``os-python/``, and each release's
    venv sees that folder, after its own packages. Here the OS's module is a stand-in file."""
    from ota.slots import OS_PYTHON, OS_PYTHON_PTH

    root = tmp_path / "opt"
    (root / OS_PYTHON).mkdir(parents=True)
    (root / OS_PYTHON / "os_pins.py").write_text("WHERE = 'os'\n")
    (root / OS_PYTHON / "kiosk_tiny.py").write_text("VERSION = 'from the os'\n")  # a wheel wins
    slots = Slots(root, tmp_path / "health", installer=VenvInstaller())
    manifest = slots.install(make_bundle(tmp_path / "bundles", "2.1.0"))
    slots.switch(manifest.version)
    python = root / "current" / "venv" / "bin" / "python"
    done = subprocess.run(
        [str(python), "-c", "import kiosk_tiny, os_pins; print(kiosk_tiny.VERSION, os_pins.WHERE)"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.split() == ["2.1.0", "os"]
    [pth] = (root / "releases" / "2.1.0" / "venv").rglob(OS_PYTHON_PTH)
    assert pth.read_text().strip() == str((root / OS_PYTHON).resolve())


@pytest.mark.slow
def test_without_an_os_python_folder_the_venv_has_no_path_file(tmp_path: Path) -> None:
    from ota.slots import OS_PYTHON_PTH

    slots = Slots(tmp_path / "opt", tmp_path / "health", installer=VenvInstaller())
    slots.install(make_bundle(tmp_path / "bundles", "2.2.0"))
    assert not list((tmp_path / "opt" / "releases" / "2.2.0" / "venv").rglob(OS_PYTHON_PTH))
