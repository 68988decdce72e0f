"""``ota release build`` and ``ota release publish`` for real, without the network.

The build makes the kiosk-appliance wheel from this checkout and has pip collect the dependencies
for the Pi from a local wheelhouse: the test fills it with tiny stand-in wheels, one per
requirement at the version constraints.txt pins (the real ones are hundreds of MB and need an
index). pip still resolves them against the pins for the aarch64 platform, which is what is tested.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from ota_fleet import stand_in_wheelhouse

from kiosk.store.migrations import LATEST
from ota import keys as keyfiles
from ota.bundle import read_manifest, sha256_file, unpack_bundle
from ota.cli import main
from ota.repo import Repository

_wheelhouse = stand_in_wheelhouse


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
