"""Sending a support bundle or a store backup to HQ (``POST /api/v1/support/{kind}``, docs/hq.md),
and fetching a backup back from HQ to restore it (``GET /api/v1/support/backups[/{name}]``).

The request is signed like every kiosk request (the signature covers the whole body) and carries
the file's SHA-256; HQ checks it, and its answer names the digest of what it stored, which must be
ours: only then is the upload done. A backup goes with its manifest (``X-Backup-Manifest``, base64
of its JSON), which HQ keeps beside it, so the backup can be verified again when it comes back.

A backup fetched from HQ is written into a scratch folder with the manifest HQ listed for it, and
must match three ways before anyone may restore it: the digest in HQ's listing, the manifest's
digest and size, and the bytes that arrived. The caller then verifies it (``verify_backup``: the
checksum again and a test restore).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import requests

from kiosk.i18n import t
from kiosk.maintenance.backup import (
    MANIFEST_SUFFIX,
    BackupError,
    Counts,
    Manifest,
    backup_store,
    localized_error,
)
from kiosk.sync.hq_client import HttpHqClient

SUPPORT_PATH = "/api/v1/support/"
BACKUPS_PATH = "/api/v1/support/backups"
#: the names HQ gives backups (``hq.support_backups.BACKUP_NAME_RE``): nothing else becomes a path here
HQ_BACKUP_NAME = re.compile(r"^backup-[0-9]{8}T[0-9]{12}Z-[0-9a-f]{12}\.sqlite3$")
#: the largest backup HQ takes (its body limit), so the largest we fetch
MAX_BACKUP_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Uploaded:
    #: the file's name at HQ (for support: "kiosk-uploads/<kiosk>/<name>")
    name: str
    size: int
    sha256: str


def upload_to_hq(
    client: HttpHqClient,
    kind: Literal["bundle", "backup"],
    data: bytes,
    manifest: Manifest | None = None,
) -> Uploaded:
    """Upload ``data`` (a backup with its ``manifest``); BackupError (zh/en) when HQ cannot be
    reached, refuses it, or stored other bytes."""
    digest = hashlib.sha256(data).hexdigest()
    headers = {"Content-Type": "application/octet-stream", "X-Content-SHA256": digest}
    if manifest is not None:
        compact = json.dumps(asdict(manifest), ensure_ascii=True, separators=(",", ":"))
        headers["X-Backup-Manifest"] = base64.b64encode(compact.encode("utf-8")).decode("ascii")
    try:
        response = requests.post(
            client.base_url + SUPPORT_PATH + kind,
            data=data,
            headers=headers,
            auth=client.signer,
            timeout=(client.timeout_s, max(client.timeout_s, 60.0)),
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        reason = f"{client.base_url}: {type(exc).__name__}"
        raise _refused(reason, reason) from None
    if response.status_code != 200:
        raise _refused(*_said(response))
    answer = response.json()
    if answer.get("sha256") != digest or answer.get("size") != len(data):
        raise BackupError(t("backup.hq_checksum", "en"), t("backup.hq_checksum", "zh_CN"))
    return Uploaded(str(answer["name"]), int(answer["size"]), digest)


def _said(response: requests.Response) -> tuple[str, str]:
    """What HQ said in a refusal, in English and Chinese, each with the status."""
    try:
        said = response.json()
        en, zh = str(said.get("error", ""))[:200], str(said.get("error_zh", ""))[:200]
    except (ValueError, AttributeError):
        en = zh = ""
    return f"HTTP {response.status_code} {en}".strip(), f"HTTP {response.status_code} {zh}".strip()


def _refused(en: str, zh: str) -> BackupError:
    return BackupError(t("backup.hq_refused", "en", reason=en), t("backup.hq_refused", "zh_CN", reason=zh))


def backup_to_hq(
    store: Path, kiosk_id: str, app_version: str, client: HttpHqClient, scratch: Path | None = None
) -> tuple[Uploaded, Manifest]:
    """Back the store up into a scratch folder, verify it there (checksum, test restore), upload it,
    and check HQ holds the very bytes the manifest names. The scratch copy is removed after."""
    with tempfile.TemporaryDirectory(prefix="kiosk-backup-", dir=scratch) as folder:
        done = backup_store(store, Path(folder), kiosk_id, app_version)
        uploaded = upload_to_hq(client, "backup", done.file.read_bytes(), done.manifest)
    if uploaded.sha256 != done.manifest.sha256:
        raise BackupError(t("backup.hq_checksum", "en"), t("backup.hq_checksum", "zh_CN"))
    return uploaded, done.manifest


# --- restoring from HQ -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HqBackup:
    """One backup HQ lists for this kiosk (``GET /api/v1/support/backups``)."""

    name: str
    size: int
    sha256: str
    uploaded_at: str
    #: the kiosk whose backup an admin granted to this one, if it is not our own
    granted_from: str | None
    manifest: Manifest


def _manifest(data: Any) -> Manifest:
    counts = Counts(**{k: int(data["counts"][k]) for k in Counts.__dataclass_fields__})
    fields = {k: data[k] for k in Manifest.__dataclass_fields__ if k != "counts"}
    if not all(isinstance(v, str) for k, v in fields.items() if k != "size"):
        raise TypeError("a manifest field is not text")
    return Manifest(counts=counts, **{**fields, "size": int(fields["size"])})


def _hq_get(client: HttpHqClient, path: str, stream: bool = False) -> requests.Response:
    try:
        return requests.get(
            client.base_url + path,
            auth=client.signer,
            timeout=(client.timeout_s, max(client.timeout_s, 60.0)),
            allow_redirects=False,
            stream=stream,
        )
    except requests.RequestException as exc:
        reason = f"{client.base_url}: {type(exc).__name__}"
        raise _refused_fetch(reason, reason) from None


def _refused_fetch(en: str, zh: str) -> BackupError:
    return BackupError(
        t("backup.hq_fetch_failed", "en", reason=en), t("backup.hq_fetch_failed", "zh_CN", reason=zh)
    )


def list_hq_backups(client: HttpHqClient) -> list[HqBackup]:
    """The backups HQ holds for this kiosk, newest first; BackupError (zh/en) when HQ cannot say.
    Entries that are not as the contract says are left out (outside input)."""
    response = _hq_get(client, BACKUPS_PATH)
    if response.status_code != 200:
        raise _refused_fetch(*_said(response))
    try:
        rows = response.json()["backups"]
    except (ValueError, KeyError, TypeError):
        raise _refused_fetch("not a list of backups", "不是备份列表") from None
    found = []
    for row in rows if isinstance(rows, list) else []:
        try:
            backup = HqBackup(
                name=str(row["name"]),
                size=int(row["size"]),
                sha256=str(row["sha256"]),
                uploaded_at=str(row["uploaded_at"]),
                granted_from=str(row["granted_from"]) if row.get("granted_from") else None,
                manifest=_manifest(row["manifest"]),
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            continue
        if HQ_BACKUP_NAME.fullmatch(backup.name) and 0 < backup.size <= MAX_BACKUP_BYTES:
            found.append(backup)
    return found


def fetch_hq_backup(client: HttpHqClient, backup: HqBackup, folder: Path) -> Path:
    """Download ``backup`` into ``folder`` with its manifest beside it; the file's path.

    BackupError (zh/en), and nothing left behind, when HQ does not send it, or what arrives is not
    what HQ listed and the manifest names (size, SHA-256).
    """
    if not HQ_BACKUP_NAME.fullmatch(backup.name):
        raise localized_error("backup.hq_mismatch", name=backup.name[:80])
    m = backup.manifest
    if m.sha256 != backup.sha256 or m.size != backup.size:
        raise localized_error("backup.hq_mismatch", name=backup.name)
    target = folder / backup.name
    part = target.with_name(target.name + ".part")
    response = _hq_get(client, f"{BACKUPS_PATH}/{backup.name}", stream=True)
    try:
        if response.status_code != 200:
            raise _refused_fetch(*_said(response))
        length = response.headers.get("Content-Length", "")
        if not length.isdigit() or int(length) != backup.size:
            raise localized_error("backup.hq_mismatch", name=backup.name)
        digest = hashlib.sha256()
        got = 0
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "wb") as f:
                for block in response.iter_content(1 << 16):
                    got += len(block)
                    if got > backup.size:
                        raise localized_error("backup.hq_mismatch", name=backup.name)
                    digest.update(block)
                    f.write(block)
                f.flush()
                os.fsync(f.fileno())
        except requests.RequestException as exc:
            raise _refused_fetch(type(exc).__name__, type(exc).__name__) from None
        if got != backup.size or digest.hexdigest() != backup.sha256:
            raise localized_error("backup.hq_mismatch", name=backup.name)
        os.replace(part, target)
        manifest = target.with_name(target.name + MANIFEST_SUFFIX)
        fd = os.open(manifest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(m.to_json())
    except BaseException:
        part.unlink(missing_ok=True)
        target.unlink(missing_ok=True)
        raise
    finally:
        response.close()
    return target
