"""HQ's settings for this kiosk (``hq settings set --store/--kiosk``), applied when the kiosk starts.

HQ sends any key it holds; the kiosk keeps them all in its store (``setting`` rows ``hq.<key>``) and
acts on the few in ``HQ_MANAGED``: how often it syncs and how maintenance unlock holds back guessing.
HQ names them as docs/configuration.md does (``hq.sync_interval_s``, ``maintenance.lockout_s``) and
its value wins over the settings file and ``KIOSK_*`` variables. They are read once, at start: the
sync loop and the maintenance lock are built from them, and changing either under a running kiosk
would race the very loop that received the change. Everything else (the HQ address, credentials,
payment and hardware settings) stays the installer's: a wrong value there from afar could cut the
kiosk off HQ or the till. A value the kiosk's own rules refuse is ignored with a warning, and the
local value kept, so a bad setting at HQ never stops a kiosk from starting.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from kiosk.settings import Settings

log = logging.getLogger(__name__)

#: the kiosk settings HQ may set, as ``section.field``
HQ_MANAGED: frozenset[str] = frozenset(
    (
        "hq.sync_interval_s",
        "hq.heartbeat_s",
        "hq.batch_size",
        "maintenance.idle_lock_s",
        "maintenance.backoff_from",
        "maintenance.lockout_after",
        "maintenance.base_delay_s",
        "maintenance.lockout_s",
    )
)


def _with(section: BaseModel, changes: Mapping[str, Any]) -> BaseModel:
    """The section with ``changes``, validated by its own rules (ValidationError if it breaks one)."""
    return type(section).model_validate({**section.model_dump(), **changes})


def apply_hq_settings(settings: Settings, sent: Mapping[str, Any]) -> tuple[Settings, list[str]]:
    """``settings`` with the values HQ sent for keys in ``HQ_MANAGED``, and what was ignored and why.

    Each value is checked alone, then each section with all its accepted values (two limits can be
    fine alone and wrong together, e.g. ``backoff_from`` above ``lockout_after``): a section that
    fails as a whole keeps its local values."""
    ignored: list[str] = []
    by_section: dict[str, dict[str, Any]] = {}
    for key in sorted(sent):
        if key not in HQ_MANAGED:
            continue  # HQ stores and sends any key; only these are the kiosk's to act on
        section_name, field = key.split(".", 1)
        section = getattr(settings, section_name)
        try:
            _with(section, {field: sent[key]})
        except ValidationError as exc:
            ignored.append(f"{key}={str(sent[key])[:40]}: {exc.errors()[0]['msg']}")
            continue
        by_section.setdefault(section_name, {})[field] = sent[key]
    updates: dict[str, BaseModel] = {}
    for section_name, changes in by_section.items():
        try:
            updates[section_name] = _with(getattr(settings, section_name), changes)
        except ValidationError as exc:
            names = ", ".join(f"{section_name}.{f}" for f in sorted(changes))
            ignored.append(f"{names}: {exc.errors()[0]['msg']}")
    for line in ignored:
        log.warning("HQ's setting ignored, the local value is kept: %s", line)
    applied = {f"{s}.{f}": v for s, changes in by_section.items() if s in updates for f, v in changes.items()}
    if applied:
        log.info("HQ's settings applied: %s", ", ".join(f"{k}={v}" for k, v in sorted(applied.items())))
    return settings.model_copy(update=updates), ignored
