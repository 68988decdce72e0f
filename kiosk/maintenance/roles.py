"""Staff roles and what each may do in maintenance mode: one table, checked before every action.

Roles come from HQ with the staff accounts (``hq staff add NAME --role ROLE``). Each role may do
everything the role before it may, and more (cashier < manager < IT). Pure: no I/O.
"""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    CASHIER = "cashier"
    MANAGER = "manager"
    IT = "it"


class Action(enum.StrEnum):
    """Every action maintenance mode offers. A new action is added here and to ``_FIRST_ROLE``."""

    # cashier
    REPRINT = "reprint"
    PAPER_GUIDE = "paper_guide"
    TODAYS_SALES = "todays_sales"
    RESOLVE_HELP = "resolve_help"  # a "needs help" that involves no money
    # manager
    VOID_ORDER = "void_order"
    REFUND = "refund"
    RESOLVE_PAYMENT = "resolve_payment"  # an unknown outcome: query the gateway, then settle or reverse
    CLOSE_SHIFT = "close_shift"  # with a printed Z-report
    OVERRIDE_PRICE = "override_price"
    OUT_OF_STOCK = "out_of_stock"
    # IT
    CONFIGURE = "configure"
    NETWORK = "network"
    LOGS = "logs"
    BACKUP = "backup"
    RESTORE = "restore"
    OTA_CHECK = "ota_check"
    DIAGNOSTICS = "diagnostics"
    SUPPORT_BUNDLE = "support_bundle"
    EXIT_TO_DESKTOP = "exit_to_desktop"
    SSH = "ssh"  # turn SSH on (keys from a USB stick, for a time) or off


#: IT's own actions beside diagnostics: answered by ``kiosk.staff_it``, each shown in IT's panel
#: (``kiosk.ui.panels.it``)
IT_ACTIONS: frozenset[Action] = frozenset(
    {
        Action.CONFIGURE,
        Action.NETWORK,
        Action.LOGS,
        Action.OTA_CHECK,
        Action.SUPPORT_BUNDLE,
        Action.BACKUP,
        Action.RESTORE,
        Action.EXIT_TO_DESKTOP,
        Action.SSH,
    }
)

_RANK = {Role.CASHIER: 0, Role.MANAGER: 1, Role.IT: 2}

#: the least role allowed each action; every Action must be here (tests/unit/test_maintenance_roles.py)
_FIRST_ROLE: dict[Action, Role] = {
    Action.REPRINT: Role.CASHIER,
    Action.PAPER_GUIDE: Role.CASHIER,
    Action.TODAYS_SALES: Role.CASHIER,
    Action.RESOLVE_HELP: Role.CASHIER,
    Action.VOID_ORDER: Role.MANAGER,
    Action.REFUND: Role.MANAGER,
    Action.RESOLVE_PAYMENT: Role.MANAGER,
    Action.CLOSE_SHIFT: Role.MANAGER,
    Action.OVERRIDE_PRICE: Role.MANAGER,
    Action.OUT_OF_STOCK: Role.MANAGER,
    Action.CONFIGURE: Role.IT,
    Action.NETWORK: Role.IT,
    Action.LOGS: Role.IT,
    Action.BACKUP: Role.IT,
    Action.RESTORE: Role.IT,
    Action.OTA_CHECK: Role.IT,
    Action.DIAGNOSTICS: Role.IT,
    Action.SUPPORT_BUNDLE: Role.IT,
    Action.EXIT_TO_DESKTOP: Role.IT,
    Action.SSH: Role.IT,
}


class PermissionDenied(PermissionError):
    """The signed-in staff member's role may not do this action."""

    def __init__(self, role: Role, action: Action) -> None:
        super().__init__(f"a {role.value} may not {action.value.replace('_', ' ')}")
        self.role = role
        self.action = action


def allowed(role: Role, action: Action) -> bool:
    return _RANK[role] >= _RANK[_FIRST_ROLE[action]]


def require(role: Role, action: Action) -> None:
    """Raise ``PermissionDenied`` unless ``role`` may do ``action``."""
    if not allowed(role, action):
        raise PermissionDenied(role, action)


def actions_for(role: Role) -> list[Action]:
    """What a role's menu offers, in the order of ``Action``."""
    return [a for a in Action if allowed(role, a)]
