"""A member directory at the edge (the members release's HQ lookup stands behind the same port)."""

from __future__ import annotations

import threading

from kiosk.core.members import Member, mask_phone


class FakeMemberDirectory:
    """Knows the members it is given by phone number (and by member code); records every question."""

    def __init__(
        self,
        by_phone: dict[str, str],
        by_code: dict[str, str] | None = None,
        answer_when: threading.Event | None = None,
    ) -> None:
        self.by_phone = dict(by_phone)
        self.by_code = dict(by_code or {})
        self.asked: list[tuple[str, str]] = []
        #: a slow HQ: each answer waits until the test sets this (at most 30 s)
        self.answer_when = answer_when
        #: set once a question has arrived (a test waits on it, never on time)
        self.question_in = threading.Event()

    def lookup(self, *, phone: str = "", code: str = "") -> Member | None:
        self.asked.append((phone, code))
        self.question_in.set()
        if self.answer_when is not None:
            self.answer_when.wait(30)
        if phone in self.by_phone:
            return Member(f"m-{phone[-4:]}", self.by_phone[phone], mask_phone(phone))
        if code in self.by_code:
            return Member(f"m-{code}", self.by_code[code])
        return None
