"""IT's SSH switch as the kiosk reads and writes it: public keys checked line by line, their
fingerprints, and the request file that ``kiosk-ssh`` (the image's root-side script) honours.

Pure: the caller reads the files (``kiosk.staff_it``); everything here parses and formats, so it is
tested on made-up keys without a USB stick or systemd.

Which keys: ``ssh-ed25519``, ``ecdsa-sha2-nistp256/384/521`` and ``ssh-rsa`` of at least 3072 bits
(NIST's and OpenSSH's floor for RSA past 2030), each decoded and checked, not matched by pattern.
Options before the key (``command=``, ``from=``, ``no-pty``...) are refused: they are how a stolen
kiosk file would be made to run something, and IT's only use of this file is to log in as ``it``;
restricting where from is the firewall's work, not the key's. A file with any line that fails is
refused whole, so what IT sees (the fingerprints) is exactly what will be let in.

The request file (``[maintenance] ssh_switch``) is two lines, ``on`` and ``until=<UTC epoch
seconds>``; ``kiosk-ssh`` turns SSH off (and removes both files) once that time has passed,
checked every minute while SSH is on (``kiosk-ssh-expire.timer``), and at boot.

IT's list (``[maintenance] ssh_allow_list``, root's): ``kiosk-ssh`` lets in only the written keys
whose type and base64 are also on it, whatever their comments. :func:`allow_list` reads it the same
way, so the kiosk can tell IT up front which keys would be let in instead of writing a request that
``kiosk-ssh`` then refuses where only its journal says so.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime

#: at most this many keys in one file: one per IT person on call is plenty
MAX_KEYS = 10
#: the largest key file read from a stick (ten 4096-bit RSA keys with comments fit easily)
MAX_FILE_BYTES = 64 * 1024
MIN_RSA_BITS = 3072
MAX_COMMENT = 100

_ECDSA_POINT = {"nistp256": 65, "nistp384": 97, "nistp521": 133}
KEY_TYPES = ("ssh-ed25519", *(f"ecdsa-sha2-{c}" for c in _ECDSA_POINT), "ssh-rsa")
#: the comment the kiosk keeps: printable ASCII, at most MAX_COMMENT characters
_COMMENT = re.compile(r"^[\x20-\x7e]{0,100}$")  # MAX_COMMENT
_BASE64 = re.compile(r"^[A-Za-z0-9+/]+={0,3}$")


class KeyFileError(ValueError):
    """A key file the kiosk refuses; ``line`` is 1-based (0: the file as a whole) and ``reason``
    is one of the ``it.ssh.bad.*`` texts' keys, with ``fields`` for it."""

    def __init__(self, line: int, reason: str, **fields: object) -> None:
        super().__init__(f"line {line}: {reason} {fields}" if line else f"{reason} {fields}")
        self.line = line
        self.reason = reason
        self.fields = fields


@dataclass(frozen=True, slots=True)
class PublicKey:
    kind: str
    #: the key's bits as sshd sees them (base64 of the wire blob)
    blob: str
    comment: str
    bits: int

    @property
    def fingerprint(self) -> str:
        """``SHA256:...`` as ``ssh-keygen -l`` prints it: what IT compares, never the key itself."""
        digest = hashlib.sha256(base64.b64decode(self.blob)).digest()
        return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")

    def line(self) -> str:
        """The line written for sshd: type, key, comment; nothing else."""
        return f"{self.kind} {self.blob} {self.comment}".rstrip()

    def label(self) -> str:
        """What the screen and the audit row show: type, size, fingerprint, comment."""
        name = self.kind.removeprefix("ssh-").removeprefix("ecdsa-sha2-")
        return f"{name} {self.bits} {self.fingerprint}" + (f" {self.comment}" if self.comment else "")


def _string(data: bytes, at: int) -> tuple[bytes, int]:
    """One SSH wire-format string (4-byte big-endian length, then the bytes)."""
    if at + 4 > len(data):
        raise ValueError("short")
    n = int.from_bytes(data[at : at + 4], "big")
    if at + 4 + n > len(data):
        raise ValueError("short")
    return data[at + 4 : at + 4 + n], at + 4 + n


def _decoded(kind: str, blob: bytes) -> int:
    """Check the wire blob of a ``kind`` key; its size in bits. ValueError names what is wrong."""
    name, at = _string(blob, 0)
    if name.decode("ascii", "replace") != kind:
        raise ValueError("type_mismatch")
    if kind == "ssh-ed25519":
        point, at = _string(blob, at)
        if len(point) != 32:
            raise ValueError("damaged")
        bits = 256
    elif kind.startswith("ecdsa-sha2-"):
        curve, at = _string(blob, at)
        point, at = _string(blob, at)
        expected = _ECDSA_POINT[kind.removeprefix("ecdsa-sha2-")]
        if curve.decode("ascii", "replace") != kind.removeprefix("ecdsa-sha2-"):
            raise ValueError("type_mismatch")
        if len(point) != expected or point[0] != 4:
            raise ValueError("damaged")
        bits = {65: 256, 97: 384, 133: 521}[expected]
    else:
        e_bytes, at = _string(blob, at)
        n_bytes, at = _string(blob, at)
        e, n = int.from_bytes(e_bytes, "big"), int.from_bytes(n_bytes, "big")
        if e < 3 or e % 2 == 0 or n % 2 == 0:
            raise ValueError("damaged")
        bits = n.bit_length()
        if bits < MIN_RSA_BITS:
            raise ValueError(f"rsa_short:{bits}")
    if at != len(blob):
        raise ValueError("damaged")
    return bits


def parse_key_line(text: str, number: int = 1) -> PublicKey:
    """One OpenSSH public-key line (``type base64 [comment]``), checked; ``KeyFileError`` says why not."""
    fields = text.strip().split(None, 2)
    if not fields:
        raise KeyFileError(number, "empty")
    kind = fields[0]
    if kind not in KEY_TYPES:
        if "=" in kind or kind.startswith(("no-", "restrict", "cert-authority", "permit")):
            raise KeyFileError(number, "options", options=kind[:40])
        if kind in ("ssh-dss", "ssh-rsa-cert-v01@openssh.com") or kind.startswith(("sk-", "ssh-")):
            raise KeyFileError(number, "type", kind=kind[:40])
        raise KeyFileError(number, "not_a_key")
    if len(fields) < 2 or not _BASE64.match(fields[1]):
        raise KeyFileError(number, "damaged")
    try:
        blob = base64.b64decode(fields[1], validate=True)
        bits = _decoded(kind, blob)
    except (binascii.Error, ValueError) as exc:
        said = str(exc)
        if said.startswith("rsa_short:"):
            raise KeyFileError(number, "rsa_short", bits=said.split(":")[1], least=MIN_RSA_BITS) from None
        raise KeyFileError(number, "type_mismatch" if said == "type_mismatch" else "damaged") from None
    comment = fields[2].strip() if len(fields) > 2 else ""
    if not _COMMENT.match(comment):
        raise KeyFileError(number, "comment", most=MAX_COMMENT)
    return PublicKey(kind, base64.b64encode(blob).decode("ascii"), comment, bits)


def parse_key_file(text: str) -> list[PublicKey]:
    """Every key of an ``authorized_keys``-style file (blank lines and ``#`` comments skipped):
    all must pass, at least one and at most ``MAX_KEYS``, no key twice."""
    if len(text.encode("utf-8", "replace")) > MAX_FILE_BYTES:
        raise KeyFileError(0, "too_big", most=MAX_FILE_BYTES // 1024)
    keys: list[PublicKey] = []
    seen: set[str] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key = parse_key_line(line, number)
        if key.blob in seen:
            raise KeyFileError(number, "twice")
        seen.add(key.blob)
        keys.append(key)
        if len(keys) > MAX_KEYS:
            raise KeyFileError(number, "too_many", most=MAX_KEYS)
    if not keys:
        raise KeyFileError(0, "no_key")
    return keys


# --- IT's list --------------------------------------------------------------------------------------

#: a line of IT's list as ``kiosk-ssh`` takes it (its KEY_LINE, after removing every CR): a known
#: type, one space, base64, optionally a space and a comment without control characters
_LIST_LINE = re.compile(
    r"(ssh-ed25519|sk-ssh-ed25519@openssh\.com|ecdsa-sha2-nistp(?:256|384|521)"
    r"|sk-ecdsa-sha2-nistp256@openssh\.com|ssh-rsa) ([A-Za-z0-9+/]+={0,3})(?: [^\x00-\x1f\x7f]*)?"
)


def allow_list(text: str) -> frozenset[tuple[str, str]]:
    """The keys on IT's list, as (type, base64) pairs: what ``kiosk-ssh`` compares, so comments
    do not matter; lines that are not a key (blank, ``#``, anything else) are passed over as it does."""
    lines = text.replace("\r", "").split("\n")
    return frozenset((m[1], m[2]) for line in lines if (m := _LIST_LINE.fullmatch(line)))


def on_list(key: PublicKey, allowed: frozenset[tuple[str, str]]) -> bool:
    """Whether ``kiosk-ssh`` would let ``key`` in: the line the kiosk writes for it
    (:meth:`PublicKey.line`) has its type and base64 on the list."""
    return (key.kind, key.blob) in allowed


def key_file_text(keys: list[PublicKey]) -> str:
    """The file the kiosk writes for ``kiosk-ssh``: one checked key a line."""
    return "".join(k.line() + "\n" for k in keys)


# --- the request file ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Request:
    """What the request file says: on or off, and until when (None: no limit written)."""

    on: bool
    until: datetime | None = None

    def in_force(self, now: datetime) -> bool:
        """On and not past its time limit (``kiosk-ssh`` turns it off then)."""
        return self.on and (self.until is None or now < self.until)


def request_text(until: datetime) -> str:
    return f"on\nuntil={int(until.timestamp())}\n"


OFF_TEXT = "off\n"


def parse_request(text: str) -> Request:
    """The request file as ``kiosk-ssh`` reads it: on when it starts with ``on``; ``until=`` seconds."""
    if not text.startswith("on"):
        return Request(False)
    until = None
    for line in text.splitlines()[1:]:
        match = re.fullmatch(r"until=(\d{1,12})", line.strip())
        if match:
            until = datetime.fromtimestamp(int(match.group(1)), UTC)
            break
    return Request(True, until)
