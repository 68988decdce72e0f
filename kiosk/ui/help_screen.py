"""Needs-help screen: tells the customer staff are coming; a staff strip clears the situation.

The "resolved" button is a placeholder until the PIN-locked maintenance mode exists: anyone can
press it. It is not a security feature and docs/ui.md says so.
"""

from __future__ import annotations

from kivy.properties import ObjectProperty
from kivy.uix.screenmanager import Screen

from kiosk.i18n import t


class HelpScreen(Screen):  # type: ignore[misc]
    vm = ObjectProperty(None)

    @staticmethod
    def staff_line(language: str, order_no: str, detail: str) -> str:
        parts = [t("help.staff", language)]
        if order_no:
            parts.append(t("help.order", language, order=order_no))
        if detail:
            parts.append(t("help.detail", language, detail=detail))
        return "  ·  ".join(parts)
