"""Support uploads from kiosks: a support bundle or a store backup, signed, kept as files for support.

``POST /api/v1/support/{kind}`` (``kind`` is ``bundle`` or ``backup``) takes the file as the raw body
(``application/octet-stream``) and its SHA-256 in ``X-Content-SHA256``. HQ checks the digest, then
writes the file 0600 under ``kiosk-uploads/<kiosk id>/`` in its data folder (the folder of its identity
file), in a folder only HQ's user may enter, under a name of HQ's own making: nothing the kiosk sends
becomes part of a path. The answer repeats the digest, so the kiosk knows HQ holds exactly its file.

A backup may carry its manifest in ``X-Backup-Manifest`` (``hq.support_backups``): then HQ keeps
it beside the file, and the kiosk may list its backups (``GET /api/v1/support/backups``) and fetch
one (``GET /api/v1/support/backups/{name}``) to restore it; another kiosk's backups answer 404.

A file is at most ``MAX_UPLOAD_BYTES`` (the limit every HQ body has); a bigger store is backed up to a
USB stick instead. Bundles are scrubbed of secrets on the kiosk before they leave it; backups hold
the kiosk's sales (payment codes only masked and digested), so the folder is private.
"""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from hq.auth import SignedKiosk
from hq.errors import MAX_BODY_BYTES, ApiError, ErrorOut, clip, errors
from hq.i18n import Text
from hq.support_backups import (
    BackupList,
    ManifestRefused,
    backup_file,
    list_backups,
    parse_manifest,
    private_dir,
    write_record,
)
from kiosk_common.files import write_new_private

log = logging.getLogger(__name__)

router = APIRouter()

MAX_UPLOAD_BYTES = MAX_BODY_BYTES
#: the folder under HQ's data folder that holds what kiosks upload
UPLOADS = "kiosk-uploads"
_SUFFIX = {"bundle": ".tar.gz", "backup": ".sqlite3"}
_HEX64 = re.compile(r"^[0-9a-f]{64}$")

EMPTY = Text("the upload is empty; send the file as the body", "上传内容为空：请把文件作为请求体发送")
BAD_DIGEST = Text(
    "X-Content-SHA256 must be the file's SHA-256 as 64 lowercase hex digits",
    "X-Content-SHA256 必须是文件的 SHA-256（64 位小写十六进制）",
)
DIGEST_MISMATCH = Text(
    "the file HQ received does not match X-Content-SHA256: it was damaged on the way; upload it again",
    "总部收到的文件与 X-Content-SHA256 不符：传输中损坏，请重新上传",
)

BAD_MANIFEST = Text(
    "X-Backup-Manifest is not this backup's manifest: {reason}",
    "X-Backup-Manifest 不是本备份的校验清单：{reason}",
)
MANIFEST_NOT_BACKUP = Text(
    "X-Backup-Manifest goes with a backup only, not a support bundle",
    "X-Backup-Manifest 只能随备份上传，不能随支持包上传",
)
NO_SUCH_BACKUP = Text(
    "this kiosk has no backup {name} at HQ; list them at /api/v1/support/backups",
    "本机在总部没有备份 {name}：请先查看 /api/v1/support/backups",
)


class UploadOut(BaseModel):
    name: str = Field(description="the file's name at HQ, for support")
    size: int = Field(description="bytes stored")
    sha256: str = Field(description="SHA-256 of what HQ stored, as 64 lowercase hex digits")


def uploads_folder(request: Request) -> Path:
    """``app.state.support_dir``: set by ``hq.app.create_app`` beside HQ's identity file."""
    folder: Path = request.app.state.support_dir
    return folder


@router.post(
    "/api/v1/support/{kind}",
    response_model=UploadOut,
    responses=errors(400, 401, 411, 413, 422, 429, 500, 503),
    summary="A kiosk's support bundle or store backup, kept as a private file for support",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
    tags=["support"],
)
async def upload(
    kind: Literal["bundle", "backup"],
    request: Request,
    kiosk: SignedKiosk,
    x_content_sha256: Annotated[str, Header(description="SHA-256 of the body, 64 lowercase hex")],
    x_backup_manifest: Annotated[
        str | None,
        Header(
            description="backups only: base64 of the kiosk's manifest JSON (at most 4096 characters); "
            "with it HQ lists the backup for the kiosk to restore"
        ),
    ] = None,
) -> UploadOut:
    if not _HEX64.match(x_content_sha256):
        raise ApiError(422, BAD_DIGEST, [{"field": "X-Content-SHA256", "problem": BAD_DIGEST.en}])
    body = await request.body()  # BodyLimit has refused anything over MAX_UPLOAD_BYTES
    if not body:
        raise ApiError(422, EMPTY, [{"field": "body", "problem": EMPTY.en}])
    digest = hashlib.sha256(body).hexdigest()
    if digest != x_content_sha256:
        raise ApiError(422, DIGEST_MISMATCH, [{"field": "X-Content-SHA256", "problem": DIGEST_MISMATCH.en}])
    manifest = None
    if x_backup_manifest is not None:
        if kind != "backup":
            raise ApiError(
                422, MANIFEST_NOT_BACKUP, [{"field": "X-Backup-Manifest", "problem": MANIFEST_NOT_BACKUP.en}]
            )
        try:
            manifest = parse_manifest(x_backup_manifest, digest, len(body), kiosk.kiosk_id)
        except ManifestRefused as exc:
            text = BAD_MANIFEST.format(reason=str(exc))
            raise ApiError(422, text, [{"field": "X-Backup-Manifest", "problem": text.en}]) from None
    folder = uploads_folder(request)
    mine = folder / kiosk.kiosk_id  # kiosk ids are [A-Za-z0-9._-], checked at enrolment
    private_dir(folder)
    private_dir(mine)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    name = f"{kind}-{stamp}-{digest[:12]}{_SUFFIX[kind]}"
    path = mine / name
    write_new_private(path, body)
    if manifest is not None:
        write_record(mine, name, manifest, kiosk.kiosk_id)
    log.info("kiosk %s uploaded a %s: %s (%d bytes)", kiosk.kiosk_id, kind, name, len(body))
    return UploadOut(name=name, size=len(body), sha256=digest)


@router.get(
    "/api/v1/support/backups",
    response_model=BackupList,
    responses=errors(401, 429, 500, 503),
    summary="This kiosk's store backups at HQ (its own, and any an admin granted it), newest first",
    tags=["support"],
)
async def backups(request: Request, kiosk: SignedKiosk) -> BackupList:
    folder = uploads_folder(request) / kiosk.kiosk_id
    return BackupList(backups=await run_in_threadpool(list_backups, folder))


@router.get(
    "/api/v1/support/backups/{name}",
    response_class=Response,
    responses={
        200: {
            "description": "the backup file; X-Content-SHA256 is its SHA-256",
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        },
        404: {"model": ErrorOut, "description": "No backup of this kiosk's by that name"},
        **errors(401, 422, 429, 500, 503),
    },
    summary="One of this kiosk's store backups (404 for a name it does not have, or another kiosk's)",
    tags=["support"],
)
async def backup_download(name: str, request: Request, kiosk: SignedKiosk) -> Response:
    path = backup_file(uploads_folder(request) / kiosk.kiosk_id, name)
    if path is None:
        shown = clip(name, 80)
        raise ApiError(404, NO_SUCH_BACKUP.format(name=shown), [{"field": "name", "problem": "unknown"}])
    data = await run_in_threadpool(path.read_bytes)
    digest = hashlib.sha256(data).hexdigest()
    log.info("kiosk %s fetched its backup %s (%d bytes)", kiosk.kiosk_id, name, len(data))
    return Response(
        data,
        media_type="application/octet-stream",
        headers={"X-Content-SHA256": digest, "Cache-Control": "no-store"},
    )
