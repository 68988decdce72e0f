"""The store backups kiosks keep at HQ: each with its manifest, listed and fetched by its own kiosk
only, and granted by an admin to the kiosk that replaces another (new hardware, same store).

A backup upload (``hq.api_support``) may carry the kiosk's manifest (the one ``kiosk.maintenance.
backup`` writes beside every backup: SHA-256, size, counts) in the ``X-Backup-Manifest`` header,
base64 of its JSON, at most ``MAX_MANIFEST_HEADER`` characters. It is checked strictly
(:func:`parse_manifest`: exactly the manifest's fields, its digest and size those of the body, its
kiosk the signer) and kept beside the file as ``<name>.json``, a record that adds when HQ got the file
and from whom. Only a backup with such a record is listed: one without a manifest cannot be verified
by a test restore on the kiosk, so it stays for support alone.

Everything here lives in the kiosk's own folder (``kiosk-uploads/<kiosk id>/``, 0700, files 0600);
names are HQ's own (:data:`BACKUP_NAME_RE`), so no name a client sends can point outside it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kiosk_common.files import write_new_private

#: base64 of the manifest's JSON, in characters (a manifest is some 400 bytes)
MAX_MANIFEST_HEADER = 4096
#: the names HQ gives backups (``hq.api_support``); anything else is no backup of ours
BACKUP_NAME_RE = re.compile(r"^backup-[0-9]{8}T[0-9]{12}Z-[0-9a-f]{12}\.sqlite3$")
RECORD_SUFFIX = ".json"
#: what a kiosk lists at most (newest first); older ones stay on disk for support
MAX_LISTED = 50

_HEX64 = r"^[0-9a-f]{64}$"
_ID = r"^[A-Za-z0-9._-]{1,64}$"


class BackupCounts(BaseModel):
    """``kiosk.maintenance.backup.Counts``: what the store held; a test restore must find the same."""

    model_config = ConfigDict(extra="forbid", strict=True)

    schema_version: int = Field(ge=0, le=1_000_000)
    sales_recorded: int = Field(ge=0, le=10**12)
    orders: int = Field(ge=0, le=10**12)
    paid: int = Field(ge=0, le=10**12)
    outbox_pending: int = Field(ge=0, le=10**12)


class BackupManifest(BaseModel):
    """``kiosk.maintenance.backup.Manifest``, field for field (no field more, none less)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    file: str = Field(pattern=r"^[A-Za-z0-9._-]{1,200}\.sqlite3$")
    sha256: str = Field(pattern=_HEX64)
    size: int = Field(gt=0)
    kiosk_id: str = Field(pattern=_ID)
    created_at: str = Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")
    app_version: str = Field(min_length=1, max_length=64)
    counts: BackupCounts


class BackupOut(BaseModel):
    """One backup a kiosk may restore (``GET /api/v1/support/backups``)."""

    name: str = Field(description="HQ's name for the file; fetch it at /api/v1/support/backups/{name}")
    size: int = Field(description="bytes")
    sha256: str = Field(description="SHA-256 of the file, 64 lowercase hex digits")
    uploaded_at: str = Field(description="when HQ received it, ISO 8601 UTC")
    uploaded_by: str = Field(description="the kiosk that uploaded it")
    granted_from: str | None = Field(
        None, description="the kiosk whose backup an admin granted to this one (replaced hardware)"
    )
    manifest: BackupManifest = Field(description="the kiosk's manifest: checksum, size and counts")


class BackupList(BaseModel):
    backups: list[BackupOut] = Field(description=f"this kiosk's backups, newest first, at most {MAX_LISTED}")


class ManifestRefused(ValueError):
    """The manifest header cannot be taken; ``str`` says why (English, for the 422's ``problem``)."""


def parse_manifest(header: str, body_sha256: str, body_size: int, kiosk_id: str) -> BackupManifest:
    """The manifest in ``X-Backup-Manifest``, or ManifestRefused: too long, not base64 of a JSON
    object, a field missing, extra or of the wrong type, or not describing this very body and kiosk."""
    if len(header) > MAX_MANIFEST_HEADER:
        raise ManifestRefused(f"longer than {MAX_MANIFEST_HEADER} characters")
    try:
        raw = base64.b64decode(header.encode("ascii"), validate=True)
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeError, binascii.Error, ValueError):
        raise ManifestRefused("not base64 of the manifest's UTF-8 JSON") from None
    try:
        manifest = BackupManifest.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "manifest"
        raise ManifestRefused(f"{where}: {first['msg']}") from None
    if manifest.sha256 != body_sha256 or manifest.size != body_size:
        raise ManifestRefused("its sha256 and size are not the uploaded file's")
    if manifest.kiosk_id != kiosk_id:
        raise ManifestRefused(f"it names kiosk {manifest.kiosk_id!r}, not the signer {kiosk_id!r}")
    return manifest


def _write_new(path: Path, data: bytes) -> None:
    """A new file 0600 (never over another), synced."""
    write_new_private(path, data)


def private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)


def write_record(
    folder: Path,
    name: str,
    manifest: BackupManifest,
    uploaded_by: str,
    uploaded_at: datetime | None = None,
    granted_from: str | None = None,
) -> None:
    """The record beside backup ``name`` in ``folder``: what the kiosk list shows of it."""
    at = (uploaded_at or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    record = BackupOut(
        name=name,
        size=manifest.size,
        sha256=manifest.sha256,
        uploaded_at=at,
        uploaded_by=uploaded_by,
        granted_from=granted_from,
        manifest=manifest,
    )
    _write_new(folder / (name + RECORD_SUFFIX), record.model_dump_json().encode("utf-8"))


def _read_record(path: Path) -> BackupOut | None:
    try:
        return BackupOut.model_validate_json(path.read_bytes())
    except (OSError, ValidationError):
        return None


def list_backups(folder: Path) -> list[BackupOut]:
    """The backups in one kiosk's folder that have a record and whose file is there, newest first."""
    if not folder.is_dir():
        return []
    found = []
    for path in folder.glob("backup-*" + RECORD_SUFFIX):
        name = path.name.removesuffix(RECORD_SUFFIX)
        if not BACKUP_NAME_RE.fullmatch(name) or not (folder / name).is_file():
            continue
        record = _read_record(path)
        if record is not None and record.name == name:
            found.append(record)
    found.sort(key=lambda r: (r.uploaded_at, r.name), reverse=True)
    return found[:MAX_LISTED]


def backup_file(folder: Path, name: str) -> Path | None:
    """The file of backup ``name`` in ``folder`` (a kiosk's own), or None: a name HQ did not make,
    or no such listed backup. Checked against the pattern before it touches a path."""
    if not BACKUP_NAME_RE.fullmatch(name):
        return None
    path = folder / name
    if not path.is_file() or not (folder / (name + RECORD_SUFFIX)).is_file():
        return None
    return path


@dataclass(frozen=True, slots=True)
class Granted:
    name: str
    from_kiosk: str
    to_kiosk: str
    store: str
    sha256: str
    #: events the old kiosk had not sent when it made the backup (HQ parks them from the new kiosk)
    outbox_pending: int


class GrantError(ValueError):
    """A grant that cannot be made; ``key`` picks the admin's message, ``fields`` fill it."""

    def __init__(self, key: str, **fields: Any) -> None:
        super().__init__(key)
        self.key = key
        self.fields = fields


def grant_backup(uploads: Path, name: str, from_kiosk: str, to_kiosk: str, actor: str) -> Granted:
    """Copy backup ``name`` of ``from_kiosk`` into ``to_kiosk``'s folder (both kiosks of one store),
    so the replacement can list and restore it; written to HQ's audit. GrantError otherwise."""
    from hq.models import Device, HqAudit, Store, database

    if from_kiosk == to_kiosk:
        raise GrantError("same", kiosk=to_kiosk)
    devices = {d.kiosk_id: d for d in Device.select().where(Device.kiosk_id.in_([from_kiosk, to_kiosk]))}
    for kiosk in (from_kiosk, to_kiosk):
        if kiosk not in devices:
            raise GrantError("unknown_kiosk", kiosk=kiosk)
    source_store, target_store = devices[from_kiosk].store_id, devices[to_kiosk].store_id
    if source_store is None or source_store != target_store:
        raise GrantError("other_store", source=from_kiosk, target=to_kiosk)
    source = backup_file(uploads / from_kiosk, name)
    record = _read_record(uploads / from_kiosk / (name + RECORD_SUFFIX)) if source else None
    if source is None or record is None:
        raise GrantError("no_backup", name=name, kiosk=from_kiosk)
    data = source.read_bytes()
    if hashlib.sha256(data).hexdigest() != record.sha256 or len(data) != record.size:
        raise GrantError("damaged", name=name, kiosk=from_kiosk)
    target = uploads / to_kiosk
    private_dir(uploads)
    private_dir(target)
    if (target / name).exists() or (target / (name + RECORD_SUFFIX)).exists():
        raise GrantError("exists", name=name, kiosk=to_kiosk)
    store_code = Store.get_by_id(source_store).code
    with database.atomic():
        HqAudit.create(
            actor=actor[:80],
            action="backup_granted",
            target=to_kiosk,
            detail=json.dumps(
                {
                    "backup": name,
                    "from": from_kiosk,
                    "to": to_kiosk,
                    "store": store_code,
                    "sha256": record.sha256,
                },
                sort_keys=True,
            ),
        )
        _write_new(target / name, data)
        try:
            write_record(
                target,
                name,
                record.manifest,
                record.uploaded_by,
                datetime.strptime(record.uploaded_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC),
                granted_from=from_kiosk,
            )
        except BaseException:
            (target / name).unlink(missing_ok=True)
            raise
    return Granted(
        name, from_kiosk, to_kiosk, store_code, record.sha256, record.manifest.counts.outbox_pending
    )
