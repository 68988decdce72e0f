"""The two QR payloads of a kiosk's enrolment: HQ's code for the kiosk, and the kiosk's id for the installer.

HQ prints ``KIOSKENROL1:<hq-url>:<code>`` (``hq device enroll-code``, the admin API); the kiosk's
enrolment screen reads it with its camera or a hand scanner and redeems the code at that HQ. The
kiosk shows ``KIOSKID1:<kiosk-id>:<fingerprint>`` for the installer to note which device they enrol.

Both sides use this module, so what HQ prints is exactly what the kiosk accepts. Parsing is strict:
a payload is read from a camera, so anything else (a product barcode, a payment code, a URL to
somewhere else) must be told apart and refused with a reason, never half-read. The HQ address must
be https, or plain http only to this machine or a private (LAN) address given as a number: a code
sent in the clear over the internet could be redeemed by whoever saw it first.
"""

from __future__ import annotations

import enum
import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

ENROL_PREFIX = "KIOSKENROL1"
KIOSK_ID_PREFIX = "KIOSKID1"
#: longer than any sensible payload, short enough to fit a QR a camera reads at arm's length
MAX_PAYLOAD = 512
#: ``hq device enroll-code``'s format: 16 letters or digits, in groups of four with optional dashes
CODE_RE = re.compile(r"^[A-Za-z0-9]{4}(-?[A-Za-z0-9]{4}){3}$")
KIOSK_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
#: what ``kiosk_common.enrolment.fingerprint_text`` makes: four groups of four lower-case hex digits
FINGERPRINT_RE = re.compile(r"^[0-9a-f]{4}(-[0-9a-f]{4}){3}$")
#: scheme, an ASCII host name or a bracketed IPv6 address, a port, a plain path: nothing else
_URL_RE = re.compile(
    r"^https?://([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?(/[A-Za-z0-9._~!$&'()*+,;=:%/-]*)?$"
)


class PayloadProblem(enum.StrEnum):
    """Why a scanned text is not an enrolment payload; each side words it in its own language."""

    #: not ours at all (a product barcode, a payment code): the screen says "not an enrolment code"
    NOT_ENROLMENT = "not_enrolment"
    #: our prefix, but a later version (a newer HQ): update the kiosk
    UNKNOWN_VERSION = "unknown_version"
    TOO_LONG = "too_long"
    BAD_URL = "bad_url"
    #: plain http to an address that is not this machine or a LAN address
    INSECURE_URL = "insecure_url"
    BAD_CODE = "bad_code"


class PayloadError(ValueError):
    def __init__(self, problem: PayloadProblem, detail: str = "") -> None:
        super().__init__(f"{problem.value}{': ' + detail if detail else ''}")
        self.problem = problem
        self.detail = detail


@dataclass(frozen=True, slots=True)
class EnrolPayload:
    hq_url: str
    code: str

    def __repr__(self) -> str:  # the code is a one-time secret: never in a log line in full
        return f"EnrolPayload(hq_url={self.hq_url!r}, code='{self.code[:4]}…')"


def url_problem(url: str) -> PayloadProblem | None:
    """None when ``url`` may carry an enrolment code: https anywhere, http only to 127.0.0.1, ::1,
    localhost or a private (RFC 1918 / unique-local / link-local) address written as a number."""
    if not _URL_RE.fullmatch(url):
        return PayloadProblem.BAD_URL
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return PayloadProblem.BAD_URL
    host = parts.hostname or ""
    if not host or (port is not None and not 1 <= port <= 65535):
        return PayloadProblem.BAD_URL
    if parts.scheme == "https":
        return None
    if host == "localhost":
        return None
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return PayloadProblem.INSECURE_URL  # a name over plain http: nothing says it stays on the LAN
    if address.is_loopback or address.is_private or address.is_link_local:
        return None
    return PayloadProblem.INSECURE_URL


def format_enrol_payload(hq_url: str, code: str) -> str:
    """What HQ puts in the QR; PayloadError when the pair could not be read back by a kiosk."""
    text = f"{ENROL_PREFIX}:{hq_url.strip().rstrip('/')}:{code.strip()}"
    parse_enrol_payload(text)  # what HQ prints, a kiosk must accept
    return text


def parse_enrol_payload(text: str) -> EnrolPayload:
    """The HQ address and the code in a scanned ``KIOSKENROL1:<hq-url>:<code>``; PayloadError else."""
    if len(text) > MAX_PAYLOAD:
        problem = (
            PayloadProblem.TOO_LONG if text.startswith(ENROL_PREFIX + ":") else PayloadProblem.NOT_ENROLMENT
        )
        raise PayloadError(problem, f"{len(text)} characters")
    head, sep, rest = text.partition(":")
    if not sep or head != ENROL_PREFIX:
        if re.fullmatch(r"KIOSKENROL\d+", head) and sep:
            raise PayloadError(PayloadProblem.UNKNOWN_VERSION, head)
        raise PayloadError(PayloadProblem.NOT_ENROLMENT)
    url, sep, code = rest.rpartition(":")
    if not sep or not CODE_RE.fullmatch(code):
        raise PayloadError(PayloadProblem.BAD_CODE)
    url = url.rstrip("/")
    url_refused = url_problem(url)
    if url_refused is not None:
        raise PayloadError(url_refused, url[:100])
    return EnrolPayload(url, code)


def fingerprint_text(digest_hex: str) -> str:
    """The first 16 hex digits of a digest, in four groups: short enough to read aloud and compare."""
    head = digest_hex[:16].lower()
    if not re.fullmatch(r"[0-9a-f]{16}", head):
        raise ValueError("a fingerprint is made from at least 16 hex digits")
    return "-".join(head[i : i + 4] for i in range(0, 16, 4))


def format_kiosk_payload(kiosk_id: str, fingerprint: str) -> str:
    """What the enrolment screen's QR says for the installer: which kiosk, which device."""
    if not KIOSK_ID_RE.fullmatch(kiosk_id):
        raise ValueError(f"kiosk id {kiosk_id[:80]!r}: 1-64 letters, digits, '.', '_' or '-'")
    if not FINGERPRINT_RE.fullmatch(fingerprint):
        raise ValueError("the fingerprint is four groups of four hex digits")
    return f"{KIOSK_ID_PREFIX}:{kiosk_id}:{fingerprint}"
