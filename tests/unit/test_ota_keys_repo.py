"""``ota keys`` and ``ota repo`` on disk: key files and their modes, refusals, what publishing writes."""

from __future__ import annotations

import stat
from datetime import timedelta
from pathlib import Path

import pytest

from ota import keys as keyfiles
from ota.cli import main
from ota.repo import RepoError, Repository, utc_now


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_keys_init_makes_four_private_keys_0600_in_a_0700_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "keys"
    assert main(["keys", "init", "--dir", str(folder)]) == 0
    assert _mode(folder) == 0o700
    assert sorted(p.name for p in folder.iterdir()) == [
        "root.pem",
        "snapshot.pem",
        "targets.pem",
        "timestamp.pem",
    ]
    for path in folder.iterdir():
        assert _mode(path) == 0o600
        assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
        keyfiles.load_signer(path)
    err = capsys.readouterr().err
    assert "OFFLINE" in err and "root.pem, targets.pem" in err
    assert "ONLINE" in err and "snapshot.pem, timestamp.pem" in err


def test_keys_init_refuses_to_overwrite_keys(tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    keyfiles.init_keys(folder)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert main(["keys", "init", "--dir", str(folder)]) == 2
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_repo_init_lays_out_consistent_snapshot_metadata(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keyfiles.init_keys(keys)
    assert main(["repo", "init", "--keys", str(keys), "--repo", str(tmp_path / "tuf")]) == 0
    names = sorted(p.name for p in (tmp_path / "tuf" / "metadata").iterdir())
    assert names == ["1.root.json", "1.snapshot.json", "1.targets.json", "timestamp.json"]
    repo = Repository.open(tmp_path / "tuf")
    assert repo.root().signed.consistent_snapshot
    with pytest.raises(RepoError):
        Repository.create(tmp_path / "tuf", [keys])


def test_signing_with_a_key_root_does_not_trust_is_refused_before_anything_is_written(
    tmp_path: Path,
) -> None:
    keys, other = tmp_path / "keys", tmp_path / "other"
    keyfiles.init_keys(keys)
    keyfiles.init_keys(other)
    repo = Repository.create(tmp_path / "tuf", [keys])
    before = sorted(p.name for p in repo.metadata_dir.iterdir())
    bundle = tmp_path / "b.tar"
    bundle.write_bytes(b"bundle")
    with pytest.raises(keyfiles.KeyFileError, match="not the targets key"):
        repo.add_target(bundle, "kiosk-1.0.0.tar", {}, [other])
    assert sorted(p.name for p in repo.metadata_dir.iterdir()) == before
    assert not any(repo.targets_dir.iterdir())


def test_publishing_other_bytes_under_a_published_name_is_refused(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keyfiles.init_keys(keys)
    repo = Repository.create(tmp_path / "tuf", [keys])
    first, second = tmp_path / "a.tar", tmp_path / "b.tar"
    first.write_bytes(b"one")
    second.write_bytes(b"two")
    done = repo.add_target(first, "kiosk-1.0.0.tar", {"channels": ["beta"]}, [keys])
    assert done.path.name == f"{done.sha256}.kiosk-1.0.0.tar"
    assert (done.targets_version, done.snapshot_version, done.timestamp_version) == (2, 2, 2)
    with pytest.raises(RepoError, match="never replaced"):
        repo.add_target(second, "kiosk-1.0.0.tar", {"channels": ["beta"]}, [keys])
    again = repo.add_target(first, "kiosk-1.0.0.tar", {"channels": ["beta", "stable"]}, [keys])
    assert again.targets_version == 3
    assert repo.targets().signed.targets["kiosk-1.0.0.tar"].custom == {"channels": ["beta", "stable"]}


def test_refresh_timestamp_needs_only_the_online_keys(tmp_path: Path) -> None:
    keys, online = tmp_path / "keys", tmp_path / "online"
    keyfiles.init_keys(keys)
    repo = Repository.create(tmp_path / "tuf", [keys])
    online.mkdir(mode=0o700)
    for role in keyfiles.ONLINE_ROLES:
        (keys / f"{role}.pem").rename(online / f"{role}.pem")
    at = utc_now()
    assert repo.refresh_timestamp([online], now=at) == (1, 2)
    # less than half the snapshot's 7 days left: the snapshot is signed again too
    assert repo.refresh_timestamp([online], now=at + timedelta(days=4)) == (2, 3)
    with pytest.raises(keyfiles.KeyFileError, match="no targets key"):
        repo.renew_targets([online])


def test_rotate_root_refuses_a_half_done_rotation(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keyfiles.init_keys(keys)
    repo = Repository.create(tmp_path / "tuf", [keys])
    (keys / "root.new.pem").write_bytes(b"left over")
    with pytest.raises(RepoError, match="half-done"):
        repo.rotate_root(keys)
    assert not (repo.metadata_dir / "2.root.json").exists()


def test_a_second_writer_is_refused_while_the_repository_is_being_changed(tmp_path: Path) -> None:
    """HQ's timer and an admin's publish at the same moment would each sign "the next" timestamp
    over different snapshots; the second is refused instead and changes nothing."""
    keys = tmp_path / "keys"
    keyfiles.init_keys(keys)
    repo = Repository.create(tmp_path / "tuf", [keys])
    stamp = (repo.metadata_dir / "timestamp.json").read_bytes()
    with Repository.open(tmp_path / "tuf").lock(), pytest.raises(RepoError, match="right now"):
        repo.refresh_timestamp([keys])
    assert (repo.metadata_dir / "timestamp.json").read_bytes() == stamp
    assert repo.refresh_timestamp([keys]) == (1, 2)
