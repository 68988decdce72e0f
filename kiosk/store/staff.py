"""Staff accounts and badge nonces in the kiosk's SQLite store: the ``UnlockStore`` port of
``kiosk.maintenance`` (``StaffStore``), and applying HQ's staff rows with the catalog."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import peewee as pw

from kiosk.maintenance.port import StaffAccount
from kiosk.maintenance.roles import Role
from kiosk.ports import CatalogUpdate
from kiosk.store.models import (
    BADGE_KEY_SETTING,
    UNLOCK_LIMITER_SETTING,
    BadgeNonce,
    Setting,
    utcnow,
)
from kiosk.store.models import StaffAccount as StaffRow


def apply_staff(update: CatalogUpdate) -> None:
    """HQ's staff rows and badge key; call inside the catalog's transaction, so the accounts change
    with the catalog they came with. A snapshot replaces every account; a delta adds, changes, or
    (``active`` False) removes the accounts it lists."""
    now = utcnow()
    if update.kind == "snapshot":
        StaffRow.delete().execute()
    for item in update.staff:
        if not item.active:
            StaffRow.delete().where(StaffRow.id == item.id).execute()
            continue
        StaffRow.insert(
            id=item.id, name=item.name, role=item.role, pin_hash=item.pin_hash, updated_at=now
        ).on_conflict_replace().execute()
    if update.badge_public_key:
        Setting.insert(key=BADGE_KEY_SETTING, value=update.badge_public_key).on_conflict_replace().execute()


class StaffStore:
    """The ``UnlockStore`` on the kiosk's store. ``audit`` is ``SaleStore.audit`` (audit row and its
    HQ event together)."""

    def __init__(self, db: pw.Database, audit: Callable[[str, str, str], None]) -> None:
        self.db = db
        self._audit = audit

    def active_staff(self) -> list[StaffAccount]:
        out: list[StaffAccount] = []
        for row in StaffRow.select().order_by(StaffRow.id):
            try:
                role = Role(row.role)
            except ValueError:
                continue  # HQ checked it; a role this release does not know unlocks nothing
            out.append(StaffAccount(int(row.id), str(row.name), role, str(row.pin_hash)))
        return out

    def badge_public_key(self) -> str:
        row = Setting.get_or_none(Setting.key == BADGE_KEY_SETTING)
        return str(row.value) if row is not None else ""

    def use_badge_nonce(self, nonce: str, expires_at: datetime) -> bool:
        now = utcnow()
        with self.db.atomic():
            BadgeNonce.delete().where(BadgeNonce.expires_at < now).execute()
            try:
                BadgeNonce.insert(nonce=nonce, expires_at=expires_at, used_at=now).execute()
            except pw.IntegrityError:
                return False
        return True

    def load_limiter(self) -> str | None:
        row = Setting.get_or_none(Setting.key == UNLOCK_LIMITER_SETTING)
        return str(row.value) if row is not None else None

    def save_limiter(self, state: str) -> None:
        with self.db.atomic():
            Setting.insert(key=UNLOCK_LIMITER_SETTING, value=state).on_conflict_replace().execute()

    def audit(self, actor: str, action: str, detail: str = "") -> None:
        self._audit(actor, action, detail)
