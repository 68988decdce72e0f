"""A role check for every maintenance action: each role may do exactly the actions of its level."""

from __future__ import annotations

import pytest

from kiosk.maintenance.roles import Action, PermissionDenied, Role, actions_for, allowed, require

CASHIER = {Action.REPRINT, Action.PAPER_GUIDE, Action.TODAYS_SALES, Action.RESOLVE_HELP}
MANAGER = CASHIER | {
    Action.VOID_ORDER,
    Action.REFUND,
    Action.RESOLVE_PAYMENT,
    Action.CLOSE_SHIFT,
    Action.OVERRIDE_PRICE,
    Action.OUT_OF_STOCK,
}
IT = set(Action)


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize(("role", "may"), [(Role.CASHIER, CASHIER), (Role.MANAGER, MANAGER), (Role.IT, IT)])
def test_every_action_is_checked_for_every_role(role: Role, may: set[Action], action: Action) -> None:
    assert allowed(role, action) is (action in may)
    if action in may:
        require(role, action)
    else:
        with pytest.raises(PermissionDenied):
            require(role, action)


def test_a_menu_lists_what_the_role_may_do() -> None:
    assert set(actions_for(Role.CASHIER)) == CASHIER
    assert set(actions_for(Role.MANAGER)) == MANAGER
    assert actions_for(Role.IT) == list(Action)
