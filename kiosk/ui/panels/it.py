"""IT's panels: settings (read-only), network, logs, software version, support bundle and backup
(a USB stick or HQ), restore (a backup on a USB stick or at HQ, two presses; one at HQ is downloaded
and verified first, the screen saying so; staged for the next start), SSH (where it stands; pick a
key file on a stick, its keys are checked and shown, two presses turn SSH on; one turns it off) and
exit to desktop (two presses). The work is done by ``kiosk.staff_it`` through ``screen.call``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kivy.app import App
from kivy.metrics import dp
from kivy.uix.boxlayout import BoxLayout

from kiosk.i18n import t
from kiosk.maintenance.it_info import EXIT_TO_DESKTOP
from kiosk.maintenance.roles import Action
from kiosk.ui import theme
from kiosk.ui.controller_api import ActionAnswer, ActionArg, ActionItem

if TYPE_CHECKING:
    from kiosk.ui.maintenance_screen import MaintenanceScreen

#: what "More" starts from and grows to on the logs panel (the kiosk caps it at 5000)
FIRST_LOG_LINES = 200
MAX_LOG_LINES = 5000


def _stop_kiosk(exit_code: int) -> None:
    App.get_running_app().stop_kiosk(exit_code)


def _answer_with(screen: MaintenanceScreen, action: Action, refresh_label: str) -> None:
    """Run a reading action at once; its answer with a refresh button above it."""

    def shown(answer: ActionAnswer) -> None:
        screen.panel.clear_widgets()
        screen.panel.add_widget(screen.button(refresh_label, "it:refresh", lambda: build(screen, action)))
        screen.show_answer(answer)

    screen.call(action, {}, shown)


def build(screen: MaintenanceScreen, action: Action) -> None:
    lang = screen.language
    screen.panel.clear_widgets()
    if action in (Action.CONFIGURE, Action.NETWORK):
        _answer_with(screen, action, t("it.refresh", lang))
    elif action is Action.OTA_CHECK:
        _updates(screen, {})
    elif action is Action.LOGS:
        _logs(screen, FIRST_LOG_LINES)
    elif action in (Action.SUPPORT_BUNDLE, Action.BACKUP):
        _destinations(screen, action)
    elif action is Action.RESTORE:
        _restore(screen)
    elif action is Action.SSH:
        _ssh(screen)
    elif action is Action.EXIT_TO_DESKTOP:
        _exit(screen)


def _updates(screen: MaintenanceScreen, args: dict[str, ActionArg]) -> None:
    """The update agent's state, with Refresh and Check now (which asks the agent to poll HQ)."""
    lang = screen.language

    def shown(answer: ActionAnswer) -> None:
        screen.panel.clear_widgets()
        screen.panel.add_widget(
            screen.button(t("it.refresh", lang), "it:refresh", lambda: _updates(screen, {}))
        )
        screen.panel.add_widget(
            screen.button(
                t("it.ota.check_now", lang), "it:check_now", lambda: _updates(screen, {"check": "now"})
            )
        )
        screen.show_answer(answer)

    screen.call(Action.OTA_CHECK, dict(args), shown)


def _logs(screen: MaintenanceScreen, lines: int) -> None:
    lang = screen.language

    def shown(answer: ActionAnswer) -> None:
        screen.panel.clear_widgets()
        screen.panel.add_widget(
            screen.button(t("it.refresh", lang), "it:refresh", lambda: _logs(screen, lines))
        )
        more = min(lines * 2, MAX_LOG_LINES)
        screen.panel.add_widget(screen.button(t("it.more", lang), "it:more", lambda: _logs(screen, more)))
        screen.show_answer(answer)

    screen.call(Action.LOGS, {"lines": lines}, shown)


def _destinations(screen: MaintenanceScreen, action: Action) -> None:
    """Pick a USB stick or HQ; the bundle or backup goes there, and its name, size and checksum show."""

    def listed(answer: ActionAnswer) -> None:
        screen.message = answer.message

        def pick(item: ActionItem) -> None:
            def done(result: ActionAnswer) -> None:
                screen.panel.clear_widgets()
                screen.show_answer(result)

            screen.call(action, {"to": item.key}, done)

        screen.panel.add_widget(screen.item_list(answer.items, pick, answer.message))

    screen.call(action, {}, listed)


def _restore(screen: MaintenanceScreen) -> None:
    chosen: list[ActionItem] = []

    def listed(answer: ActionAnswer) -> None:
        lang = screen.language
        screen.message = answer.message

        def pick(item: ActionItem) -> None:
            chosen[:] = [item]
            screen.disarm()
            screen.message = item.label

        def restore() -> None:
            if not chosen:
                screen.message = t("it.restore.pick", lang)
                return
            item = chosen[0]
            name = item.key.rsplit("/", 1)[-1].removeprefix("hq:")
            if not screen.confirmed(f"restore:{item.key}", t("it.restore.confirm", lang, name=name)):
                return

            def staged(result: ActionAnswer) -> None:
                screen.message = result.message
                if result.ok:  # the store is replaced at the next start; systemd starts us again
                    _stop_kiosk(0)

            if screen.call(Action.RESTORE, {"file": item.key}, staged) and item.key.startswith("hq:"):
                screen.message = t("it.restore.downloading", lang)

        screen.panel.add_widget(screen.item_list(answer.items, pick, t("it.restore.none", lang)))
        screen.panel.add_widget(screen.button(t("it.restore.button", lang), "confirm", restore, primary=True))

    screen.call(Action.RESTORE, {}, listed)


def _ssh(screen: MaintenanceScreen, message: str = "") -> None:
    """Where SSH stands (on until when, sshd, the keys let in) and the key files on the sticks. A
    file picked is checked at once (its keys and fingerprints replace the status, or the message says
    why it is refused); "Turn SSH on" then asks twice. "Turn SSH off" needs one press: it only takes
    access away. On a kiosk without IT's list of keys the status says so first, and no file nor
    "Turn SSH on" is offered (SSH could not be turned on)."""
    lang = screen.language
    chosen: list[ActionItem] = []

    def after(answer: ActionAnswer) -> None:
        _ssh(screen, answer.message)

    def listed(answer: ActionAnswer) -> None:
        screen.panel.clear_widgets()
        screen.message = message or answer.message
        row = BoxLayout(size_hint_y=None, height=dp(theme.BUTTON_MIN_H), spacing=dp(8))
        row.add_widget(screen.button(t("it.refresh", lang), "it:refresh", lambda: _ssh(screen)))
        row.add_widget(
            screen.button(
                t("it.ssh.off_button", lang),
                "it:ssh_off",
                lambda: screen.call(Action.SSH, {"turn": "off"}, after),
            )
        )
        screen.panel.add_widget(row)
        if not answer.ok:
            # SSH cannot be turned on here (no list of IT's keys): where it stands and why, no files
            screen.panel.add_widget(screen.text_view(answer.text))
            return
        files = screen.item_list(answer.items, lambda item: pick(item), answer.message)
        shown = max(1, min(len(answer.items), 3))  # every file within reach without scrolling, up to 3
        files.size_hint_y, files.height = None, shown * dp(theme.BUTTON_MIN_H + 6)
        screen.panel.add_widget(files)
        details = screen.text_view(answer.text)
        screen.panel.add_widget(details)
        screen.panel.add_widget(screen.button(t("it.ssh.on_button", lang), "confirm", turn_on, primary=True))

        def checked(result: ActionAnswer) -> None:
            screen.message = result.message
            details.children[0].text = result.text or answer.text
            if not result.ok:
                chosen.clear()

        def pick(item: ActionItem) -> None:
            chosen[:] = [item]
            screen.disarm()
            screen.call(Action.SSH, {"file": item.key}, checked)

    def turn_on() -> None:
        if not chosen:
            screen.message = t("it.ssh.pick_first", lang)
            return
        if not screen.confirmed(f"ssh:{chosen[0].key}", t("it.ssh.confirm_on", lang)):
            return
        screen.call(Action.SSH, {"file": chosen[0].key, "turn": "on"}, after)

    screen.call(Action.SSH, {}, listed)


def _exit(screen: MaintenanceScreen) -> None:
    lang = screen.language

    def press() -> None:
        if not screen.confirmed(Action.EXIT_TO_DESKTOP.value, t("it.exit.confirm", lang)):
            return

        def done(answer: ActionAnswer) -> None:
            screen.message = answer.message
            if answer.ok:
                _stop_kiosk(EXIT_TO_DESKTOP)

        screen.call(Action.EXIT_TO_DESKTOP, {}, done)

    screen.panel.add_widget(screen.button(t("it.exit.button", lang), "confirm", press, primary=True))
