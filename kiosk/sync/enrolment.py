"""Redeeming a one-time enrolment code at HQ for this kiosk's signing secret: one function that
``kiosk enroll`` and the kiosk's enrolment screen (``kiosk.enrolment_desk``) both call.

``POST /api/v1/enrol`` (docs/sync-protocol.md §1) answers with the kiosk's secret, given this once;
it goes straight into the credentials file (``[hq] credentials_file``, 0600, outside the database),
written whole or not at all. An existing file is replaced only with ``replace``: HQ has already
made the old secret stop working when it answers, so the check comes BEFORE the code is spent.
The secret is never printed or logged; every error says in the kiosk's language what to do.
It blocks for up to ``timeout_s`` twice over: never call it on the UI thread.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import requests

from kiosk import __version__
from kiosk.i18n import t
from kiosk.sync.credentials import Credentials, now_iso, write_credentials
from kiosk.sync.signed import PROTOCOL_HEADER, PROTOCOL_VERSION
from kiosk_common.enrolment import CODE_RE, KIOSK_ID_RE

ENROL_PATH = "/api/v1/enrol"
_CODE = CODE_RE
_KIOSK_ID = KIOSK_ID_RE
_URL = re.compile(r"^https?://[^\s/]+(:\d+)?(/\S*)?$")
_SECRET = re.compile(r"^[0-9a-f]{64}$")


class EnrolFailed(RuntimeError):
    """The enrolment did not happen; the text is for the installer, in the kiosk's language.

    ``retry``: the same code may still work later (HQ unreachable, busy or holding back), so the
    enrolment screen tries it again when it is shown again; otherwise the code is not tried twice.
    """

    def __init__(self, text: str, *, retry: bool = False) -> None:
        super().__init__(text)
        self.retry = retry


def _said(response: requests.Response) -> str:
    """HQ's own words (its error text and field problems), clipped; never anything we sent."""
    try:
        body = response.json()
    except ValueError:
        return response.reason or str(response.status_code)
    if not isinstance(body, dict):
        return str(response.status_code)
    parts = [str(body.get("error", ""))[:300]]
    detail = body.get("detail")
    if isinstance(detail, list):
        parts += [str(d.get("problem", ""))[:200] for d in detail[:3] if isinstance(d, dict)]
    return "; ".join(p for p in parts if p) or str(response.status_code)


def enrol(
    code: str,
    hq_url: str,
    kiosk_id: str,
    path: Path,
    language: str,
    *,
    replace: bool = False,
    timeout_s: float = 10.0,
    session: requests.Session | None = None,
) -> Credentials:
    """Redeem ``code`` at ``hq_url`` for ``kiosk_id`` and write the credentials to ``path``.

    EnrolFailed (in ``language``) for every failure; nothing is written then, and an existing file
    stays as it was.
    """
    code = code.strip()
    hq_url = hq_url.strip().rstrip("/")
    if not _URL.fullmatch(hq_url):
        raise EnrolFailed(t("enroll.bad_url", language, url=hq_url[:100]))
    if not _KIOSK_ID.fullmatch(kiosk_id):
        raise EnrolFailed(t("enroll.bad_kiosk_id", language, kiosk_id=kiosk_id[:80]))
    if not _CODE.fullmatch(code):
        raise EnrolFailed(t("enroll.code_format", language))
    if path.exists() and not replace:  # before the code is spent: HQ would retire the old secret
        raise EnrolFailed(t("enroll.exists", language, path=path))
    http = session or requests.Session()
    try:
        response = http.post(
            hq_url + ENROL_PATH,
            json={"code": code, "kiosk_id": kiosk_id, "app_version": __version__},
            headers={PROTOCOL_HEADER: str(PROTOCOL_VERSION), "Accept": "application/json"},
            timeout=(timeout_s, timeout_s),
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        match = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", str(exc))
        reason = match.group(1).strip() if match else type(exc).__name__
        raise EnrolFailed(t("enroll.unreachable", language, url=hq_url, reason=reason), retry=True) from None
    finally:
        if session is None:
            http.close()
    status = response.status_code
    if status == 401:
        raise EnrolFailed(t("enroll.bad_code", language))
    if status == 409:
        raise EnrolFailed(t("enroll.other_store", language, detail=_said(response)))
    if status == 429:
        wait = response.headers.get("Retry-After", "")
        raise EnrolFailed(
            t("enroll.rate_limited", language, seconds=wait if wait.isdigit() else "60"), retry=True
        )
    if status != 201:
        if status in (400, 404, 413, 422) or status >= 500:
            text = t("enroll.refused", language, status=status, detail=_said(response))
            raise EnrolFailed(text, retry=status >= 500)
        raise EnrolFailed(t("enroll.not_hq", language, url=hq_url, status=status))
    creds = _credentials(response, kiosk_id, hq_url)
    if creds is None:
        raise EnrolFailed(t("enroll.not_hq", language, url=hq_url, status=status))
    try:
        write_credentials(path, creds, replace=replace)
    except FileExistsError:
        raise EnrolFailed(t("enroll.exists", language, path=path)) from None
    except OSError as exc:
        raise EnrolFailed(t("enroll.write_failed", language, path=path, reason=exc.strerror or exc)) from None
    return creds


def _credentials(response: requests.Response, kiosk_id: str, hq_url: str) -> Credentials | None:
    try:
        body: Any = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    secret, store, got_id = body.get("secret"), body.get("store"), body.get("kiosk_id")
    store_code = store.get("code") if isinstance(store, dict) else None
    if not (isinstance(secret, str) and _SECRET.fullmatch(secret)):
        return None
    if got_id != kiosk_id or not isinstance(store_code, str) or not store_code:
        return None
    return Credentials(kiosk_id, store_code, bytes.fromhex(secret), hq_url, now_iso())
