"""The kiosk's HQ credentials file: what enrolment gave it (docs/sync-protocol.md §1).

It holds the kiosk's signing secret, so it lives outside the database (a copy of the store must not
carry it), readable by the kiosk's user only (0600), and is written whole or not at all: a temporary
file in the same folder, fsynced, then renamed over the name. A file that exists is replaced only
when the caller says so (``kiosk enroll --replace``): re-enrolling makes HQ forget the old secret.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kiosk_common.signing import SECRET_BYTES

_KIOSK_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_SECRET_HEX = re.compile(rf"^[0-9a-f]{{{SECRET_BYTES * 2}}}$")


class CredentialsError(RuntimeError):
    """The credentials file is missing, unreadable, malformed, or too open; the text says what to do."""


class NotEnrolled(CredentialsError):
    """No credentials file: this kiosk was never enrolled (or its file was moved)."""


@dataclass(frozen=True, slots=True)
class Credentials:
    kiosk_id: str
    store: str
    secret: bytes
    hq_url: str
    enrolled_at: str

    def __repr__(self) -> str:  # never the secret
        return f"Credentials(kiosk_id={self.kiosk_id!r}, store={self.store!r}, hq_url={self.hq_url!r})"

    def as_json(self) -> dict[str, Any]:
        return {
            "kiosk_id": self.kiosk_id,
            "store": self.store,
            "secret": self.secret.hex(),
            "hq_url": self.hq_url,
            "enrolled_at": self.enrolled_at,
        }


def now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def same_hq(a: str, b: str) -> bool:
    """Two spellings of one HQ address (a trailing slash, the scheme's or host's case)."""

    def norm(url: str) -> str:
        url = url.strip().rstrip("/")
        scheme, _, rest = url.partition("://")
        host, slash, path = rest.partition("/")
        return f"{scheme.lower()}://{host.lower()}{slash}{path}"

    return norm(a) == norm(b)


def load_credentials(path: Path) -> Credentials:
    """The credentials in ``path``, checked; NotEnrolled when there is no file, CredentialsError else."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise NotEnrolled(
            f"this kiosk is not enrolled at HQ: {path} does not exist. Ask the HQ admin for an enrolment code "
            "(hq device enroll-code --store STORE) and run: kiosk enroll CODE --hq HQ_URL"
        ) from None
    except OSError as exc:
        raise CredentialsError(f"cannot read the HQ credentials {path} ({exc.strerror})") from None
    if not stat.S_ISREG(st.st_mode):
        raise CredentialsError(f"the HQ credentials {path} is not a file")
    if st.st_mode & 0o077:
        raise CredentialsError(
            f"the HQ credentials {path} can be read by other users (mode {stat.S_IMODE(st.st_mode):04o}); "
            f"run: chmod 600 {path}"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise CredentialsError(
            f"the HQ credentials {path} cannot be read ({type(exc).__name__}); enrol again: "
            "kiosk enroll CODE --hq HQ_URL --replace"
        ) from None
    problems = []
    if not isinstance(data, dict):
        data = {}
        problems.append("it is not a JSON object")
    kiosk_id, store, secret, hq_url, enrolled_at = (
        data.get(k) for k in ("kiosk_id", "store", "secret", "hq_url", "enrolled_at")
    )
    if not isinstance(kiosk_id, str) or not _KIOSK_ID.fullmatch(kiosk_id):
        problems.append("kiosk_id is missing or not 1-64 letters, digits, '.', '_' or '-'")
    if not isinstance(store, str) or not store:
        problems.append("store is missing")
    if not isinstance(secret, str) or not _SECRET_HEX.fullmatch(secret):
        problems.append(f"secret is missing or not {SECRET_BYTES * 2} lower-case hex digits")
    if not isinstance(hq_url, str) or not re.fullmatch(r"https?://\S+", hq_url):
        problems.append("hq_url is missing or not an http(s) address")
    if problems:
        raise CredentialsError(
            f"the HQ credentials {path} are damaged ({'; '.join(problems)}); enrol again: "
            "kiosk enroll CODE --hq HQ_URL --replace"
        )
    assert isinstance(kiosk_id, str) and isinstance(store, str) and isinstance(secret, str)
    assert isinstance(hq_url, str)
    return Credentials(kiosk_id, store, bytes.fromhex(secret), hq_url, str(enrolled_at or ""))


def write_credentials(path: Path, creds: Credentials, *, replace: bool = False) -> None:
    """Write ``creds`` to ``path`` (0600) atomically: all of it or, on any failure, nothing (the old
    file, if any, stays as it was). FileExistsError when the file exists and ``replace`` is False."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and not replace:
        raise FileExistsError(str(path))
    text = json.dumps(creds.as_json(), indent=2) + "\n"
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        try:
            os.fchmod(fd, 0o600)  # whatever the umask
            data = text.encode("utf-8")
            written = 0
            while written < len(data):
                written += os.write(fd, data[written:])
            os.fsync(fd)
        finally:
            os.close(fd)
        if not replace:
            # link() fails if the name appeared meanwhile: never replace what we were not told to
            os.link(tmp, path)
            os.unlink(tmp)
        else:
            os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # the rename itself durable, where the filesystem allows
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
