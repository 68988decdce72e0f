"""The layers the folders promise: drivers import nothing from the app, the pure core imports no driver.

Checked twice: by reading every ``import`` statement (also those inside functions), and by importing the
modules in a fresh interpreter and looking at what came along (which catches an import made through a
third module).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: the driver packages that take plain arguments (drivers/printer joins when its own change lands)
DRIVER_PACKAGES = ("camera", "gpio", "printer", "scanners")
APP_PACKAGES = ("kiosk", "hq")


def imported_names(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every import in ``path``; relative imports resolved within the package."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                found.append((node.lineno, ".".join([*base, node.module or ""]).rstrip(".")))
            else:
                found.append((node.lineno, node.module or ""))
    return found


def top(module: str) -> str:
    return module.split(".", 1)[0]


def driver_files() -> list[Path]:
    files = [p for pkg in DRIVER_PACKAGES for p in sorted((ROOT / "drivers" / pkg).rglob("*.py"))]
    assert files, "no driver modules found: the test would check nothing"
    return files


@pytest.mark.parametrize("path", driver_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_a_driver_imports_nothing_from_the_app(path: Path) -> None:
    bad = [f"line {line}: {name}" for line, name in imported_names(path) if top(name) in APP_PACKAGES]
    assert bad == [], f"{path.relative_to(ROOT)} imports the app; take plain arguments instead: {bad}"


def test_the_pure_core_imports_no_driver() -> None:
    files = sorted((ROOT / "kiosk" / "core").rglob("*.py"))
    assert files
    bad = [
        f"{p.relative_to(ROOT)} line {line}: {name}"
        for p in files
        for line, name in imported_names(p)
        if top(name) == "drivers"
    ]
    assert bad == []


def loaded_after_import(modules: list[str]) -> set[str]:
    """The top-level packages a fresh interpreter holds after importing ``modules``."""
    code = (
        "import importlib, json, sys\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module(m)\n"
        "print(json.dumps(sorted({n.split('.')[0] for n in sys.modules})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout))


def test_importing_the_drivers_brings_in_no_app_module() -> None:
    modules = [
        ".".join(p.relative_to(ROOT).with_suffix("").parts) for p in driver_files() if p.name != "__init__.py"
    ]
    loaded = loaded_after_import(modules)
    assert "drivers" in loaded  # the imports did run
    assert loaded.isdisjoint(APP_PACKAGES), sorted(loaded & set(APP_PACKAGES))


def test_importing_the_core_brings_in_no_driver() -> None:
    modules = [
        ".".join(p.relative_to(ROOT).with_suffix("").parts)
        for p in sorted((ROOT / "kiosk" / "core").glob("*.py"))
        if p.name != "__init__.py"
    ]
    loaded = loaded_after_import(modules)
    assert "kiosk" in loaded
    assert "drivers" not in loaded


def test_the_app_sees_the_drivers_types_under_its_own_names() -> None:
    """kiosk.ports re-exports what the drivers produce: one class, not two look-alikes."""
    from drivers.camera import types as camera_types
    from drivers.gpio import types as gpio_types
    from kiosk import ports

    assert ports.Decoded is camera_types.Decoded
    assert ports.Decoder is camera_types.Decoder
    assert ports.FrameSource is camera_types.FrameSource
    assert ports.Light is gpio_types.Light
