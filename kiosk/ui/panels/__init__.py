"""Panels of their own for maintenance actions that need more than "run" (IT's settings, network,
logs, backup and restore, diagnostics; a manager's price override and out-of-stock).

Each panel is a function ``build(screen, action)`` that draws into ``screen.panel`` with the
maintenance screen's building blocks and calls the controller only through ``screen.call`` /
``screen.submit`` (off the UI thread). ``PANELS`` maps an action to its panel; an action without
one gets the screen's plain "run" button.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kiosk.maintenance.roles import IT_ACTIONS, Action

if TYPE_CHECKING:
    from kiosk.ui.maintenance_screen import MaintenanceScreen

#: a panel: draw ``action``'s controls into ``screen.panel``
Panel = Callable[["MaintenanceScreen", Action], Any]

PANELS: dict[Action, Panel] = {}


def _register() -> None:
    """Each area's panel, registered once the table exists (the panel modules import Kivy)."""
    from kiosk.ui.panels import catalog, diagnostics, it

    PANELS[Action.DIAGNOSTICS] = diagnostics.build
    for action in IT_ACTIONS:
        PANELS[action] = it.build
    PANELS[Action.OVERRIDE_PRICE] = catalog.build
    PANELS[Action.OUT_OF_STOCK] = catalog.build


_register()
