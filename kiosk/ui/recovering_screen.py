"""Shown after a restart while unfinished payments are settled with the gateway: "we are checking the
last payment, do not pay again". It has no buttons: it ends by itself when the recovery does."""

from __future__ import annotations

from kivy.properties import ObjectProperty
from kivy.uix.screenmanager import Screen


class RecoveringScreen(Screen):  # type: ignore[misc]
    vm = ObjectProperty(None)
