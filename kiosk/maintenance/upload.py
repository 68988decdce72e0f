"""Sending a support bundle or a store backup to HQ (``POST /api/v1/support/{kind}``, docs/hq.md).

The request is signed like every kiosk request (the signature covers the whole body) and carries
the file's SHA-256; HQ checks it, and its answer names the digest of what it stored, which must be
ours: only then is the upload done.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import requests

from kiosk.i18n import t
from kiosk.maintenance.backup import BackupError, Manifest, backup_store
from kiosk.sync.hq_client import HttpHqClient

SUPPORT_PATH = "/api/v1/support/"


@dataclass(frozen=True, slots=True)
class Uploaded:
    #: the file's name at HQ (for support: "kiosk-uploads/<kiosk>/<name>")
    name: str
    size: int
    sha256: str


def upload_to_hq(client: HttpHqClient, kind: Literal["bundle", "backup"], data: bytes) -> Uploaded:
    """Upload ``data``; BackupError (zh/en) when HQ cannot be reached, refuses it, or stored other bytes."""
    digest = hashlib.sha256(data).hexdigest()
    try:
        response = requests.post(
            client.base_url + SUPPORT_PATH + kind,
            data=data,
            headers={
                "Content-Type": "application/octet-stream",
                "X-Content-SHA256": digest,
            },
            auth=client.signer,
            timeout=(client.timeout_s, max(client.timeout_s, 60.0)),
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        reason = f"{client.base_url}: {type(exc).__name__}"
        raise _refused(reason, reason) from None
    if response.status_code != 200:
        try:
            said = response.json()
            en, zh = str(said.get("error", ""))[:200], str(said.get("error_zh", ""))[:200]
        except ValueError:
            en = zh = ""
        en = f"HTTP {response.status_code} {en}".strip()
        zh = f"HTTP {response.status_code} {zh}".strip()
        raise _refused(en, zh)
    answer = response.json()
    if answer.get("sha256") != digest or answer.get("size") != len(data):
        raise BackupError(t("backup.hq_checksum", "en"), t("backup.hq_checksum", "zh_CN"))
    return Uploaded(str(answer["name"]), int(answer["size"]), digest)


def _refused(en: str, zh: str) -> BackupError:
    return BackupError(t("backup.hq_refused", "en", reason=en), t("backup.hq_refused", "zh_CN", reason=zh))


def backup_to_hq(
    store: Path, kiosk_id: str, app_version: str, client: HttpHqClient, scratch: Path | None = None
) -> tuple[Uploaded, Manifest]:
    """Back the store up into a scratch folder, verify it there (checksum, test restore), upload it,
    and check HQ holds the very bytes the manifest names. The scratch copy is removed after."""
    with tempfile.TemporaryDirectory(prefix="kiosk-backup-", dir=scratch) as folder:
        done = backup_store(store, Path(folder), kiosk_id, app_version)
        uploaded = upload_to_hq(client, "backup", done.file.read_bytes())
    if uploaded.sha256 != done.manifest.sha256:
        raise BackupError(t("backup.hq_checksum", "en"), t("backup.hq_checksum", "zh_CN"))
    return uploaded, done.manifest
