"""``ota release build`` and ``ota release publish`` for real, without the network.

The build makes the kiosk-appliance wheel from this checkout and has pip collect the dependencies
for the Pi from a local wheelhouse: the test fills it with tiny stand-in wheels, one per
requirement at the version constraints.txt pins (the real ones are hundreds of MB and need an
index). pip still resolves them against the pins for the aarch64 platform, which is what is tested.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import re
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from kiosk.store.migrations import LATEST
from ota import keys as keyfiles
from ota.bundle import read_manifest, sha256_file, unpack_bundle
from ota.cli import main
from ota.repo import Repository

REPO = Path(__file__).resolve().parents[2]


def _pins() -> dict[str, str]:
    pins = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        name, sep, version = line.split("#")[0].strip().partition("==")
        if sep:
            pins[canonicalize_name(name)] = version.strip()
    return pins


def _tiny_wheel(folder: Path, name: str, version: str) -> None:
    """A valid, empty py3-none-any wheel for ``name`` ``version`` with no dependencies."""
    dist = re.sub(r"[-_.]+", "_", name)
    info = f"{dist}-{version}.dist-info"
    files = {
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    record.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = "\n".join(record) + "\n"
    with zipfile.ZipFile(folder / f"{dist}-{version}-py3-none-any.whl", "w") as whl:
        for path, text in files.items():
            whl.writestr(path, text)


def _wheelhouse(folder: Path) -> set[str]:
    """Stand-ins for every requirement of kiosk-appliance[pi]; the wheel file names made."""
    folder.mkdir()
    pins = _pins()
    for line in importlib.metadata.requires("kiosk-appliance") or []:
        req = Requirement(line)
        if req.marker is not None and not req.marker.evaluate({"extra": "pi"}):
            continue
        _tiny_wheel(folder, req.name, pins[canonicalize_name(req.name)])
    return {p.name for p in folder.iterdir()}


@pytest.mark.slow
def test_build_then_publish_a_release_from_a_local_wheelhouse(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stand_ins = _wheelhouse(tmp_path / "wheelhouse")
    out = tmp_path / "out"
    code = main(
        [
            "release",
            "build",
            "--version",
            "0.1.0",
            "--wheelhouse",
            str(tmp_path / "wheelhouse"),
            "--out",
            str(out),
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    bundle = out / "kiosk-0.1.0.tar"
    path, size, digest = captured.out.strip().splitlines()
    assert path == str(bundle)
    assert size.startswith(f"{bundle.stat().st_size} bytes")
    assert digest == f"sha256 {sha256_file(bundle)}"
    manifest = read_manifest(bundle)
    assert manifest.version == "0.1.0"
    assert manifest.min_store_schema == LATEST
    assert (manifest.python, manifest.platform) == ("cp311", "manylinux_2_17_aarch64")
    assert manifest.app == "kiosk_appliance-0.1.0-py3-none-any.whl"
    assert {w.name for w in manifest.wheels} == stand_ins | {manifest.app}
    unpack_bundle(bundle, tmp_path / "unpacked")

    keys = tmp_path / "keys"
    keyfiles.init_keys(keys)
    repo_dir = tmp_path / "tuf"
    Repository.create(repo_dir, [keys])
    publish = [
        "release",
        "publish",
        "0.1.0",
        "--bundle",
        str(bundle),
        "--repo",
        str(repo_dir),
        "--keys",
        str(keys),
    ]
    assert main([*publish, "--channel", "beta"]) == 0
    assert main([*publish, "--channel", "stable"]) == 0
    info = Repository.open(repo_dir).targets().signed.targets["kiosk-0.1.0.tar"]
    assert info.custom == {"version": "0.1.0", "min_store_schema": LATEST, "channels": ["beta", "stable"]}
    assert info.hashes["sha256"] == sha256_file(bundle)
    assert (repo_dir / "targets" / f"{sha256_file(bundle)}.kiosk-0.1.0.tar").is_file()
    # a bundle is published only under the version it holds
    assert main([*publish[:2], "0.2.0", *publish[3:], "--channel", "beta"]) == 1


@pytest.mark.slow
def test_build_refuses_a_version_other_than_the_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "wheelhouse").mkdir()
    code = main(
        [
            "release",
            "build",
            "--version",
            "9.9.9",
            "--wheelhouse",
            str(tmp_path / "wheelhouse"),
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 1
    assert "not 9.9.9" in capsys.readouterr().err
    assert not (tmp_path / "kiosk-9.9.9.tar").exists()
