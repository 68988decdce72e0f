"""Signed updates through a real HQ on 127.0.0.1: the repository ``ota`` writes, HQ serves, and the
update code the agent and ``ota tuf-client`` share (``ota.updater``), attack by attack.

The test plays the attacker by changing the files HQ serves (as one who broke into HQ, or runs a
mirror, could); the client must refuse every change the offline keys did not sign.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from hq_fixtures import LiveHq, running_hq, sqlite_url
from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import Metadata, MetaFile, Root, Snapshot, TargetFile, Targets, Timestamp
from tuf.api.serialization.json import JSONSerializer

from ota import keys as keyfiles
from ota.repo import EXPIRY, Repository, utc_now
from ota.updater import Limits, Refused, TufUpdater, release_of, trust_root

NAME = "kiosk-1.4.0.tar"
CUSTOM = {"version": "1.4.0", "min_store_schema": 6, "channels": ["stable"]}


@dataclass
class World:
    hq: LiveHq
    repo: Repository
    keys: Path
    client: Path
    bundle: bytes

    @property
    def metadata_url(self) -> str:
        return f"{self.hq.url}/tuf/metadata"

    @property
    def targets_url(self) -> str:
        return f"{self.hq.url}/tuf/targets"

    def updater(self, limits: Limits | None = None) -> TufUpdater:
        return TufUpdater(
            self.client / "metadata",
            self.metadata_url,
            self.targets_url,
            self.client / "downloads",
            limits=limits,
        )

    def signer(self, role: str) -> CryptoSigner:
        return keyfiles.load_signer(self.keys / f"{role}.pem")

    def write(self, md: Metadata[object], name: str) -> None:  # type: ignore[type-var]
        (self.repo.metadata_dir / name).write_bytes(md.to_bytes(JSONSerializer()))


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """HQ on a SQLite file in tmp_path (so its data folder, and its repository, is tmp_path/tuf),
    a repository with one published release, and a client that trusts its first root."""
    keys = tmp_path / "keys"
    keyfiles.init_keys(keys)
    repo = Repository.create(tmp_path / "tuf", [keys])
    bundle = os.urandom(300_000)
    source = tmp_path / "bundle.tar"
    source.write_bytes(bundle)
    repo.add_target(source, NAME, CUSTOM, [keys])
    client = tmp_path / "client"
    trust_root(client / "metadata", (repo.metadata_dir / "1.root.json").read_bytes())
    with running_hq(sqlite_url(tmp_path / "hq.sqlite3")) as hq:
        yield World(hq, repo, keys, client, bundle)


def _served_target(world: World) -> Path:
    (path,) = world.repo.targets_dir.glob(f"*.{NAME}")
    return path


def test_a_kiosk_refreshes_and_downloads_a_release_through_hq(world: World) -> None:
    updater = world.updater()
    updater.refresh()
    release = release_of(updater.target(NAME))
    assert (release.version, release.min_store_schema, release.channels) == ("1.4.0", 6, ("stable",))
    path = updater.download(NAME)
    assert path.read_bytes() == world.bundle
    names = sorted(p.name for p in (world.client / "metadata").iterdir() if p.is_file())
    assert names == ["root.json", "snapshot.json", "targets.json", "timestamp.json"]
    assert not any((world.client / "downloads" / ".partial").iterdir())


def test_replayed_old_timestamp_is_refused(world: World) -> None:
    """GIVEN a client that saw timestamp v3 WHEN the server serves the older v2 again THEN refused."""
    old = (world.repo.metadata_dir / "timestamp.json").read_bytes()
    world.repo.refresh_timestamp([world.keys])
    world.updater().refresh()
    (world.repo.metadata_dir / "timestamp.json").write_bytes(old)
    with pytest.raises(Refused) as caught:
        world.updater().refresh()
    assert caught.value.reason == "rollback"


def test_a_timestamp_pointing_at_an_older_snapshot_is_refused(world: World) -> None:
    """Even signed with the real (online) timestamp key, a step back in snapshot versions fails."""
    world.repo.refresh_timestamp([world.keys], force_snapshot=True)  # snapshot v3
    world.updater().refresh()
    old_snapshot = (world.repo.metadata_dir / "2.snapshot.json").read_bytes()
    current = world.repo.latest("timestamp").signed
    timestamp = Timestamp(
        version=current.version + 1,
        expires=utc_now() + EXPIRY["timestamp"],
        snapshot_meta=MetaFile.from_data(2, old_snapshot, ["sha256"]),
    )
    md = Metadata(timestamp)
    md.sign(world.signer("timestamp"))
    world.write(md, "timestamp.json")
    with pytest.raises(Refused) as caught:
        world.updater().refresh()
    assert caught.value.reason == "rollback"


def test_an_expired_timestamp_is_refused(world: World) -> None:
    """A newer, correctly signed timestamp whose expiry has passed (a frozen mirror) is refused."""
    world.repo.refresh_timestamp([world.keys], now=utc_now() - timedelta(days=2))
    with pytest.raises(Refused) as caught:
        world.updater().refresh()
    assert caught.value.reason == "expired"


def test_a_mixed_snapshot_is_refused(world: World) -> None:
    """Snapshot v2 names targets v2; the server hands out the old targets v1 under that name."""
    older = (world.repo.metadata_dir / "1.targets.json").read_bytes()
    (world.repo.metadata_dir / "2.targets.json").write_bytes(older)
    with pytest.raises(Refused) as caught:
        world.updater().refresh()
    assert caught.value.reason in {"mismatch", "rollback"}


def test_a_tampered_target_is_refused_and_not_kept(world: World) -> None:
    served = _served_target(world)
    data = bytearray(served.read_bytes())
    data[1000] ^= 0xFF
    served.write_bytes(bytes(data))
    updater = world.updater()
    with pytest.raises(Refused) as caught:
        updater.download(NAME)
    assert caught.value.reason == "mismatch"
    downloads = world.client / "downloads"
    assert sorted(p.name for p in downloads.iterdir()) == [".partial"]
    assert not any((downloads / ".partial").iterdir())


def test_a_target_longer_than_signed_is_refused(world: World) -> None:
    """Endless data on a target: the server sends more than the signed length."""
    served = _served_target(world)
    served.write_bytes(served.read_bytes() + b"\0" * 10_000)
    with pytest.raises(Refused) as caught:
        world.updater().download(NAME)
    assert caught.value.reason == "too_large"


def test_oversized_timestamp_metadata_is_refused(world: World) -> None:
    """Endless data on metadata: a timestamp.json larger than the client's cap is not read whole."""
    path = world.repo.metadata_dir / "timestamp.json"
    md = json.loads(path.read_bytes())
    md["signed"]["padding"] = "x" * 40_000
    path.write_text(json.dumps(md))
    with pytest.raises(Refused) as caught:
        world.updater(Limits(timestamp_bytes=16_384)).refresh()
    assert caught.value.reason == "too_large"


def test_targets_signed_by_a_key_root_does_not_trust_are_refused(world: World) -> None:
    """HQ broken into: the thief holds the online keys and signs new targets with a key of his own;
    snapshot and timestamp over it are genuinely signed. The kiosk still refuses."""
    evil = world.repo.targets_dir.parent / "evil.tar"
    evil.write_bytes(b"rm -rf /")
    targets = world.repo.targets().signed
    targets.version += 1
    info = TargetFile.from_file("kiosk-9.9.9.tar", str(evil), ["sha256"])
    targets.targets[info.path] = info
    targets_md = Metadata(targets)
    targets_md.sign(CryptoSigner.generate_ed25519())
    world.write(targets_md, f"{targets.version}.targets.json")
    targets_bytes = (world.repo.metadata_dir / f"{targets.version}.targets.json").read_bytes()
    snapshot = Snapshot(
        version=world.repo.latest("snapshot").signed.version + 1,
        expires=utc_now() + EXPIRY["snapshot"],
        meta={"targets.json": MetaFile.from_data(targets.version, targets_bytes, ["sha256"])},
    )
    snapshot_md = Metadata(snapshot)
    snapshot_md.sign(world.signer("snapshot"))
    world.write(snapshot_md, f"{snapshot.version}.snapshot.json")
    snapshot_bytes = (world.repo.metadata_dir / f"{snapshot.version}.snapshot.json").read_bytes()
    timestamp = Timestamp(
        version=world.repo.latest("timestamp").signed.version + 1,
        expires=utc_now() + EXPIRY["timestamp"],
        snapshot_meta=MetaFile.from_data(snapshot.version, snapshot_bytes, ["sha256"]),
    )
    timestamp_md = Metadata(timestamp)
    timestamp_md.sign(world.signer("timestamp"))
    world.write(timestamp_md, "timestamp.json")
    with pytest.raises(Refused) as caught:
        world.updater().refresh()
    assert caught.value.reason == "signature"


def _client_root_version(world: World) -> int:
    data = json.loads((world.client / "metadata" / "root.json").read_bytes())
    version: int = data["signed"]["version"]
    return version


def test_the_client_follows_a_root_rotation_and_releases_still_install(world: World) -> None:
    world.updater().refresh()
    old_keyid = world.signer("root").public_key.keyid
    version, retired = world.repo.rotate_root(world.keys)
    assert version == 2 and retired.exists()
    assert keyfiles.load_signer(retired).public_key.keyid == old_keyid
    new_keyid = world.signer("root").public_key.keyid
    assert new_keyid != old_keyid
    assert world.repo.root().signed.roles["root"].keyids == [new_keyid]
    # a release published after the rotation, seen by a client that trusted root v1
    later = world.repo.targets_dir.parent / "later.tar"
    later.write_bytes(b"release 1.5.0")
    world.repo.add_target(later, "kiosk-1.5.0.tar", {**CUSTOM, "version": "1.5.0"}, [world.keys])
    updater = world.updater()
    assert updater.download("kiosk-1.5.0.tar").read_bytes() == b"release 1.5.0"
    assert _client_root_version(world) == 2


def test_a_new_root_signed_only_by_the_new_key_is_refused(world: World) -> None:
    world.updater().refresh()
    root = world.repo.root().signed
    new = CryptoSigner.generate_ed25519()
    for keyid in list(root.roles["root"].keyids):
        root.revoke_key(keyid, "root")
    root.add_key(new.public_key, "root")
    root.version = 2
    md = Metadata(root)
    md.sign(new)
    world.write(md, "2.root.json")
    with pytest.raises(Refused) as caught:
        world.updater().refresh()
    assert caught.value.reason == "signature"
    assert _client_root_version(world) == 1


# -- HQ serves the files as they are, and nothing else ------------------------------------------


def test_hq_serves_repository_files_with_their_length_and_ranges(world: World) -> None:
    root = requests.get(f"{world.metadata_url}/1.root.json", timeout=10)
    assert root.status_code == 200
    assert root.content == (world.repo.metadata_dir / "1.root.json").read_bytes()
    assert int(root.headers["Content-Length"]) == len(root.content)
    stamp = requests.get(f"{world.metadata_url}/timestamp.json", timeout=10)
    assert stamp.headers["Cache-Control"] == "no-cache"
    served = _served_target(world)
    part = requests.get(f"{world.targets_url}/{served.name}", headers={"Range": "bytes=1000-"}, timeout=10)
    assert part.status_code == 206
    assert part.content == world.bundle[1000:]
    assert part.headers["Content-Range"] == f"bytes 1000-{len(world.bundle) - 1}/{len(world.bundle)}"


@pytest.mark.parametrize(
    "path",
    [
        "metadata/2.root.json",
        "metadata/..%2f..%2fhq-identity.key",
        "metadata/%2e%2e%2fhq.sqlite3",
        "metadata/root",
        "targets/kiosk-1.4.0.tar",
        "targets/..%2fmetadata%2f1.root.json",
        "targets/" + "0" * 64 + ".kiosk-1.4.0.tar",
    ],
)
def test_hq_answers_404_for_anything_but_repository_files(world: World, path: str) -> None:
    answer = requests.get(f"{world.hq.url}/tuf/{path}", timeout=10)
    assert answer.status_code == 404
    assert answer.json()["error"].startswith(("the update repository has no file", "no such endpoint"))


def test_hq_does_not_follow_links_out_of_the_repository(world: World) -> None:
    link = world.repo.metadata_dir / "3.root.json"
    link.symlink_to(world.hq.identity_file)
    assert requests.get(f"{world.metadata_url}/3.root.json", timeout=10).status_code == 404


def test_the_repository_routes_are_not_in_the_openapi_document(world: World) -> None:
    schema = requests.get(f"{world.hq.url}/openapi.json", timeout=10).json()
    assert not [p for p in schema["paths"] if p.startswith("/tuf")]


# -- the conformance command line ---------------------------------------------------------------


def _tuf_client(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ota.cli", "tuf-client", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_tuf_client_init_refresh_download(world: World, tmp_path: Path) -> None:
    meta, out = tmp_path / "cc-meta", tmp_path / "cc-targets"
    meta.mkdir()
    root = world.repo.metadata_dir / "1.root.json"
    assert _tuf_client("--metadata-dir", str(meta), "init", str(root)).returncode == 0
    refresh = _tuf_client("--metadata-dir", str(meta), "--metadata-url", world.metadata_url, "refresh")
    assert refresh.returncode == 0, refresh.stderr
    assert sorted(p.name for p in meta.iterdir() if p.is_file()) == [
        "root.json",
        "snapshot.json",
        "targets.json",
        "timestamp.json",
    ]
    download = _tuf_client(
        "--metadata-dir", str(meta), "--metadata-url", world.metadata_url, "--target-name", NAME,
        "--target-base-url", world.targets_url, "--target-dir", str(out), "download",
    )  # fmt: skip
    assert download.returncode == 0, download.stderr
    assert (out / NAME).read_bytes() == world.bundle


def test_tuf_client_exits_1_on_a_tampered_target(world: World, tmp_path: Path) -> None:
    meta, out = tmp_path / "cc-meta", tmp_path / "cc-targets"
    meta.mkdir()
    root = world.repo.metadata_dir / "1.root.json"
    assert _tuf_client("--metadata-dir", str(meta), "init", str(root)).returncode == 0
    _served_target(world).write_bytes(b"not the release")
    download = _tuf_client(
        "--metadata-dir", str(meta), "--metadata-url", world.metadata_url, "--target-name", NAME,
        "--target-base-url", world.targets_url, "--target-dir", str(out), "download",
    )  # fmt: skip
    assert download.returncode == 1
    assert not (out / NAME).exists()


def test_tuf_client_exits_1_on_bad_arguments_and_unknown_targets(world: World, tmp_path: Path) -> None:
    meta = tmp_path / "cc-meta"
    meta.mkdir()
    assert _tuf_client("--metadata-dir", str(meta), "bogus").returncode == 1
    assert (
        _tuf_client("--metadata-dir", str(meta), "--metadata-url", world.metadata_url, "refresh").returncode
        == 1
    )
    root = world.repo.metadata_dir / "1.root.json"
    assert _tuf_client("--metadata-dir", str(meta), "init", str(root)).returncode == 0
    missing = _tuf_client(
        "--metadata-dir", str(meta), "--metadata-url", world.metadata_url, "--target-name", "kiosk-0.0.1.tar",
        "--target-base-url", world.targets_url, "--target-dir", str(tmp_path / "t"), "download",
    )  # fmt: skip
    assert missing.returncode == 1


def test_root_metadata_types_are_what_the_repository_wrote(world: World) -> None:
    """The repository's own files load as the roles they are named for (a check on ota.repo)."""
    assert isinstance(world.repo.root().signed, Root)
    assert isinstance(world.repo.targets().signed, Targets)
    assert world.repo.root().signed.consistent_snapshot is True
