"""Maintenance mode as the screens see it (``kiosk.ui.controller_api.MaintenanceControl``), on the
real kiosk: the unlock (``kiosk.maintenance.session.MaintenanceLock``) and the staff actions
(``kiosk.maintenance.actions.StaffActions``) answered in the screens' terms.

This is the one place that turns the lock's refusals and the actions' results and errors into
``UnlockAnswer`` / ``ActionAnswer`` in the kiosk's language, so a staff mistake (wrong role, an
order that cannot be refunded) is a message on screen, never an exception in the UI.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from kiosk import staff_catalog
from kiosk.core.money import format_yuan
from kiosk.i18n import t
from kiosk.maintenance import zreport
from kiosk.maintenance.actions import StaffActionError, StaffActions
from kiosk.maintenance.roles import (
    IT_ACTIONS,
    Action,
    PermissionDenied,
    Role,
    actions_for,
    allowed,
    require,
)
from kiosk.maintenance.session import MaintenanceLock, Refusal, StaffSession
from kiosk.ports import GatewayError
from kiosk.ui.controller_api import ActionAnswer, ActionArg, ActionItem, StaffView, UnlockAnswer

log = logging.getLogger(__name__)


class DiagnosticsPanel(Protocol):
    """The diagnostics panel's calls (``kiosk.staff_diagnostics.DiagnosticsDesk``)."""

    def run(self, check: str, actor: str, lang: str) -> ActionAnswer: ...

    def is_poll(self, check: object) -> bool:
        """True for a call a panel repeats while open: it is not staff activity at the kiosk."""


class ItActions(Protocol):
    """IT's actions (``kiosk.staff_it.ItConsole``): ``actor`` is ``staff:<id>``, the role checked."""

    def run(self, actor: str, action: Action, args: dict[str, ActionArg]) -> ActionAnswer: ...


@dataclass(frozen=True, slots=True)
class _Member:
    """The signed-in staff member as the actions take it (a key-switch session has no staff id)."""

    staff_id: str
    name: str
    role: Role


def _member(session: StaffSession) -> _Member:
    return _Member(
        str(session.staff_id) if session.staff_id is not None else "key", session.name, session.role
    )


class StaffConsole:
    def __init__(
        self, lock: MaintenanceLock, actions: StaffActions | None, language: Callable[[], str]
    ) -> None:
        self.lock = lock
        self.actions = actions
        self._language = language
        #: the diagnostics an IT session runs from the menu (kiosk.staff_diagnostics); set by
        #: kiosk.bootstrap once the kiosk's devices exist
        self.diagnostics: DiagnosticsPanel | None = None
        #: IT's settings, network, logs, backup, restore, ... (kiosk.staff_it); set by kiosk.bootstrap
        self.it: ItActions | None = None
        #: runs after a price override or stock mark changed the catalog (the controller reads it
        #: again); set by kiosk.bootstrap
        self.catalog_changed: Callable[[], None] | None = None

    def _t(self, key: str, **fields: object) -> str:
        return t(key, self._language(), **fields)

    # --- unlock -----------------------------------------------------------------------------------

    def unlock_pin(self, pin: str) -> UnlockAnswer:
        result = self.lock.unlock_pin(pin)
        if result.session is not None:
            return UnlockAnswer(ok=True, role=result.session.role, name=result.session.name)
        refusal = result.refusal
        return UnlockAnswer(
            ok=False,
            wait_s=result.wait_s if refusal is Refusal.WAIT else 0.0,
            locked_out=refusal is Refusal.LOCKED_OUT,
            refused_payment=refusal is Refusal.PAYMENT_IN_FLIGHT,
            message=f"{refusal.value if refusal else 'refused'} {result.detail}".strip(),
        )

    def session(self) -> StaffView | None:
        current = self.lock.current()
        return None if current is None else StaffView(current.name, current.role)

    def menu(self) -> list[Action]:
        current = self.lock.current()
        return [] if current is None else actions_for(current.role)

    # --- actions ----------------------------------------------------------------------------------

    def tasks(self) -> list[ActionItem]:
        current = self.lock.current()
        if current is None or self.actions is None:
            return []
        items = []
        for task in self.actions.tasks(_member(current)):
            action = task.action if task.action is not None and allowed(current.role, task.action) else None
            label = task.detail
            if task.kind == "recovered_payment":
                label = self._t("maint.task.recovered", detail=task.detail)
            items.append(ActionItem(task.key, label, action))
        return items

    def run(self, action: Action, args: dict[str, ActionArg]) -> ActionAnswer:
        current = self.lock.current()
        if current is None:
            return ActionAnswer(ok=False, message=self._t("maint.console.locked"))
        if self.actions is None:
            return ActionAnswer(ok=False, message=self._t("maint.console.not_offered"))
        desk = self.diagnostics if action is Action.DIAGNOSTICS else None
        if desk is None or not desk.is_poll(args.get("check")):
            self.lock.touch()  # a panel's repeated poll is not staff at the kiosk
        try:
            return self._run(_member(current), action, args)
        except PermissionDenied:
            return ActionAnswer(ok=False, message=self._t("maint.console.not_allowed"))
        except (StaffActionError, GatewayError, ValueError) as exc:
            return ActionAnswer(ok=False, message=self._t("maint.console.failed", reason=str(exc)[:200]))
        except Exception as exc:  # a bug must not take the kiosk down: staff see it, the log has it
            log.exception("maintenance action %s failed", action.value)
            return ActionAnswer(ok=False, message=self._t("maint.console.failed", reason=type(exc).__name__))

    def _run(self, member: _Member, action: Action, args: dict[str, ActionArg]) -> ActionAnswer:
        staff = self.actions
        assert staff is not None
        done = self._t("maint.console.done")
        if action is Action.DIAGNOSTICS and self.diagnostics is not None:
            require(member.role, action)
            check = str(args.get("check") or "all")
            return self.diagnostics.run(check, f"staff:{member.staff_id}", self._language())
        if action in IT_ACTIONS and self.it is not None:
            require(member.role, action)
            return self.it.run(f"staff:{member.staff_id}", action, args)
        if action in (Action.OVERRIDE_PRICE, Action.OUT_OF_STOCK):
            lang = self._language()
            return staff_catalog.answer(staff, member, member.role, action, args, lang, self.catalog_changed)
        task_id = args.get("task_id")
        if isinstance(task_id, str):
            return self._run_task(member, action, task_id)
        order_id = str(args.get("order_id") or "")
        match action:
            case Action.TODAYS_SALES:
                sales = staff.todays_sales(member)
                items = tuple(
                    ActionItem(s.order_id, f"#{s.order_no}  {format_yuan(s.total_fen)}  {s.status}")
                    for s in sales
                )
                total = format_yuan(sum(s.total_fen for s in sales))
                return ActionAnswer(
                    ok=True, message=self._t("maint.console.sales", n=len(items), total=total), items=items
                )
            case Action.REPRINT:
                staff.reprint(member, order_id)
                return ActionAnswer(ok=True, message=done)
            case Action.PAPER_GUIDE:
                zh = self._language().startswith("zh")
                steps = staff.paper_guide(member)
                text = "\n".join(
                    f"{i}. {pair[0] if zh else pair[1]}" for i, pair in enumerate(steps, start=1)
                )
                return ActionAnswer(ok=True, text=text)
            case Action.RESOLVE_HELP:
                staff.resolve_help(member)
                return ActionAnswer(ok=True, message=done)
            case Action.VOID_ORDER:
                staff.void_order(member, order_id)
                return ActionAnswer(ok=True, message=done)
            case Action.REFUND:
                amount = args.get("amount_fen")
                staff.refund(member, order_id, amount if isinstance(amount, int) else None)
                return ActionAnswer(ok=True, message=done)
            case Action.RESOLVE_PAYMENT:
                open_ones = [p for p in staff.store.unfinished_payments() if p.order_id == order_id]
                target = str(args.get("out_trade_no") or (open_ones[0].out_trade_no if open_ones else ""))
                if not target:
                    return ActionAnswer(ok=False, message=self._t("maint.console.no_open_payment"))
                result = staff.resolve_payment(member, target)
                return ActionAnswer(ok=True, message=f"{done} ({result.status.value})")
            case Action.CLOSE_SHIFT:
                report = staff.close_shift(member)
                text = zreport.layout(
                    report, staff.paper_columns, staff.language, staff.timezone, staff.tz
                ).text()
                return ActionAnswer(ok=True, message=done, text=text)
            case _:
                return ActionAnswer(ok=False, message=self._t("maint.console.not_offered"))

    def _run_task(self, member: _Member, action: Action, task_id: str) -> ActionAnswer:
        staff = self.actions
        assert staff is not None
        task = next((t_ for t_ in staff.tasks(member) if t_.key == task_id), None)
        if task is None:
            return ActionAnswer(ok=False, message=self._t("maint.console.task_gone"))
        if task.action is Action.RESOLVE_PAYMENT:
            return self._run(member, Action.RESOLVE_PAYMENT, {"out_trade_no": task.target})
        if task.action is Action.REPRINT:
            return self._run(member, Action.REPRINT, {"order_id": task.target})
        staff.dismiss(member, task.key)
        return ActionAnswer(ok=True, message=self._t("maint.console.done"))
