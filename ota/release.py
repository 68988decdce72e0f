"""Build a release bundle from this source tree, and publish one into the TUF repository.

``build`` makes the kiosk-appliance wheel from the checkout (``pip wheel --no-deps``, in a copy so
the checkout stays clean), then has pip collect every dependency as a binary wheel *for the kiosk*
(``pip download --only-binary=:all: --platform manylinux_2_17_aarch64 --python-version 3.11``),
held to the pins in ``constraints.txt``. ``--wheelhouse DIR`` makes pip take wheels only from that
folder (no index), for an offline build machine or a test. The wheels and a manifest go into one
tar (``ota.bundle``), whose path, size and SHA-256 the command prints.

``publish`` adds a bundle to the repository as target ``kiosk-<V>.tar`` with the custom metadata
the agent decides by (version, min_store_schema, channels), signed by the offline targets key, then
a new snapshot and timestamp with HQ's online keys. Publishing the same bundle to another channel
adds the channel; a different bundle under a published version is refused.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ota.bundle import (
    BundleError,
    Manifest,
    WheelFile,
    parse_version,
    read_manifest,
    sha256_file,
    target_name,
    write_bundle,
)
from ota.repo import Published, Repository

DEFAULT_PLATFORM = "manylinux_2_17_aarch64"
DEFAULT_PYTHON = "3.11"
#: the extras the kiosk installs: USB printers (the Pi's GPIO backend, lgpio, is the OS's: ADR 0016)
DEFAULT_EXTRAS = ("pi",)
_PLATFORM = re.compile(r"^[a-z0-9_]{3,64}$")
_MANYLINUX = re.compile(r"^manylinux_2_(\d+)_(\w+)$")
_PYTHON = re.compile(r"^3\.[0-9]{1,2}$")
_CHANNEL = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
#: folders of a checkout that a wheel build neither needs nor should see
_NOT_COPIED = shutil.ignore_patterns(
    ".git", ".venv", "venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", "tests", "bench"
)
PIP_TIMEOUT_S = 1800


class ReleaseError(Exception):
    """The build or the publish cannot go on; the message says why and what to do."""


def source_tree() -> Path:
    """The checkout this ``ota`` runs from (the folder with pyproject.toml above the package)."""
    root = Path(__file__).resolve().parents[1]
    if not (root / "pyproject.toml").is_file():
        raise ReleaseError(f"{root} is not a source checkout (no pyproject.toml): give --source")
    return root


def newest_store_schema() -> int:
    """The number of the newest kiosk store migration this source ships (the release's minimum)."""
    from kiosk.store.migrations import LATEST

    return LATEST


@dataclass(frozen=True, slots=True)
class Built:
    path: Path
    size: int
    sha256: str
    manifest: Manifest


def _pip(args: Sequence[str], cwd: Path, only_given: bool = False) -> None:
    """Run pip; ``only_given``: without the machine's pip configuration (its indexes, find-links and
    global constraints), so a ``--wheelhouse`` build sees that folder and constraints.txt only."""
    argv = [sys.executable, "-m", "pip", *args]
    env = dict(os.environ)
    if only_given:
        env["PIP_CONFIG_FILE"] = os.devnull
        for name in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_CONSTRAINT"):
            env.pop(name, None)
    try:
        result = subprocess.run(
            argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=PIP_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        raise ReleaseError(f"pip {args[0]} took longer than {PIP_TIMEOUT_S} s") from None
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip()[-3000:]
        raise ReleaseError(f"pip {args[0]} failed:\n{tail}")


def pip_platforms(platform: str) -> list[str]:
    """The ``--platform`` values for pip: a ``manylinux_2_N_ARCH`` machine runs every wheel built for
    glibc 2.N or older, but ``pip download --platform`` takes only the tags it is given (it does not
    count down as ``pip install`` does). With the pins of constraints.txt that matters: Kivy ships
    ``manylinux_2_17`` wheels and numpy, OpenCV and zxing-cpp only ``manylinux_2_27/2_28`` ones, so
    no single tag finds them all. Other tags are passed as they are."""
    match = _MANYLINUX.match(platform)
    if match is None:
        return [platform]
    newest, arch = int(match.group(1)), match.group(2)
    tags = [f"manylinux_2_{n}_{arch}" for n in range(newest, 16, -1)]
    if newest >= 17:
        tags.append(f"manylinux2014_{arch}")
    return tags


def _python_tag(python: str) -> str:
    return "cp" + python.replace(".", "")


def build(
    version: str,
    out: Path,
    platform: str = DEFAULT_PLATFORM,
    python: str = DEFAULT_PYTHON,
    wheelhouse: Path | None = None,
    source: Path | None = None,
    constraints: Path | None = None,
    extras: Sequence[str] = DEFAULT_EXTRAS,
    now: datetime | None = None,
) -> Built:
    """Build ``out/kiosk-<version>.tar`` (see the module's docstring)."""
    parsed = parse_version(version)
    if not _PLATFORM.match(platform):
        raise ReleaseError(f"{platform!r} is not a wheel platform tag such as {DEFAULT_PLATFORM}")
    if not _PYTHON.match(python):
        raise ReleaseError(f"{python!r} is not a Python version such as {DEFAULT_PYTHON}")
    src = source if source is not None else source_tree()
    pins = constraints if constraints is not None else src / "constraints.txt"
    if not pins.is_file():
        raise ReleaseError(f"{pins} does not exist: the pinned dependencies are what makes a release")
    if wheelhouse is not None and not wheelhouse.is_dir():
        raise ReleaseError(f"the wheelhouse {wheelhouse} is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    bundle_path = out / target_name(version)
    if bundle_path.exists():
        raise ReleaseError(f"{bundle_path} exists; a built release is never overwritten")
    with tempfile.TemporaryDirectory(prefix="ota-build-") as tmp_name:
        tmp = Path(tmp_name)
        copy, wheels = tmp / "src", tmp / "wheels"
        shutil.copytree(src, copy, ignore=_NOT_COPIED, symlinks=True)
        wheels.mkdir()
        _pip(["wheel", "--no-deps", "-q", "-w", str(wheels), "."], copy)
        built = list(wheels.glob("kiosk_appliance-*.whl"))
        if len(built) != 1:
            raise ReleaseError(f"pip wheel made {len(built)} kiosk-appliance wheels, not one")
        app = built[0]
        app_version = app.name.split("-")[1]
        if parse_version(app_version) != parsed:
            raise ReleaseError(
                f"the source is version {app_version} (pyproject.toml), not {version}: set the version "
                "there (and in kiosk/__init__.py) first, so the kiosk reports what it runs"
            )
        requirement = f"{app}[{','.join(extras)}]" if extras else str(app)
        download = ["download", "--only-binary=:all:", "--python-version", python]
        for tag in pip_platforms(platform):
            download += ["--platform", tag]
        download += ["--implementation", "cp", "-c", str(pins), "-d", str(wheels), "-q"]
        if wheelhouse is not None:
            download += ["--no-index", "--find-links", str(wheelhouse)]
        _pip([*download, requirement], copy, only_given=wheelhouse is not None)
        files = sorted(wheels.glob("*.whl"))
        manifest = Manifest(
            version=str(parsed),
            min_store_schema=newest_store_schema(),
            python=_python_tag(python),
            platform=platform,
            app=app.name,
            wheels=tuple(WheelFile(w.name, sha256_file(w), w.stat().st_size) for w in files),
            built_at=(now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
        write_bundle(bundle_path, manifest, wheels)
    return Built(bundle_path, bundle_path.stat().st_size, sha256_file(bundle_path), manifest)


def publish(
    version: str,
    channel: str,
    bundle: Path,
    repo: Repository,
    key_folders: Sequence[Path],
    now: datetime | None = None,
) -> Published:
    """Sign ``bundle`` into ``repo`` as release ``version`` on ``channel`` (added to earlier ones)."""
    if not _CHANNEL.match(channel):
        raise ReleaseError(f"{channel!r} is not a channel name (lower-case letters, digits, -), e.g. stable")
    try:
        manifest = read_manifest(bundle)
    except BundleError as exc:
        raise ReleaseError(str(exc)) from None
    if parse_version(manifest.version) != parse_version(version):
        raise ReleaseError(f"{bundle.name} holds release {manifest.version}, not {version}")
    name = target_name(version)
    published = repo.targets().signed.targets.get(name)
    channels: list[str] = []
    if published is not None and isinstance(published.custom, dict):
        channels = [c for c in published.custom.get("channels", []) if isinstance(c, str)]
    if channel not in channels:
        channels.append(channel)
    custom = {
        "version": str(parse_version(version)),
        "min_store_schema": manifest.min_store_schema,
        "channels": channels,
    }
    return repo.add_target(bundle, name, custom, key_folders, now)


def bundle_summary(built: Built) -> str:
    size_mb = built.size / 1_000_000
    return f"{built.path}\n{built.size} bytes ({size_mb:.1f} MB)\nsha256 {built.sha256}"
