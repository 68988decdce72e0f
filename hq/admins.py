"""Admin accounts and their sign-in sessions, for the admin API.

Passwords are hashed with argon2id (argon2-cffi's ``PasswordHasher``, its defaults: memory-hard, so
a stolen database is slow to crack); a hash made with weaker parameters than today's is replaced at
the next sign-in. A session is a random bearer token of 256 bits; HQ keeps only its SHA-256, so the
database holds nothing anyone can sign in with.

Signing in with a name that does not exist costs the same hash as a wrong password, so the time of
the answer does not tell which names exist. Disabling an admin ends their sessions at once.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from hq.models import Admin, AdminSession, database, utc_now

ADMIN_NAME_RE = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")
MIN_PASSWORD_CHARS = 12
#: argon2 reads the whole password; a megabyte of it would cost nothing but time
MAX_PASSWORD_CHARS = 1024
SESSION_TTL = timedelta(hours=12)
TOKEN_BYTES = 32


class AdminExistsError(ValueError):
    """An admin with that name exists already."""


class UnknownAdminError(LookupError):
    """No admin has that name."""


class BadPasswordError(ValueError):
    """The password is too short or too long; the message says which."""


@dataclass(frozen=True, slots=True)
class AdminInfo:
    name: str
    created_at: datetime
    disabled_at: datetime | None


@dataclass(frozen=True, slots=True)
class Session:
    """A bearer token as handed out; ``token`` exists only here and in the admin's hands."""

    token: str
    admin: str
    expires_at: datetime


@cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()


@cache
def _dummy_hash() -> str:
    """A hash to verify against when the name is unknown, so both failures take as long."""
    return _hasher().hash(secrets.token_hex(16))


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise BadPasswordError(f"a password has at least {MIN_PASSWORD_CHARS} characters")
    if len(password) > MAX_PASSWORD_CHARS:
        raise BadPasswordError(f"a password has at most {MAX_PASSWORD_CHARS} characters")


def valid_admin_name(name: str) -> bool:
    return bool(ADMIN_NAME_RE.fullmatch(name))


def add_admin(name: str, password: str) -> AdminInfo:
    """Create an admin. Raises ValueError (bad name), BadPasswordError or AdminExistsError."""
    if not valid_admin_name(name):
        raise ValueError(f"admin name {name!r} is not 1-64 letters, digits, '.', '_', '@' or '-'")
    check_password(password)
    hashed = _hasher().hash(password)
    with database.atomic():
        if Admin.get_or_none(Admin.name == name) is not None:
            raise AdminExistsError(name)
        admin: Admin = Admin.create(name=name, password_hash=hashed)
    return AdminInfo(admin.name, admin.created_at, None)


def list_admins() -> list[AdminInfo]:
    return [AdminInfo(a.name, a.created_at, a.disabled_at) for a in Admin.select().order_by(Admin.name)]


def disable_admin(name: str, now: datetime | None = None) -> None:
    """Stop ``name`` signing in and end the sessions they hold. Disabling twice is not an error."""
    with database.atomic():
        admin = Admin.get_or_none(Admin.name == name)
        if admin is None:
            raise UnknownAdminError(name)
        if admin.disabled_at is None:
            Admin.update(disabled_at=now or utc_now()).where(Admin.id == admin.id).execute()
        AdminSession.delete().where(AdminSession.admin == admin.id).execute()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def sign_in(name: str, password: str, now: datetime | None = None) -> Session | None:
    """A new session for ``name`` if the password is theirs and they are not disabled, else None."""
    if len(password) > MAX_PASSWORD_CHARS:
        return None
    admin = Admin.get_or_none(Admin.name == name)
    stored = admin.password_hash if admin is not None else _dummy_hash()
    try:
        _hasher().verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if admin is None or admin.disabled_at is not None:
        return None
    moment = now or utc_now()
    token = secrets.token_urlsafe(TOKEN_BYTES)
    expires = moment + SESSION_TTL
    with database.atomic():
        if _hasher().check_needs_rehash(stored):
            Admin.update(password_hash=_hasher().hash(password)).where(Admin.id == admin.id).execute()
        AdminSession.delete().where(AdminSession.expires_at <= moment).execute()
        AdminSession.create(
            token_sha256=token_hash(token), admin=admin, created_at=moment, expires_at=expires
        )
    return Session(token, admin.name, expires)


def session_admin(token: str, now: datetime | None = None) -> str | None:
    """The name of the admin whose live session ``token`` is, or None."""
    if not token or len(token) > 256:
        return None
    row = (
        AdminSession.select(AdminSession, Admin)
        .join(Admin)
        .where(
            AdminSession.token_sha256 == token_hash(token),
            AdminSession.expires_at > (now or utc_now()),
            Admin.disabled_at.is_null(),
        )
        .first()
    )
    return None if row is None else str(row.admin.name)


def sign_out(token: str) -> None:
    with database.atomic():
        AdminSession.delete().where(AdminSession.token_sha256 == token_hash(token)).execute()
