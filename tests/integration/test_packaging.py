"""The defaults ship as package data: an installed wheel loads its settings outside a checkout.

Before, ``kiosk.settings`` read ``<repo>/config/kiosk.toml``; installed from a wheel there is no
``<repo>``, so the kiosk and HQ found no defaults. This builds the wheel, installs it into a bare
folder, and loads the settings from there with the checkout out of reach.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from kiosk.settings import default_config_path
from kiosk_common.settings import read_toml

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "config"
VENV = Path(sys.prefix)

#: run in the child, from a folder that is not the checkout, with only the installed wheel and the
#: virtualenv's dependencies on its path
PROBE = """
import json, sys
import hq, kiosk
from hq.settings import load_settings as load_hq
from kiosk.core.receipt import ReceiptTemplate
from kiosk.settings import default_config_path, load_settings

s = load_settings()
h = load_hq()
ReceiptTemplate.load(s.receipt_template_path)
print(json.dumps({
    "kiosk": kiosk.__file__, "hq": hq.__file__, "defaults": str(default_config_path()),
    "template": str(s.receipt_template_path), "language": s.kiosk.language,
    "hq_port": h.server.port, "path": sys.path,
}))
"""


def _run(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=180, check=False)
    assert result.returncode == 0, f"{argv[:4]} failed:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.mark.slow
def test_an_installed_wheel_loads_its_defaults_outside_the_checkout(tmp_path: Path) -> None:
    # Build from a copy: setuptools writes build/ and *.egg-info into the folder it builds, and
    # the checkout is not the test's to litter. config/ is left out, to prove nothing needs it.
    src = tmp_path / "src"
    shutil.copytree(REPO, src, ignore=_ignore)
    pip_env = dict(os.environ)
    wheels, target, elsewhere = tmp_path / "wheels", tmp_path / "installed", tmp_path / "elsewhere"
    elsewhere.mkdir()
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), "."], src, pip_env)
    (wheel,) = wheels.glob("kiosk_appliance-*.whl")
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-index",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        elsewhere,
        pip_env,
    )
    # -S: no site module, so the checkout's editable install (a .pth hook) is not on the path either
    deps = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    child_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(elsewhere),
        "PYTHONPATH": os.pathsep.join([str(target), *deps]),
    }
    result = _run([sys.executable, "-S", "-c", PROBE], elsewhere, child_env)
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    for name in ("kiosk", "hq", "defaults", "template"):
        assert Path(seen[name]).is_relative_to(target), (name, seen[name])
    checkout = [p for p in map(Path, seen["path"]) if p.is_relative_to(REPO) and not p.is_relative_to(VENV)]
    assert checkout == []  # only the dependencies' site-packages, which may sit in the checkout's .venv
    assert (seen["language"], seen["hq_port"]) == ("zh_CN", 8080)
    assert Path(seen["defaults"]).read_bytes() == default_config_path().read_bytes()


def _ignore(folder: str, names: list[str]) -> set[str]:
    skip = {".git", ".venv", "build", "dist", "demo-out", "__pycache__", "tests", "bench", "config"}
    return {n for n in names if n in skip or n.endswith((".egg-info", "_cache"))}


def test_the_defaults_are_one_copy() -> None:
    """config/ holds examples only: a second copy of the defaults there would drift."""
    assert sorted(p.name for p in CONFIG.glob("*.toml")) == [
        "hq.example.toml",
        "kiosk.example.toml",
        "receipt.example.toml",
    ]


def test_the_examples_load(tmp_path: Path) -> None:
    """Each example is a valid override as shipped, so copying it is a working start."""
    from hq.settings import load_settings as load_hq
    from kiosk.core.receipt import ReceiptTemplate
    from kiosk.settings import load_settings

    assert load_settings(CONFIG / "kiosk.example.toml", environ={}).kiosk.id == "kiosk-001"
    assert load_hq(CONFIG / "hq.example.toml", environ={}).server.port == 8080
    assert "${kiosk_id}" in ReceiptTemplate.load(CONFIG / "receipt.example.toml").header
    assert read_toml(default_config_path())["receipt"]["template"] == "receipt.toml"
