"""Release bundles for the agent's tests: a real (tiny) wheel, a bundle around it, a fast installer.

``tiny_wheel`` writes a valid pure-Python wheel (one module, ``kiosk_tiny``, whose ``VERSION`` is the
release), so the one integration test that really builds a venv can ``pip install`` it offline.
``FakeInstaller`` builds the slot's ``venv/`` as a plain folder (with a ``behaviour`` file the fake
kiosk process reads), so the other tests need not spend seconds on venvs.
"""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

from ota.bundle import Manifest, WheelFile, sha256_file, target_name, write_bundle

APP = "kiosk_tiny"


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def tiny_wheel(folder: Path, version: str) -> Path:
    """A valid pure-Python wheel ``kiosk_tiny-<version>-py3-none-any.whl`` in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    dist = f"{APP}-{version}.dist-info"
    files = {
        f"{APP}.py": f'VERSION = "{version}"\n'.encode(),
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {APP}\nVersion: {version}\n".encode(),
        f"{dist}/WHEEL": b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "".join(f"{name},{_record_hash(data)},{len(data)}\n" for name, data in files.items())
    record += f"{dist}/RECORD,,\n"
    path = folder / f"{APP}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(zipfile.ZipInfo(name, (2026, 1, 1, 0, 0, 0)), data)
        zf.writestr(zipfile.ZipInfo(f"{dist}/RECORD", (2026, 1, 1, 0, 0, 0)), record)
    return path


def make_bundle(folder: Path, version: str, min_store_schema: int = 6) -> Path:
    """A release bundle of ``version`` (the tiny wheel as its app) in ``folder``."""
    wheels = folder / f"wheels-{version}"
    wheel = tiny_wheel(wheels, version)
    manifest = Manifest(
        version=version,
        min_store_schema=min_store_schema,
        python="cp311",
        platform="any",
        app=wheel.name,
        wheels=(WheelFile(wheel.name, sha256_file(wheel), wheel.stat().st_size),),
        built_at="2026-12-02T00:00:00Z",
    )
    return write_bundle(folder / target_name(version), manifest, wheels)


class FakeInstaller:
    """Builds ``slot/venv`` as a folder holding ``behaviour`` (``ok`` or what ``behaviours`` says for
    the version: ``crash`` makes the fake kiosk exit without health). Records what it installed."""

    def __init__(self, behaviours: dict[str, str] | None = None) -> None:
        self.behaviours = behaviours or {}
        self.installed: list[str] = []

    def __call__(self, slot: Path, manifest: Manifest) -> None:
        venv = slot / "venv"
        venv.mkdir()
        (venv / "behaviour").write_text(self.behaviours.get(manifest.version, "ok"), encoding="utf-8")
        self.installed.append(manifest.version)


class AppInstaller:
    """Builds ``slot/venv`` with an entry point ``venv/bin/app`` (a shell script, so it starts in
    milliseconds): ``app HEALTH_DIR`` writes ``HEALTH_DIR/<V>.ok`` and prints ``<V>``, as a good
    release does once it is up; a version listed in ``broken`` gets an app that exits 3 at once
    and never writes its health file. Files are written plainly: ``Slots.install`` fsyncs them."""

    def __init__(self, broken: frozenset[str] = frozenset()) -> None:
        self.broken = broken

    def __call__(self, slot: Path, manifest: Manifest) -> None:
        version = manifest.version
        bin_dir = slot / "venv" / "bin"
        bin_dir.mkdir(parents=True)
        (slot / "venv" / "pyvenv.cfg").write_text("include-system-site-packages = false\n", encoding="utf-8")
        if version in self.broken:
            body = f'echo "release {version} cannot start" >&2\nexit 3\n'
        else:
            body = f'if [ -n "$1" ]; then mkdir -p "$1" && echo ok > "$1/{version}.ok"; fi\necho {version}\n'
        app = bin_dir / "app"
        app.write_text(f"#!/bin/sh\n# release {version}\n{body}", encoding="utf-8")
        app.chmod(0o755)
