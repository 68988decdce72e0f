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
