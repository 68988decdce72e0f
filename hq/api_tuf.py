"""HQ serves its TUF repository: ``GET /tuf/metadata/{name}`` and ``GET /tuf/targets/{name}``.

The files are the ones ``ota repo`` / ``ota release publish`` write into ``<HQ data>/tuf`` (the
folder of HQ's identity file, like the kiosk uploads; docs/ota.md). They are public and served
without authentication: TUF's signatures, not HQ, prove what is genuine, so any static mirror or
CDN may serve the same folder, and an HQ that is broken into still cannot make a kiosk install
what the offline targets key did not sign.

Only names of the repository's own form are served (``N.root.json``, ``timestamp.json``,
``<sha256>.kiosk-1.4.0.tar`` …): the name is matched against a strict pattern before it touches a
path, and the file must be a regular file inside the folder, so no ``..``, slash or link leads out.
Metadata is read whole and sent with its exact length (``timestamp.json`` is replaced every day
while clients read it, so the length must come from the bytes sent, not an earlier stat); targets
never change once written and are streamed, with HTTP ranges so a kiosk resumes a broken download.

The routes are left out of the OpenAPI document: they serve files in the format the TUF
specification defines, for TUF clients, not HQ's JSON API that the document (and the fuzzer that
holds HQ to it) describes.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from hq.errors import ApiError
from hq.i18n import Text

router = APIRouter(prefix="/tuf", tags=["updates"])

#: the repository's folder under HQ's data folder
FOLDER = "tuf"
#: metadata larger than this is not served (ours is a few KB; ngclient refuses far less anyway)
MAX_METADATA_BYTES = 8 * 1024 * 1024
_METADATA_NAME = re.compile(r"^(?:[1-9][0-9]{0,9}\.)?[a-z][a-z0-9_-]{0,63}\.json$")
_TARGET_NAME = re.compile(r"^[0-9a-f]{64}\.[A-Za-z0-9][A-Za-z0-9._+!-]{0,200}$")

NOT_IN_REPOSITORY = Text("the update repository has no file {name}", "更新仓库中没有文件 {name}")
#: versioned metadata and hash-named targets never change; timestamp.json changes daily
_IMMUTABLE = "public, max-age=31536000, immutable"
_FRESH = "no-cache"


def repository_folder(data_folder: Path) -> Path:
    """Where HQ keeps (and ``ota repo`` writes by default) the TUF repository."""
    return data_folder / FOLDER


def _folder(request: Request) -> Path:
    folder: Path = request.app.state.tuf_dir
    return folder


def _missing(name: str) -> ApiError:
    return ApiError(404, NOT_IN_REPOSITORY.format(name=name[:80]))


def _regular_file(folder: Path, name: str) -> Path:
    path = folder / name
    try:
        info = os.lstat(path)
    except OSError:
        raise _missing(name) from None
    if not stat.S_ISREG(info.st_mode):
        raise _missing(name)
    return path


@router.get("/metadata/{name}", include_in_schema=False)
def metadata(name: str, request: Request) -> Response:
    if not _METADATA_NAME.match(name):
        raise _missing(name)
    path = _regular_file(_folder(request) / "metadata", name)
    try:
        with path.open("rb") as f:
            data = f.read(MAX_METADATA_BYTES + 1)
    except OSError:
        raise _missing(name) from None
    if len(data) > MAX_METADATA_BYTES:
        raise _missing(name)
    versioned = name[0].isdigit()
    return Response(
        content=data,
        media_type="application/json",
        headers={"Cache-Control": _IMMUTABLE if versioned else _FRESH},
    )


@router.get("/targets/{name}", include_in_schema=False)
def targets(name: str, request: Request) -> Response:
    if not _TARGET_NAME.match(name):
        raise _missing(name)
    path = _regular_file(_folder(request) / "targets", name)
    return FileResponse(path, media_type="application/octet-stream", headers={"Cache-Control": _IMMUTABLE})
