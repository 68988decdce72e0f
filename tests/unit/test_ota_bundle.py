"""Release bundles: the manifest round-trips, and unpacking refuses anything a build did not make."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from ota.bundle import (
    BundleError,
    Manifest,
    WheelFile,
    read_manifest,
    sha256_file,
    target_name,
    unpack_bundle,
    write_bundle,
)


def _wheels(tmp_path: Path) -> tuple[Path, Manifest]:
    folder = tmp_path / "wheels"
    folder.mkdir()
    files = []
    for name, body in (
        ("kiosk_appliance-1.2.0-py3-none-any.whl", b"app" * 100),
        ("dep-1.0-py3-none-any.whl", b"d"),
    ):
        (folder / name).write_bytes(body)
        files.append(WheelFile(name, sha256_file(folder / name), len(body)))
    manifest = Manifest(
        version="1.2.0",
        min_store_schema=6,
        python="cp311",
        platform="manylinux_2_17_aarch64",
        app=files[0].name,
        wheels=tuple(files),
        built_at="2026-12-02T00:00:00Z",
    )
    return folder, manifest


def test_a_bundle_round_trips_and_unpacks_with_every_wheel_checked(tmp_path: Path) -> None:
    folder, manifest = _wheels(tmp_path)
    bundle = write_bundle(tmp_path / target_name("1.2.0"), manifest, folder)
    assert bundle.name == "kiosk-1.2.0.tar"
    assert read_manifest(bundle) == manifest
    assert unpack_bundle(bundle, tmp_path / "slot") == manifest
    assert sorted(p.name for p in (tmp_path / "slot" / "wheels").iterdir()) == sorted(
        w.name for w in manifest.wheels
    )


def _tamper(bundle: Path, out: Path, extra: tarfile.TarInfo | None = None, body: bytes = b"") -> Path:
    with tarfile.open(bundle) as src, tarfile.open(out, "w:") as dst:
        for member in src:
            handle = src.extractfile(member)
            data = handle.read() if handle else b""
            if member.name.endswith("dep-1.0-py3-none-any.whl") and extra is None:
                data = b"X"  # same size, other bytes
            member.size = len(data)
            dst.addfile(member, io.BytesIO(data))
        if extra is not None:
            dst.addfile(extra, io.BytesIO(body))
    return out


def test_a_changed_wheel_a_link_or_a_path_outside_is_refused(tmp_path: Path) -> None:
    folder, manifest = _wheels(tmp_path)
    bundle = write_bundle(tmp_path / "b.tar", manifest, folder)
    with pytest.raises(BundleError, match="checksum"):
        unpack_bundle(_tamper(bundle, tmp_path / "changed.tar"), tmp_path / "s1")
    link = tarfile.TarInfo("wheels/evil.whl")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    with pytest.raises(BundleError, match="unexpected entry"):
        unpack_bundle(_tamper(bundle, tmp_path / "link.tar", link), tmp_path / "s2")
    outside = tarfile.TarInfo("../x.whl")
    outside.size = 1
    with pytest.raises(BundleError, match="unexpected entry"):
        unpack_bundle(_tamper(bundle, tmp_path / "outside.tar", outside, b"x"), tmp_path / "s3")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"version": "not a version"}, "not a release version"),
        ({"min_store_schema": 0}, "min_store_schema"),
        ({"app": "other-1.0-py3-none-any.whl"}, "app wheel"),
        ({"format": 2}, "format"),
        ({"wheels": []}, "no wheels"),
    ],
)
def test_a_bad_manifest_says_what_is_wrong(tmp_path: Path, change: dict[str, object], message: str) -> None:
    _, manifest = _wheels(tmp_path)
    import json

    data = json.loads(manifest.to_json()) | change
    with pytest.raises(BundleError, match=message):
        Manifest.from_json(json.dumps(data))


@pytest.mark.parametrize(
    ("platform", "expected"),
    [
        (
            "manylinux_2_28_aarch64",
            [f"manylinux_2_{n}_aarch64" for n in range(28, 16, -1)] + ["manylinux2014_aarch64"],
        ),
        ("manylinux_2_17_x86_64", ["manylinux_2_17_x86_64", "manylinux2014_x86_64"]),
        ("linux_aarch64", ["linux_aarch64"]),
        ("any", ["any"]),
    ],
)
def test_a_glibc_platform_takes_wheels_for_every_older_glibc(platform: str, expected: list[str]) -> None:
    """pip download --platform takes only the tags given; Kivy's wheels are manylinux_2_17 and
    numpy's manylinux_2_28, so a Pi bundle needs both (it found neither set whole before)."""
    from ota.release import pip_platforms

    assert pip_platforms(platform) == expected
