"""What maintenance unlocking needs of the kiosk's store: one small interface, so the unlock logic
stays pure and its tests can run on a fake; ``kiosk.store.staff.StaffStore`` is the SQLite one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from kiosk.maintenance.roles import Role


@dataclass(frozen=True, slots=True)
class StaffAccount:
    """An active staff account of this kiosk's store, as HQ sent it."""

    id: int
    name: str
    role: Role
    #: argon2id of the PIN (``kiosk.maintenance.pins``)
    pin_hash: str


class UnlockStore(Protocol):
    def active_staff(self) -> list[StaffAccount]:
        """Every active account of this kiosk's store (HQ's last catalog)."""
        ...

    def badge_public_key(self) -> str:
        """HQ's badge public key, base64; "" before the first catalog that carried one."""
        ...

    def use_badge_nonce(self, nonce: str, expires_at: datetime) -> bool:
        """Remember a badge's nonce; False when it was used before (a replay). ``expires_at`` is
        naive UTC: the nonce may be forgotten after it."""
        ...

    def load_limiter(self) -> str | None:
        """The attempt limiter's saved state (``kiosk.maintenance.attempts``), or None."""
        ...

    def save_limiter(self, state: str) -> None: ...

    def audit(self, actor: str, action: str, detail: str = "") -> None:
        """An audit row, which also goes to HQ as an audit event (the outbox)."""
        ...


@dataclass(frozen=True, slots=True)
class StoredTask:
    """A staff task the store keeps until staff dismiss it (a payment settled at start-up)."""

    key: str
    kind: str
    target: str
    detail: str
    created_at: datetime


class TaskBook(Protocol):
    """Where staff's kept tasks live, so a restart neither loses one nor brings a dismissed one back;
    ``kiosk.store.tasks.TaskStore`` is the SQLite one."""

    def open_tasks(self) -> list[StoredTask]:
        """Tasks not yet dismissed, oldest first."""
        ...

    def dismiss_task(self, key: str, by: str) -> bool:
        """Mark an open task dismissed by ``by`` (an audit actor); False when no open task has ``key``."""
        ...
