"""The four TUF signing keys of the release repository: made once, kept apart, loaded to sign.

A key folder holds one ed25519 private key per role as a PEM file (``root.pem``, ``targets.pem``,
``snapshot.pem``, ``timestamp.pem``), each 0600 in a 0700 folder. Root and targets are the
*offline* keys: whoever holds them decides what software kiosks run, so after ``ota repo init``
they leave HQ (a USB stick in a safe) and come back only to publish a release or rotate a key.
Snapshot and timestamp are the *online* keys HQ keeps, so it can re-sign the short-lived
timestamp on a timer; stolen, they let a thief replay or withhold releases for a day at worst,
never sign one (docs/adr/0013-ota-tuf.md).

Signing commands may take several key folders (``--keys`` again and again): the offline one from
the stick and HQ's online one. A role's key is the first ``<role>.pem`` found among them, and it
must be the key root metadata names for that role, or the command refuses before it signs.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from securesystemslib.signer import CryptoSigner, SSlibKey

from kiosk_common.files import write_new_private

ROLES = ("root", "targets", "snapshot", "timestamp")
OFFLINE_ROLES = ("root", "targets")
ONLINE_ROLES = ("snapshot", "timestamp")
#: the largest key file read (an ed25519 PEM is about 120 bytes)
MAX_KEY_BYTES = 16_384


class KeyFileError(Exception):
    """A key file is missing, unreadable, not an ed25519 key, or not the key root trusts."""


def key_path(folder: Path, role: str) -> Path:
    if role not in ROLES and not role.startswith("root."):
        raise ValueError(f"unknown role {role!r}")
    return folder / f"{role}.pem"


def write_private_key(path: Path, signer: CryptoSigner) -> None:
    """Write ``signer``'s private key to a new file, 0600 from the first byte; never overwrite."""
    write_new_private(path, signer.private_bytes)


def make_key_folder(folder: Path) -> None:
    """Create ``folder`` 0700 (or tighten an empty existing one); refuse one that holds any key."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    existing = sorted(p.name for p in folder.glob("*.pem"))
    if existing:
        raise KeyFileError(
            f"{folder} already holds keys ({', '.join(existing)}); keys are never overwritten: "
            "give an empty folder, or move the old keys away if you really mean to replace them"
        )


@dataclass(frozen=True, slots=True)
class NewKeys:
    folder: Path
    public: dict[str, SSlibKey]


def init_keys(folder: Path) -> NewKeys:
    """Make the four role keys in ``folder`` (ed25519, 0600 each, folder 0700)."""
    make_key_folder(folder)
    public: dict[str, SSlibKey] = {}
    for role in ROLES:
        signer = CryptoSigner.generate_ed25519()
        write_private_key(key_path(folder, role), signer)
        public[role] = signer.public_key
    return NewKeys(folder, public)


def load_signer(path: Path) -> CryptoSigner:
    """The signer for the ed25519 private key in ``path``; KeyFileError saying what is wrong."""
    try:
        with path.open("rb") as f:
            data = f.read(MAX_KEY_BYTES + 1)
    except FileNotFoundError:
        raise KeyFileError(f"{path} does not exist") from None
    except OSError as exc:
        raise KeyFileError(f"{path} cannot be read: {exc.strerror}") from None
    if len(data) > MAX_KEY_BYTES:
        raise KeyFileError(f"{path} is too large to be a key file")
    try:
        private = load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise KeyFileError(f"{path} is not an unencrypted PEM private key") from None
    if not isinstance(private, Ed25519PrivateKey):
        raise KeyFileError(f"{path} is not an ed25519 key (ota keys init makes ed25519 keys)")
    return CryptoSigner(private)


def find_key(folders: Sequence[Path], role: str) -> Path:
    """The first ``<role>.pem`` among ``folders``; KeyFileError naming where it looked."""
    for folder in folders:
        path = key_path(folder, role)
        if path.exists():
            return path
    where = ", ".join(str(f) for f in folders) or "no folder (give --keys)"
    raise KeyFileError(f"no {role} key ({role}.pem) in {where}")


def signers_for(folders: Sequence[Path], role: str, trusted: Iterable[str]) -> list[CryptoSigner]:
    """The signer for ``role`` from ``folders``, checked against the key ids root trusts for it."""
    path = find_key(folders, role)
    signer = load_signer(path)
    keyid = signer.public_key.keyid
    if keyid not in set(trusted):
        raise KeyFileError(
            f"{path} is not the {role} key this repository's root trusts (key id {keyid[:12]}…); "
            "give the key folder ota keys init made for this repository"
        )
    return [signer]


def warn_if_loose(path: Path) -> str | None:
    """A warning when a private key file can be read by others than its owner."""
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        return f"{path} is readable by others (mode {mode:o}); chmod 600 it"
    return None
