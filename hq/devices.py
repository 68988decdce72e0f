"""Stores and the kiosks enrolled in them.

A kiosk gets its signing secret when it enrols (``hq.identity``); HQ keeps no copy, only the
kiosk's ``generation``, from which it derives the secret again. Enrolling a kiosk id again in the
same store bumps the generation (the old secret stops working); revoking stops it at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from peewee import JOIN, fn

from hq.identity import kiosk_secret
from hq.models import Device, Store, database, utc_now

KIOSK_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
STORE_CODE_RE = KIOSK_ID_RE


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    id: int
    kiosk_id: str
    store_code: str | None
    created_at: datetime
    enrolled_at: datetime | None
    revoked_at: datetime | None
    last_seen_at: datetime | None


@dataclass(frozen=True, slots=True)
class StoreInfo:
    code: str
    name: str
    #: kiosks enrolled in the store, revoked ones included
    kiosks: int
    created_at: datetime


class StoreExistsError(ValueError):
    """A store with that code exists already."""


class UnknownStoreError(LookupError):
    """No store has that code."""


class UnknownDeviceError(LookupError):
    """HQ knows no kiosk with that id."""


class DeviceInOtherStoreError(ValueError):
    """The kiosk id is enrolled in another store; revoke it there or pick another id."""


def valid_kiosk_id(kiosk_id: str) -> bool:
    return bool(KIOSK_ID_RE.fullmatch(kiosk_id))


def add_store(code: str, name: str) -> Store:
    if not STORE_CODE_RE.fullmatch(code):
        raise ValueError(f"store code {code!r} is not 1-64 letters, digits, '.', '_' or '-'")
    if not name.strip() or len(name) > 128:
        raise ValueError("a store's name is 1-128 characters")
    with database.atomic():
        if Store.get_or_none(Store.code == code) is not None:
            raise StoreExistsError(code)
        store: Store = Store.create(code=code, name=name.strip())
    return store


def list_stores() -> list[StoreInfo]:
    count = fn.COUNT(Device.id)
    rows = (
        Store.select(Store, count.alias("kiosks"))
        .join(Device, JOIN.LEFT_OUTER, on=(Device.store == Store.id))
        .group_by(Store.id)
        .order_by(Store.code)
        .dicts()
    )
    found = cast(Iterable[dict[str, Any]], rows)  # .dicts() rows, which peewee's hints call Store
    return [StoreInfo(r["code"], r["name"], int(r["kiosks"]), r["created_at"]) for r in found]


def store_by_code(code: str) -> Store:
    store = Store.get_or_none(Store.code == code)
    if store is None:
        raise UnknownStoreError(code)
    return store


def enrol_device(key: bytes, store: Store, kiosk_id: str, now: datetime | None = None) -> bytes:
    """Enrol ``kiosk_id`` in ``store`` (again, if it was) and return its new secret, the only copy.

    Must run inside a transaction with the code's redemption, so a code is spent only if the kiosk
    got its secret.
    """
    if not valid_kiosk_id(kiosk_id):
        raise ValueError(f"kiosk id {kiosk_id!r} is not 1-64 letters, digits, '.', '_' or '-'")
    moment = now or utc_now()
    device = Device.get_or_none(Device.kiosk_id == kiosk_id)
    if device is None:
        device = Device.create(kiosk_id=kiosk_id, store=store, generation=1, enrolled_at=moment)
    elif device.store_id not in (None, store.id):
        raise DeviceInOtherStoreError(kiosk_id)
    else:
        device.generation += 1
        Device.update(store=store, generation=device.generation, enrolled_at=moment, revoked_at=None).where(
            Device.id == device.id
        ).execute()
    return kiosk_secret(key, kiosk_id, device.generation)


def revoke_device(kiosk_id: str, now: datetime | None = None) -> None:
    with database.atomic():
        updated = (
            Device.update(revoked_at=now or utc_now())
            .where(Device.kiosk_id == kiosk_id, Device.revoked_at.is_null())
            .execute()
        )
        if not updated and Device.get_or_none(Device.kiosk_id == kiosk_id) is None:
            raise UnknownDeviceError(kiosk_id)


def _info(d: Device) -> DeviceInfo:
    return DeviceInfo(
        d.id,
        d.kiosk_id,
        d.store.code if d.store is not None else None,
        d.created_at,
        d.enrolled_at,
        d.revoked_at,
        d.last_seen_at,
    )


def list_devices() -> list[DeviceInfo]:
    rows = Device.select(Device, Store).join(Store, JOIN.LEFT_OUTER).order_by(Device.kiosk_id)
    return [_info(d) for d in rows]


def device_info(kiosk_id: str) -> DeviceInfo:
    """One kiosk as ``list_devices`` shows it; ``UnknownDeviceError`` if HQ has none by that id."""
    row = Device.select(Device, Store).join(Store, JOIN.LEFT_OUTER).where(Device.kiosk_id == kiosk_id).first()
    if row is None:
        raise UnknownDeviceError(kiosk_id)
    return _info(row)
