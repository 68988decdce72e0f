"""The enrolment screen's logic: a kiosk with no HQ credentials waits for the installer to show it
HQ's enrolment code, redeems it, and goes on to sell without a restart.

``kiosk run`` builds one when the credentials file does not exist (``kiosk.bootstrap``). While it is
``needed`` the controller gives it every decoded code before the checkout sees any (camera and hand
scanners alike: the same ``on_codes`` path the pay screen uses) and the kiosk is out of service
with the reason ``not_enrolled``, which the screens show as the enrolment screen. A staff badge
still opens maintenance mode, and so does the hidden corner.

The redeeming blocks on the network, so it runs on a thread of its own; its answer comes back to
the UI thread through ``post``. The redeem function is injected (``kiosk.sync.enrolment.enrol`` in
production, the same one ``kiosk enroll`` calls), so this module stays free of HTTP and files.
A code HQ refused is not sent again when the camera sees it again; one that failed because HQ
could not be reached is tried again the next time it is shown.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kiosk.i18n import t
from kiosk_common.enrolment import (
    ENROL_PREFIX,
    EnrolPayload,
    PayloadError,
    format_kiosk_payload,
    parse_enrol_payload,
)

log = logging.getLogger(__name__)


class EnrolStatus(enum.StrEnum):
    WAITING = "waiting"
    REDEEMING = "redeeming"
    FAILED = "failed"
    DONE = "done"


class EnrolRefused(Exception):
    """What the injected redeem raises when the enrolment did not happen; ``text`` is for the
    installer (in the kiosk's language), ``retry`` as ``kiosk.sync.enrolment.EnrolFailed`` says."""

    def __init__(self, text: str, *, retry: bool = False) -> None:
        super().__init__(text)
        self.text = text
        self.retry = retry


@dataclass(frozen=True, slots=True)
class EnrolmentView:
    """What the enrolment screen shows."""

    kiosk_id: str
    fingerprint: str
    #: the installer's QR: ``KIOSKID1:<id>:<fingerprint>``
    installer_qr: str
    #: the HQ this kiosk is set to (``[hq] url``): the code must come from there
    hq_url: str
    status: EnrolStatus
    #: progress or the reason it failed ("" while waiting)
    message: str


#: the redeem function: (payload, language) -> anything on success; EnrolRefused on failure
Redeem = Callable[[EnrolPayload, str], Any]


class EnrolmentDesk:
    def __init__(
        self,
        *,
        kiosk_id: str,
        fingerprint: str,
        hq_url: str,
        redeem: Redeem,
        language: Callable[[], str],
        post: Callable[[Callable[[], None]], None],
        on_enrolled: Callable[[Any], None],
        start: Callable[[Callable[[], None]], None] | None = None,
    ) -> None:
        self.kiosk_id = kiosk_id
        self.fingerprint = fingerprint
        self.hq_url = hq_url
        self._redeem = redeem
        self._language = language
        self._post = post
        self._on_enrolled = on_enrolled
        self._start = start or _start_thread
        self.status = EnrolStatus.WAITING
        self._message_key = ""
        self._message_args: dict[str, Any] = {}
        #: the failure's text from the redeem (already in the language it was made in)
        self._message_text = ""
        #: payloads (and other texts) already refused: shown again, they change nothing
        self._refused: set[str] = set()
        #: told whenever the view changes (the controller re-decides its screen and notifies)
        self.on_change: Callable[[], None] = lambda: None

    @property
    def needed(self) -> bool:
        """True until the kiosk is enrolled; then the desk takes no more codes."""
        return self.status is not EnrolStatus.DONE

    def view(self) -> EnrolmentView:
        language = self._language()
        if self._message_text:
            message = self._message_text
        elif self._message_key:
            message = t(self._message_key, language, **self._message_args)
        else:
            message = ""
        return EnrolmentView(
            kiosk_id=self.kiosk_id,
            fingerprint=self.fingerprint,
            installer_qr=format_kiosk_payload(self.kiosk_id, self.fingerprint),
            hq_url=self.hq_url,
            status=self.status,
            message=message,
        )

    def take(self, text: str) -> bool:
        """A decoded code (UI thread). True: the desk took it and the checkout must not see it.
        The controller looks for a staff badge first, so a badge still opens maintenance mode."""
        if not self.needed:
            return False
        if self.status is EnrolStatus.REDEEMING or text in self._refused:
            return True
        try:
            payload = parse_enrol_payload(text)
        except PayloadError as exc:
            self._refused.add(text)
            log.info("enrolment screen: not an enrolment code (%s)", exc.problem.value)
            self._show(EnrolStatus.FAILED, f"enrol.problem.{exc.problem.value}", prefix=ENROL_PREFIX)
            return True
        log.info("enrolment screen: redeeming a code at %s", payload.hq_url)
        self._show(EnrolStatus.REDEEMING, "enrol.redeeming", url=payload.hq_url)
        language = self._language()

        def work() -> None:
            try:
                result = self._redeem(payload, language)
            except EnrolRefused as exc:
                refused = exc
                self._post(lambda: self._failed(text, refused))
                return
            except Exception as exc:  # a bug in the redeem must leave the screen usable, never stuck
                log.exception("enrolment failed unexpectedly")
                failure = EnrolRefused(t("enrol.failed_unexpectedly", language, reason=type(exc).__name__))
                self._post(lambda: self._failed(text, failure))
                return
            self._post(lambda: self._succeeded(result))

        self._start(work)
        return True

    def _failed(self, text: str, exc: EnrolRefused) -> None:
        if not exc.retry:
            self._refused.add(text)
        log.warning(
            "enrolment screen: the code was not redeemed (%s)", "will retry" if exc.retry else "refused"
        )
        self.status = EnrolStatus.FAILED
        self._message_key, self._message_args, self._message_text = "", {}, exc.text
        self.on_change()

    def _succeeded(self, result: Any) -> None:
        try:
            self._on_enrolled(result)
        except Exception as exc:  # credentials are written; the next start picks them up
            log.exception("enrolled, but the kiosk could not switch to HQ now")
            self._show(EnrolStatus.FAILED, "enrol.restart_needed", reason=type(exc).__name__)
            return
        log.info("enrolment screen: enrolled at HQ; selling from now on")
        self._show(EnrolStatus.DONE, "enrol.done")

    def _show(self, status: EnrolStatus, key: str, **args: Any) -> None:
        self.status = status
        self._message_key, self._message_args, self._message_text = key, args, ""
        self.on_change()


def _start_thread(work: Callable[[], None]) -> None:
    threading.Thread(target=work, name="kiosk-enrol", daemon=True).start()
