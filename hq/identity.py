"""Kiosk identity at HQ: the key file, each kiosk's signing secret, and checking a signed request.

HQ keeps one random key in a file beside its data (``[auth] key_file``, 0600). A kiosk's secret is
HMAC(key, kiosk id, generation): HQ hands it over once at enrolment and can make it again whenever
it checks a request, so the database holds no secret at all, every worker process (``hq serve
--workers N``) computes the same one, and enrolling a kiosk again (a new generation) voids the old.

A request is accepted when its ``Authorization`` header (``kiosk_common.signing``) names an enrolled,
unrevoked kiosk, its time is within ``window_s`` of HQ's clock, its signature matches, and its nonce
is new for that kiosk. The nonce goes into ``request_nonce``, whose unique index (not a lookup)
refuses the second use, so a replay is refused even when two workers see it at the same instant.
Nonces older than twice the window are pruned: a request that old fails on its time anyway.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path

import peewee

from hq.models import Device, RequestNonce, database, utc_now
from kiosk_common import signing

log = logging.getLogger(__name__)

KEY_BYTES = 32
#: a kiosk's clock may be this far from HQ's before its requests are refused (and it corrects itself)
DEFAULT_WINDOW_S = 300
#: the device row's last_seen_at and clock_skew_s are written at most this often per kiosk
SEEN_RESOLUTION = timedelta(seconds=10)


class KeyFileError(RuntimeError):
    """HQ's key file cannot be read or made; the message says which file and why."""


def load_or_create_key(path: Path) -> bytes:
    """The key in ``path``, made (32 random bytes, 0600, folder 0700) if the file does not exist.

    Two processes starting together both try ``O_EXCL``: one writes, the other reads what it wrote.
    An existing file is never rewritten: a new key would void every kiosk's secret.
    """
    folder = path.parent
    if not folder.is_dir():
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:
            pass
        except OSError as exc:
            raise KeyFileError(
                f"cannot create the folder {folder} for HQ's key file: {exc.strerror}"
            ) from None
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except FileExistsError:
        return _read_key(path)
    except OSError as exc:
        raise KeyFileError(f"cannot create HQ's key file {path}: {exc.strerror}") from None
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, secrets.token_hex(KEY_BYTES).encode("ascii") + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    return _read_key(path)


def _read_key(path: Path) -> bytes:
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"cannot read HQ's key file {path}: {exc}") from None
    if not text:
        # a creator in another process has the file open but has not written yet
        raise KeyFileError(f"HQ's key file {path} is empty; if HQ is not starting right now, restore it")
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise KeyFileError(f"HQ's key file {path} is not {KEY_BYTES * 2} hex digits; restore it") from None
    if len(key) != KEY_BYTES:
        raise KeyFileError(f"HQ's key file {path} is not {KEY_BYTES * 2} hex digits; restore it")
    return key


def kiosk_secret(key: bytes, kiosk_id: str, generation: int) -> bytes:
    """The signing secret of one kiosk at one enrolment, derived from HQ's key."""
    message = f"kiosk-secret\n{kiosk_id}\n{generation}".encode()
    return hmac.new(key, message, hashlib.sha256).digest()


@dataclass(frozen=True, slots=True)
class KioskIdentity:
    """Who a verified request came from: the only thing endpoints may trust about the caller."""

    device_id: int
    kiosk_id: str
    store_id: int
    generation: int
    #: HQ's clock minus the kiosk's, in seconds, as this request showed it
    skew_s: float


class Refusal(StrEnum):
    """Why a signed request was refused; each maps to one documented 401 answer."""

    MISSING = "missing"
    UNKNOWN_KIOSK = "unknown_kiosk"
    REVOKED = "revoked"
    CLOCK = "clock"
    SIGNATURE = "signature"
    REPLAY = "replay"


class RequestRefused(Exception):
    def __init__(self, reason: Refusal, kiosk_id: str | None = None) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.kiosk_id = kiosk_id


def verify_request(
    key: bytes,
    authorization: str | None,
    method: str,
    path_qs: str,
    body: bytes,
    now: datetime | None = None,
    window_s: int = DEFAULT_WINDOW_S,
) -> KioskIdentity:
    """The kiosk that signed this request, or ``RequestRefused`` saying why not.

    Must run inside a connection (``hq.db.connected``). The checks that cost nothing come first;
    the nonce is recorded only for a request whose signature is right, so nobody without the
    secret can fill the nonce table.
    """
    header = signing.parse_authorization(authorization)
    if header is None:
        raise RequestRefused(Refusal.MISSING)
    device = Device.get_or_none(Device.kiosk_id == header.kiosk_id)
    if device is None or device.store_id is None:
        raise RequestRefused(Refusal.UNKNOWN_KIOSK, header.kiosk_id)
    if device.revoked_at is not None:
        raise RequestRefused(Refusal.REVOKED, header.kiosk_id)
    secret = kiosk_secret(key, device.kiosk_id, device.generation)
    if not signing.signature_ok(secret, header, method, path_qs, body):
        raise RequestRefused(Refusal.SIGNATURE, header.kiosk_id)
    moment = now or utc_now()
    hq_unix = (moment - datetime(1970, 1, 1)).total_seconds()
    skew = hq_unix - header.timestamp
    if abs(skew) > window_s:
        raise RequestRefused(Refusal.CLOCK, header.kiosk_id)
    stale = device.last_seen_at is None or moment - device.last_seen_at >= SEEN_RESOLUTION
    try:
        # one transaction (one commit, one disk flush) for the nonce and the device's last-seen time
        with database.atomic():
            RequestNonce.insert(kiosk_id=device.kiosk_id, nonce=header.nonce, seen_at=moment).execute()
            if stale:
                Device.update(last_seen_at=moment, clock_skew_s=round(skew, 3)).where(
                    Device.id == device.id
                ).execute()
    except peewee.IntegrityError:
        raise RequestRefused(Refusal.REPLAY, header.kiosk_id) from None
    if secrets.randbelow(100) == 0:
        prune_nonces(moment, window_s)
    return KioskIdentity(device.id, device.kiosk_id, device.store_id, device.generation, skew)


def prune_nonces(now: datetime, window_s: int = DEFAULT_WINDOW_S) -> int:
    """Forget nonces too old to matter (their requests now fail on time); returns how many."""
    cutoff = now - timedelta(seconds=2 * window_s)
    with database.atomic():
        return int(RequestNonce.delete().where(RequestNonce.seen_at < cutoff).execute())
