"""Kiosks and their API keys.

A key is ``secrets.token_urlsafe(32)`` (256 random bits), shown once when it is made and stored only
as its SHA-256. A plain hash is enough (no salt, no slow KDF) because the key is random, not a
password a person chose; it also lets HQ find the device by an indexed lookup on the hash.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from hq.models import Device, database, utc_now

KIOSK_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
#: longer than any key we issue by a wide margin; longer headers are refused before hashing
MAX_KEY_LEN = 256
#: last_seen_at is written at most this often per device, so a busy kiosk does not queue writes
LAST_SEEN_RESOLUTION = timedelta(seconds=10)


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    id: int
    kiosk_id: str
    created_at: datetime
    last_seen_at: datetime | None


class DeviceExistsError(ValueError):
    """The kiosk already has a key; replacing it must be asked for (``--rotate``)."""


class UnknownDeviceError(LookupError):
    """Rotating the key of a kiosk HQ does not know."""


def hash_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()


def valid_kiosk_id(kiosk_id: str) -> bool:
    return bool(KIOSK_ID_RE.fullmatch(kiosk_id))


def _info(device: Device) -> DeviceInfo:
    return DeviceInfo(device.id, device.kiosk_id, device.created_at, device.last_seen_at)


def add_device(kiosk_id: str, rotate: bool = False) -> str:
    """Create the kiosk (or, with ``rotate``, replace its key) and return the new key, the only copy."""
    if not valid_kiosk_id(kiosk_id):
        raise ValueError(f"kiosk id {kiosk_id!r} is not 1-64 letters, digits, '.', '_' or '-'")
    api_key = secrets.token_urlsafe(32)
    with database.atomic():
        existing = Device.get_or_none(Device.kiosk_id == kiosk_id)
        if existing is None and rotate:
            raise UnknownDeviceError(kiosk_id)
        if existing is not None and not rotate:
            raise DeviceExistsError(kiosk_id)
        if existing is None:
            Device.create(kiosk_id=kiosk_id, api_key_hash=hash_key(api_key))
        else:
            Device.update(api_key_hash=hash_key(api_key)).where(Device.id == existing.id).execute()
    return api_key


def list_devices() -> list[DeviceInfo]:
    return [_info(d) for d in Device.select().order_by(Device.kiosk_id)]


def authenticate(api_key: str, now: datetime | None = None) -> DeviceInfo | None:
    """The device holding ``api_key``, or None. Records when the device was last seen."""
    if not api_key or len(api_key) > MAX_KEY_LEN:
        return None
    presented = hash_key(api_key)
    device = Device.get_or_none(Device.api_key_hash == presented)
    if device is None or not hmac.compare_digest(device.api_key_hash, presented):
        return None
    now = now or utc_now()
    if device.last_seen_at is None or now - device.last_seen_at >= LAST_SEEN_RESOLUTION:
        with database.atomic():
            Device.update(last_seen_at=now).where(Device.id == device.id).execute()
        device.last_seen_at = now
    return _info(device)
