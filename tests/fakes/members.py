"""A member directory at the edge (the members release's HQ lookup stands behind the same port)."""

from __future__ import annotations

from kiosk.core.members import Member, mask_phone


class FakeMemberDirectory:
    """Knows the members it is given by phone number (and by member code); records every question."""

    def __init__(self, by_phone: dict[str, str], by_code: dict[str, str] | None = None) -> None:
        self.by_phone = dict(by_phone)
        self.by_code = dict(by_code or {})
        self.asked: list[tuple[str, str]] = []

    def lookup(self, *, phone: str = "", code: str = "") -> Member | None:
        self.asked.append((phone, code))
        if phone in self.by_phone:
            return Member(f"m-{phone[-4:]}", self.by_phone[phone], mask_phone(phone))
        if code in self.by_code:
            return Member(f"m-{code}", self.by_code[code])
        return None
