"""A release bundle: one tar file with the kiosk's wheels and a manifest that names and checksums them.

The bundle is the one TUF target a release publishes (``target_name``); TUF proves the tar is the
one HQ's targets key signed, and the manifest inside then proves each wheel. The agent unpacks a
bundle only through ``unpack_bundle``, which refuses anything but a manifest and wheels (no links, no
absolute or ``..`` paths, no surprise files) and checks every wheel's size and SHA-256 before a slot
is built from it.

Layout of the tar::

    manifest.json
    wheels/<name>.whl    (the kiosk-appliance wheel and every pinned dependency)
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import tarfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from packaging.version import InvalidVersion, Version

MANIFEST = "manifest.json"
WHEELS = "wheels"
#: the manifest format this code writes and reads
FORMAT = 1
#: the largest manifest read (a release has tens of wheels, not thousands)
MAX_MANIFEST_BYTES = 1_000_000
_WHEEL_NAME = re.compile(r"^[A-Za-z0-9_.+!-]+\.whl$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class BundleError(ValueError):
    """The bundle or its manifest is not one a release build made; the message says what is wrong."""


@dataclass(frozen=True, slots=True)
class WheelFile:
    name: str
    sha256: str
    size: int


@dataclass(frozen=True, slots=True)
class Manifest:
    """What a release is: ``version`` (PEP 440), the kiosk store schema it needs at least
    (``min_store_schema``, the number of the newest store migration it ships), the Python and wheel
    platform it was built for, the app's own wheel (``app``) and every wheel with its checksum."""

    version: str
    min_store_schema: int
    python: str
    platform: str
    app: str
    wheels: tuple[WheelFile, ...]
    built_at: str
    format: int = FORMAT

    def to_json(self) -> str:
        data = asdict(self)
        data["wheels"] = [asdict(w) for w in self.wheels]
        return json.dumps(data, indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes) -> Manifest:
        try:
            data = json.loads(text)
        except (ValueError, UnicodeDecodeError) as exc:
            raise BundleError(f"the manifest is not JSON: {exc}") from None
        if not isinstance(data, Mapping):
            raise BundleError("the manifest must be a JSON object")
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Manifest:
        if data.get("format") != FORMAT:
            raise BundleError(f"manifest format {data.get('format')!r} is not {FORMAT}: build it again")
        version = _str(data, "version")
        parse_version(version)
        schema = data.get("min_store_schema")
        if not isinstance(schema, int) or isinstance(schema, bool) or schema < 1:
            raise BundleError("min_store_schema must be a whole number of at least 1")
        raw_wheels = data.get("wheels")
        if not isinstance(raw_wheels, list) or not raw_wheels:
            raise BundleError("the manifest lists no wheels")
        wheels = tuple(_wheel(w) for w in raw_wheels)
        names = [w.name for w in wheels]
        if len(set(names)) != len(names):
            raise BundleError("the manifest lists a wheel twice")
        app = _str(data, "app")
        if app not in names:
            raise BundleError(f"the app wheel {app} is not among the bundle's wheels")
        return cls(
            version=version,
            min_store_schema=schema,
            python=_str(data, "python"),
            platform=_str(data, "platform"),
            app=app,
            wheels=wheels,
            built_at=_str(data, "built_at"),
        )


def _str(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value or len(value) > 200:
        raise BundleError(f"the manifest's {key} must be a short non-empty string")
    return value


def _wheel(raw: object) -> WheelFile:
    if not isinstance(raw, Mapping):
        raise BundleError("each wheel entry must be an object with name, sha256 and size")
    name, digest, size = raw.get("name"), raw.get("sha256"), raw.get("size")
    if not isinstance(name, str) or not _WHEEL_NAME.match(name):
        raise BundleError(f"{name!r} is not a wheel file name")
    if not isinstance(digest, str) or not _HEX64.match(digest):
        raise BundleError(f"wheel {name}: sha256 must be 64 lower-case hex digits")
    if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
        raise BundleError(f"wheel {name}: size must be a positive whole number")
    return WheelFile(name, digest, size)


def parse_version(text: str) -> Version:
    """A release version (PEP 440, e.g. ``1.4.0``); BundleError when it is not one."""
    try:
        return Version(text)
    except InvalidVersion:
        raise BundleError(f"{text!r} is not a release version such as 1.4.0") from None


def target_name(version: str) -> str:
    """The TUF target name of a release's bundle."""
    return f"kiosk-{parse_version(version)}.tar"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(bundle: Path) -> Manifest:
    """The manifest of a bundle, validated, without unpacking anything else."""
    try:
        with tarfile.open(bundle, "r:") as tar:
            member = tar.getmember(MANIFEST)
            if not member.isfile() or member.size > MAX_MANIFEST_BYTES:
                raise BundleError(f"{MANIFEST} in {bundle.name} is not a small regular file")
            handle = tar.extractfile(member)
            assert handle is not None  # a regular file always has one
            return Manifest.from_json(handle.read())
    except KeyError:
        raise BundleError(f"{bundle.name} has no {MANIFEST}: not a release bundle") from None
    except (tarfile.TarError, OSError) as exc:
        raise BundleError(f"{bundle.name} cannot be read as a release bundle: {exc}") from None


def unpack_bundle(bundle: Path, into: Path) -> Manifest:
    """Unpack ``bundle`` into the empty folder ``into`` and check every wheel against the manifest.

    Only ``manifest.json`` and ``wheels/*.whl`` regular files are taken; anything else in the tar
    (links, devices, other paths, wheels the manifest does not list) refuses the whole bundle.
    """
    manifest = read_manifest(bundle)
    expected = {w.name: w for w in manifest.wheels}
    into.mkdir(parents=True, exist_ok=True)
    if any(into.iterdir()):
        raise BundleError(f"{into} is not empty: a bundle is unpacked into a fresh folder only")
    (into / WHEELS).mkdir()
    seen: set[str] = set()
    try:
        with tarfile.open(bundle, "r:") as tar:
            for member in tar:
                path = PurePosixPath(member.name)
                if member.name == MANIFEST:
                    continue
                if (
                    not member.isfile()
                    or path.is_absolute()
                    or len(path.parts) != 2
                    or path.parts[0] != WHEELS
                    or path.name not in expected
                    or path.name in seen
                ):
                    raise BundleError(f"{bundle.name}: unexpected entry {member.name!r}")
                wheel = expected[path.name]
                if member.size != wheel.size:
                    raise BundleError(f"{wheel.name}: {member.size} bytes, the manifest says {wheel.size}")
                handle = tar.extractfile(member)
                assert handle is not None
                digest = hashlib.sha256()
                target = into / WHEELS / wheel.name
                with target.open("xb") as out:
                    while block := handle.read(1 << 20):
                        digest.update(block)
                        out.write(block)
                if digest.hexdigest() != wheel.sha256:
                    raise BundleError(f"{wheel.name}: checksum does not match the manifest")
                seen.add(wheel.name)
    except (tarfile.TarError, OSError) as exc:
        raise BundleError(f"{bundle.name} cannot be unpacked: {exc}") from None
    missing = sorted(set(expected) - seen)
    if missing:
        raise BundleError(f"{bundle.name} lacks wheels its manifest lists: {', '.join(missing)}")
    (into / MANIFEST).write_text(manifest.to_json(), encoding="utf-8")
    return manifest


def write_bundle(out: Path, manifest: Manifest, wheel_dir: Path) -> Path:
    """Write the tar for ``manifest`` from the wheels in ``wheel_dir`` (each checked first)."""
    for wheel in manifest.wheels:
        path = wheel_dir / wheel.name
        if not path.is_file() or path.stat().st_size != wheel.size or sha256_file(path) != wheel.sha256:
            raise BundleError(f"{path} is missing or differs from the manifest")
    tmp = out.with_name(f".{out.name}.part")
    with tarfile.open(tmp, "w:", format=tarfile.PAX_FORMAT) as tar:
        data = manifest.to_json().encode("utf-8")
        info = tarfile.TarInfo(MANIFEST)
        info.size, info.mode = len(data), 0o644
        tar.addfile(info, io.BytesIO(data))
        for wheel in manifest.wheels:
            tar.add(wheel_dir / wheel.name, arcname=f"{WHEELS}/{wheel.name}", recursive=False)
    tmp.replace(out)
    return out
