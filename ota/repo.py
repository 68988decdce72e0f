"""HQ's TUF repository on disk: create it, add a release, keep the timestamp fresh, rotate root.

The folder (docs/ota.md, "Keys and repository")::

    metadata/1.root.json, 2.root.json …   every root version, kept: clients walk them in order
    metadata/<N>.targets.json            what releases exist (signed by the offline targets key)
    metadata/<N>.snapshot.json           which targets version is current (online snapshot key)
    metadata/timestamp.json              which snapshot is current, re-signed daily (online key)
    targets/<sha256>.kiosk-<V>.tar       each release bundle under its content hash

Consistent snapshots are on, so every file but ``timestamp.json`` is immutable once written and a
mirror or CDN that lags behind still serves a set that fits together. Files are written in the
order a client reads them backwards (target, targets, snapshot, then timestamp last, each atomic),
so a client reading while a release is published sees the old set or the new one, never half.

This module signs with keys from ``ota.keys``; it never decides what a kiosk installs (the custom
metadata and the agent do).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from securesystemslib.signer import CryptoSigner, Signer
from tuf.api.metadata import (
    Metadata,
    MetaFile,
    Root,
    Signed,
    Snapshot,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.api.serialization.json import JSONSerializer

from ota import keys as keyfiles

METADATA = "metadata"
TARGETS = "targets"
SPEC_VERSION = "1.0.31"
#: how long each role's metadata stays valid after it is signed (docs/ota.md)
EXPIRY = {
    "root": timedelta(days=365),
    "targets": timedelta(days=90),
    "snapshot": timedelta(days=7),
    "timestamp": timedelta(days=1),
}
_VERSIONED = re.compile(r"^([1-9][0-9]{0,9})\.(root|snapshot|targets)\.json$")
_TARGET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+!-]{0,200}$")


class RepoError(Exception):
    """The repository folder is missing, damaged, or the change asked for is not allowed."""


def utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``path`` whole or not at all (temp file in the same folder, fsync, rename, fsync dir)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _serialize(md: Metadata[Any]) -> bytes:
    return md.to_bytes(JSONSerializer(compact=False))


@dataclass(frozen=True, slots=True)
class Published:
    """What publishing a target did: its TUF name, the file now served and the new versions."""

    name: str
    path: Path
    length: int
    sha256: str
    targets_version: int
    snapshot_version: int
    timestamp_version: int


class Repository:
    """One repository folder. Every method that changes it takes the key folders it signs with."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.metadata_dir = path / METADATA
        self.targets_dir = path / TARGETS

    # -- creating and opening ---------------------------------------------------------------

    @classmethod
    def create(cls, path: Path, key_folders: Sequence[Path], now: datetime | None = None) -> Repository:
        """A new repository in ``path`` (empty or missing) whose root trusts the four keys found in
        ``key_folders``; root, targets (no releases yet), snapshot and timestamp are all signed."""
        repo = cls(path)
        if repo.metadata_dir.exists() and any(repo.metadata_dir.iterdir()):
            raise RepoError(f"{repo.metadata_dir} already holds metadata: a repository is created once")
        signers = {
            role: keyfiles.load_signer(keyfiles.find_key(key_folders, role)) for role in keyfiles.ROLES
        }
        at = now or utc_now()
        repo.metadata_dir.mkdir(parents=True, exist_ok=True)
        repo.targets_dir.mkdir(parents=True, exist_ok=True)
        root = Root(
            version=1,
            spec_version=SPEC_VERSION,
            expires=at + EXPIRY["root"],
            consistent_snapshot=True,
        )
        for role, signer in signers.items():
            root.add_key(signer.public_key, role)
        root_md = Metadata(root)
        root_md.sign(signers["root"])
        targets_md = Metadata(Targets(version=1, spec_version=SPEC_VERSION, expires=at + EXPIRY["targets"]))
        targets_md.sign(signers["targets"])
        _write_atomic(repo.metadata_dir / "1.root.json", _serialize(root_md))
        _write_atomic(repo.metadata_dir / "1.targets.json", _serialize(targets_md))
        repo._snapshot_and_timestamp(
            targets_md, [signers["snapshot"]], [signers["timestamp"]], at, snapshot_version=1
        )
        return repo

    @classmethod
    def open(cls, path: Path) -> Repository:
        repo = cls(path)
        if not (repo.metadata_dir / "1.root.json").is_file():
            raise RepoError(f"{path} is not a TUF repository (no {METADATA}/1.root.json): run ota repo init")
        return repo

    # -- reading ------------------------------------------------------------------------------

    def _versions(self, role: str) -> list[int]:
        found = []
        for entry in self.metadata_dir.iterdir():
            match = _VERSIONED.match(entry.name)
            if match and match.group(2) == role:
                found.append(int(match.group(1)))
        return sorted(found)

    def _load(self, path: Path, kind: type[Signed]) -> Metadata[Any]:
        try:
            md: Metadata[Any] = Metadata.from_file(str(path))
        except Exception as exc:  # the serializer raises several types; all mean "damaged"
            raise RepoError(f"{path} cannot be read as TUF metadata: {exc}") from None
        if not isinstance(md.signed, kind):
            raise RepoError(f"{path} is not {kind.type} metadata")
        return md

    def latest(self, role: str) -> Metadata[Any]:
        """The newest metadata of ``role`` in the folder."""
        kinds: dict[str, type[Signed]] = {
            "root": Root,
            "targets": Targets,
            "snapshot": Snapshot,
            "timestamp": Timestamp,
        }
        if role == "timestamp":
            return self._load(self.metadata_dir / "timestamp.json", Timestamp)
        versions = self._versions(role)
        if not versions:
            raise RepoError(f"{self.metadata_dir} has no {role} metadata: the repository is damaged")
        return self._load(self.metadata_dir / f"{versions[-1]}.{role}.json", kinds[role])

    def root(self) -> Metadata[Root]:
        return cast(Metadata[Root], self.latest("root"))

    def targets(self) -> Metadata[Targets]:
        return cast(Metadata[Targets], self.latest("targets"))

    def signers(self, key_folders: Sequence[Path], role: str) -> list[CryptoSigner]:
        """The key for ``role`` from ``key_folders``, refused unless root names it for the role."""
        return keyfiles.signers_for(key_folders, role, self.root().signed.roles[role].keyids)

    # -- changing -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the repository for one change. HQ's timer re-signs the timestamp while an admin may
        be publishing; two writers would each sign "the next" timestamp version over different
        snapshots, so the second waits for nothing and is refused, to be run again."""
        self.path.mkdir(parents=True, exist_ok=True)
        with (self.path / ".lock").open("a") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise RepoError(
                    f"another ota command is changing {self.path} right now; run this again when it ends"
                ) from None
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def _snapshot_and_timestamp(
        self,
        targets_md: Metadata[Targets],
        snapshot_signers: Sequence[Signer],
        timestamp_signers: Sequence[Signer],
        at: datetime,
        snapshot_version: int,
    ) -> tuple[int, int]:
        # the length and hash of the file as written and served, so a client refuses any other
        version = targets_md.signed.version
        written = (self.metadata_dir / f"{version}.targets.json").read_bytes()
        snapshot = Snapshot(
            version=snapshot_version,
            spec_version=SPEC_VERSION,
            expires=at + EXPIRY["snapshot"],
            meta={"targets.json": MetaFile.from_data(version, written, ["sha256"])},
        )
        snapshot_md = Metadata(snapshot)
        for signer in snapshot_signers:
            snapshot_md.sign(signer, append=True)
        snapshot_bytes = _serialize(snapshot_md)
        _write_atomic(self.metadata_dir / f"{snapshot_version}.snapshot.json", snapshot_bytes)
        return snapshot_version, self._timestamp(snapshot_version, snapshot_bytes, timestamp_signers, at)

    def _timestamp(
        self, snapshot_version: int, snapshot_bytes: bytes, signers: Sequence[Signer], at: datetime
    ) -> int:
        path = self.metadata_dir / "timestamp.json"
        version = self._load(path, Timestamp).signed.version + 1 if path.exists() else 1
        timestamp = Timestamp(
            version=version,
            spec_version=SPEC_VERSION,
            expires=at + EXPIRY["timestamp"],
            snapshot_meta=MetaFile.from_data(snapshot_version, snapshot_bytes, ["sha256"]),
        )
        md = Metadata(timestamp)
        for signer in signers:
            md.sign(signer, append=True)
        _write_atomic(path, _serialize(md))
        return version

    def _publish_targets(
        self, targets: Targets, key_folders: Sequence[Path], at: datetime
    ) -> tuple[int, int, int]:
        """Sign ``targets`` as the next version, then a new snapshot and timestamp over it."""
        targets_signers = self.signers(key_folders, "targets")
        snapshot_signers = self.signers(key_folders, "snapshot")
        timestamp_signers = self.signers(key_folders, "timestamp")
        targets.version = self.targets().signed.version + 1
        targets.expires = at + EXPIRY["targets"]
        md = Metadata(targets)
        for signer in targets_signers:
            md.sign(signer, append=True)
        _write_atomic(self.metadata_dir / f"{targets.version}.targets.json", _serialize(md))
        snapshot_version = self.latest("snapshot").signed.version + 1
        snap, stamp = self._snapshot_and_timestamp(
            md, snapshot_signers, timestamp_signers, at, snapshot_version
        )
        return targets.version, snap, stamp

    def add_target(
        self,
        source: Path,
        name: str,
        custom: Mapping[str, Any],
        key_folders: Sequence[Path],
        now: datetime | None = None,
    ) -> Published:
        """Publish ``source`` as target ``name`` with ``custom`` metadata (a new targets version,
        snapshot and timestamp). The same bytes under the same name only update the custom
        metadata (e.g. one more channel); other bytes under a published name are refused."""
        with self.lock():
            return self._add_target(source, name, custom, key_folders, now)

    def _add_target(
        self,
        source: Path,
        name: str,
        custom: Mapping[str, Any],
        key_folders: Sequence[Path],
        now: datetime | None = None,
    ) -> Published:
        if not _TARGET_NAME.match(name):
            raise RepoError(f"{name!r} is not a target name (letters, digits, . _ + ! -)")
        at = now or utc_now()
        # checked first, so a wrong key changes nothing on disk
        for role in ("targets", "snapshot", "timestamp"):
            self.signers(key_folders, role)
        info = TargetFile.from_file(name, str(source), ["sha256"])
        info.unrecognized_fields["custom"] = dict(custom)
        current = self.targets().signed
        old = current.targets.get(name)
        if old is not None and (old.length, old.hashes) != (info.length, info.hashes):
            raise RepoError(
                f"{name} is already published with other contents; a release is never replaced: "
                "build it under a new version"
            )
        digest = info.hashes["sha256"]
        served = self.targets_dir / f"{digest}.{name}"
        if not served.exists():
            self.targets_dir.mkdir(parents=True, exist_ok=True)
            tmp = served.with_name(f".{served.name}.part")
            shutil.copyfile(source, tmp)
            with tmp.open("rb+") as f:
                os.fsync(f.fileno())
            tmp.replace(served)
        current.targets[name] = info
        targets_version, snapshot_version, timestamp_version = self._publish_targets(current, key_folders, at)
        return Published(
            name, served, info.length, digest, targets_version, snapshot_version, timestamp_version
        )

    def renew_targets(self, key_folders: Sequence[Path], now: datetime | None = None) -> int:
        """Sign the same targets again as a new version (before their 90 days run out)."""
        with self.lock():
            version, _, _ = self._publish_targets(self.targets().signed, key_folders, now or utc_now())
        return version

    def refresh_timestamp(
        self, key_folders: Sequence[Path], now: datetime | None = None, force_snapshot: bool = False
    ) -> tuple[int, int]:
        """See ``_refresh_timestamp``; holds the repository's lock."""
        with self.lock():
            return self._refresh_timestamp(key_folders, now, force_snapshot)

    def _refresh_timestamp(
        self, key_folders: Sequence[Path], now: datetime | None, force_snapshot: bool
    ) -> tuple[int, int]:
        """Re-sign the timestamp (always) and the snapshot (when less than half its life is left,
        or ``force_snapshot``) with the online keys; return (snapshot, timestamp) versions.

        HQ runs this on a timer; it needs only snapshot.pem and timestamp.pem."""
        at = now or utc_now()
        snapshot_signers = self.signers(key_folders, "snapshot")
        timestamp_signers = self.signers(key_folders, "timestamp")
        snapshot = self.latest("snapshot")
        if force_snapshot or snapshot.signed.expires - at < EXPIRY["snapshot"] / 2:
            return self._snapshot_and_timestamp(
                self.targets(), snapshot_signers, timestamp_signers, at, snapshot.signed.version + 1
            )
        version = snapshot.signed.version
        data = (self.metadata_dir / f"{version}.snapshot.json").read_bytes()
        return version, self._timestamp(version, data, timestamp_signers, at)

    def rotate_root(self, key_folder: Path, now: datetime | None = None) -> tuple[int, Path]:
        """See ``_rotate_root``; holds the repository's lock."""
        with self.lock():
            return self._rotate_root(key_folder, now)

    def _rotate_root(self, key_folder: Path, now: datetime | None) -> tuple[int, Path]:
        """Replace the root key: a new key in ``key_folder``, root N+1 trusting only it, signed by
        the old key *and* the new one (clients accept N+1 only with both), then the old key file
        is kept as ``root.retired-<N>.pem`` and the new one becomes ``root.pem``."""
        at = now or utc_now()
        current = self.root()
        old_signer = self.signers([key_folder], "root")[0]
        staged = key_folder / "root.new.pem"
        retired = key_folder / f"root.retired-{current.signed.version}.pem"
        for path in (staged, retired):
            if path.exists():
                raise RepoError(f"{path} exists; a half-done rotation? Move it away and run again")
        new_signer = CryptoSigner.generate_ed25519()
        keyfiles.write_private_key(staged, new_signer)
        root = current.signed
        for keyid in list(root.roles["root"].keyids):
            root.revoke_key(keyid, "root")
        root.add_key(new_signer.public_key, "root")
        root.version += 1
        root.expires = at + EXPIRY["root"]
        md = Metadata(root)
        md.sign(old_signer)
        md.sign(new_signer, append=True)
        _write_atomic(self.metadata_dir / f"{root.version}.root.json", _serialize(md))
        os.link(keyfiles.key_path(key_folder, "root"), retired)
        staged.replace(keyfiles.key_path(key_folder, "root"))
        return root.version, retired

    def expiring(self, within: timedelta, now: datetime | None = None) -> list[tuple[str, datetime]]:
        """The roles whose newest metadata expires within ``within`` (root and targets need the
        offline keys to renew, so HQ's timer warns about them early)."""
        at = now or utc_now()
        soon = []
        for role in keyfiles.ROLES:
            expires = self.latest(role).signed.expires
            if expires - at < within:
                soon.append((role, expires))
        return soon
