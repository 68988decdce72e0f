"""The ``ota`` command.

- ``ota agent`` (kiosk-ota.service) and ``ota boot-check`` (kiosk.service runs it first) update the
  kiosk it runs on (``ota.agent``, ``ota.slots``);
- ``ota keys ...``, ``ota repo ...``, ``ota release build|publish`` sign releases into HQ's TUF
  repository (``ota.release_cli``);
- ``ota release register``, ``ota rollout ...`` and ``ota status`` are HQ's side (``hq.ota_cli``): they
  run on the HQ machine against HQ's database; ``ota status --installed`` reports the release
  installed where it runs;
- ``ota tuf-client`` is the TUF client-conformance command line (``ota.tuf_client``);
- ``ota install-first BUNDLE`` installs a new kiosk's first release slot (the image's
  ``image/install-kiosk.sh`` runs it; the agent installs every later one);
- ``ota in-window`` tells the image's OS updates (``kiosk-os-update``) whether the kiosk's local time
  is inside ``[ota] maintenance_window``;
- ``ota hold-kiosk`` asks the kiosk to hold (the agent's HOLD handshake, ``kiosk.ota_link``, as
  holder ``os-update``) before ``kiosk-os-update`` reboots, and ``ota hold-kiosk --release`` gives
  that hold back (the agent's own hold, if it has one, stays; a kiosk release from before holders
  has one hold for both).
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import re
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType, ModuleType
from typing import TYPE_CHECKING

from kiosk import __version__
from ota import release_cli

DEFAULT_ROOT = Path("/opt/kiosk")
DEFAULT_DATA = Path("/var/lib/kiosk")


@dataclass(frozen=True, slots=True)
class Edges:
    """The agent's outside world: HQ and the TUF download (``ota.agent.Hq``, ``ota.agent.Fetch``)."""

    hq: Hq
    fetch: Fetch


def kiosk_settings(args: argparse.Namespace) -> Settings:
    """The kiosk's settings (``--config`` as ``kiosk run`` takes it, ``KIOSK_*`` variables)."""
    from kiosk.settings import SettingsError, load_settings

    try:
        return load_settings(args.config)
    except (SettingsError, OSError) as exc:
        raise SystemExit(f"ota agent: {exc}") from None


def production_edges(args: argparse.Namespace) -> Edges:
    """HQ's signed OTA API and the TUF updater, built from the kiosk's enrolment and settings
    (``ota.edges``); raises ``ota.edges.EdgeError`` saying what to do when there is no trusted root
    or no enrolment yet."""
    from ota.edges import build_edges

    hq, fetch = build_edges(kiosk_settings(args), agent_state_dir(args), getattr(args, "trusted_root", None))
    return Edges(hq=hq, fetch=fetch)


def agent_state_dir(args: argparse.Namespace) -> Path:
    """The agent's own folder: ``--state``, else ``<data>/ota`` (an agent run by hand; callers that
    build their own arguments may have no ``state`` at all)."""
    state: Path | None = getattr(args, "state", None)
    return state if state is not None else args.data / "ota"


#: how often a waiting agent looks again for its trusted root and the kiosk's enrolment
SETUP_RETRY_S = 60.0


def edges_when_set_up(
    build: Callable[[], Edges], wait: Callable[[float], bool], say: Callable[[str], None]
) -> Edges | None:
    """The agent's edges once the kiosk has what they need, or None when ``wait`` says stop.

    A new kiosk is not enrolled until the installer scans HQ's code, and an image may be built
    without the TUF root; exiting then made systemd start the agent again every 10 s, all day
    (a boot test's journal: a Python start-up and three lines each time). Waiting in one process
    costs nothing and still picks the enrolment up within ``SETUP_RETRY_S``. The reason is said
    once, and again only when it changes."""
    from ota.edges import EdgeError

    said = ""
    while True:
        try:
            return build()
        except EdgeError as exc:
            if str(exc) != said:
                said = str(exc)
                say(f"{said} (the agent waits: it looks again every {SETUP_RETRY_S:.0f} s)")
        if wait(SETUP_RETRY_S):
            return None


def _paths(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--root", type=Path, default=DEFAULT_ROOT, help="the release folder (default /opt/kiosk)"
    )
    sub.add_argument(
        "--data",
        type=Path,
        default=None,
        help="the kiosk's data folder (default: [kiosk] data_dir of the kiosk's settings, /var/lib/kiosk)",
    )


def _hq_side() -> ModuleType | None:
    """HQ's ``ota`` commands (``hq.ota_cli``), or None on a kiosk, where HQ's extras (its
    PostgreSQL driver, ...) are not installed: ``ota agent``, ``boot-check`` and ``status`` still work."""
    try:
        from hq import ota_cli
    except ImportError:
        return None
    return ota_cli


def _installed(as_json: bool) -> int:
    info = {"version": __version__, "python": platform.python_version(), "machine": platform.machine()}
    if as_json:
        print(json.dumps(info))
    else:
        print(f"kiosk software {info['version']} (Python {info['python']}, {info['machine']})")
    return 0


if TYPE_CHECKING:
    from kiosk.settings import Settings
    from ota.agent import Agent, Fetch, Hq
    from ota.slots import Slots


def main(
    argv: Sequence[str] | None = None, *, edges: Callable[[argparse.Namespace], Edges] | None = None
) -> int:
    args_in = list(sys.argv[1:] if argv is None else argv)
    if args_in[:1] == ["tuf-client"]:
        # its options come before its subcommand, as the conformance protocol has them
        from ota import tuf_client

        return tuf_client.main(args_in[1:])
    ota_cli = _hq_side()

    parser = argparse.ArgumentParser(prog="ota", description="Kiosk software updates")
    parser.add_argument("--version", action="version", version=f"ota {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("tuf-client", help="the TUF client-conformance command line (ota tuf-client -h)")
    boot = sub.add_parser(
        "boot-check", help="leave 'current' on a complete, good release (kiosk.service runs it first)"
    )
    _paths(boot)
    first = sub.add_parser(
        "install-first",
        help="install a new kiosk's first release from a bundle and make it current (the image's installer)",
    )
    _paths(first)
    first.add_argument("bundle", type=Path, metavar="BUNDLE", help="a bundle from `ota release build`")
    window = sub.add_parser(
        "in-window", help="exit 0 inside the maintenance window ([ota] maintenance_window), 1 outside"
    )
    window.add_argument("--config", type=Path, help="the kiosk's settings file (as kiosk run --config)")
    window.add_argument(
        "--default",
        default="",
        metavar="HH:MM-HH:MM",
        help="the window to use when the kiosk sets none (default: none, so any time is inside)",
    )
    window.add_argument("--at", metavar="HH:MM", help="this local time instead of now (for a check by hand)")
    hold = sub.add_parser(
        "hold-kiosk",
        help="exit 0 once the kiosk is idle and holds (no new sale) for a reboot, 1 if it stayed busy",
    )
    hold.add_argument("--config", type=Path, help="the kiosk's settings file (as kiosk run --config)")
    hold.add_argument(
        "--data",
        type=Path,
        default=None,
        help="the kiosk's data folder (default: [kiosk] data_dir of the kiosk's settings, /var/lib/kiosk)",
    )
    hold.add_argument(
        "--wait-s", type=float, default=1800.0, help="how long to keep asking a busy kiosk (default 1800)"
    )
    hold.add_argument("--retry-s", type=float, default=15.0, help="seconds between questions (default 15)")
    hold.add_argument(
        "--release",
        action="store_true",
        help="give the OS update's hold back instead (no reboot after all: it failed, or the OS update "
        "was stopped); a hold the update agent has stays",
    )
    agent = sub.add_parser(
        "agent", help="the update agent (kiosk-ota.service): poll HQ, install, switch, roll back"
    )
    _paths(agent)
    agent.add_argument("--config", type=Path, help="the kiosk's settings file (as kiosk run --config)")
    agent.add_argument(
        "--state",
        type=Path,
        default=None,
        help="the agent's own folder: its state, TUF metadata and downloads; only root may change it "
        "or any folder above it (default <data>/ota, for a kiosk run by hand; the image: /data/ota-agent)",
    )
    agent.add_argument(
        "--trusted-root",
        type=Path,
        default=None,
        help="the image's first TUF root, installed once (default: [ota] trusted_root, which the kiosk "
        "user can change; the image names /etc/kiosk/ota-root.json here)",
    )
    agent.add_argument(
        "--store", type=Path, default=None, help="the kiosk store (default: the kiosk's [store] path)"
    )
    agent.add_argument("--once", action="store_true", help="one poll, carried as far as it goes, then exit")
    agent.add_argument(
        "--poll-s", type=float, default=None, help="seconds between polls (default: [ota] poll_s, 300)"
    )
    agent.add_argument("--health-deadline-s", type=float, default=180.0)
    agent.add_argument(
        "--restart-command", default="systemctl restart kiosk.service", help="how the kiosk is restarted"
    )
    release = release_cli.add_parsers(sub)
    if ota_cli is not None:
        ota_cli.add_register_parser(release)
        ota_cli.add_parsers(sub)
        sub.choices["status"].add_argument(
            "--installed", action="store_true", help="the release installed here instead of the fleet's"
        )
    else:
        status = sub.add_parser("status", help="the release installed here")
        status.add_argument("--json", action="store_true")
        status.add_argument("--installed", action="store_true", help="(the only status on a kiosk)")
    args = parser.parse_args(args_in)
    if args.command == "status" and (args.installed or ota_cli is None):
        return _installed(args.json)
    if ota_cli is not None and getattr(args, "hq_ota", None) is not None:
        code: int = ota_cli.run(args)
        return code
    if args.command in ("keys", "repo", "release"):
        return release_cli.run(args)
    if args.command == "boot-check":
        if args.data is None:
            args.data = DEFAULT_DATA
        return _boot_check(args)
    if args.command == "in-window":
        return _in_window(args)
    if args.command == "hold-kiosk":
        if args.data is None:
            args.data = kiosk_settings(args).kiosk.data_dir if args.config is not None else DEFAULT_DATA
        return _hold_kiosk(args)
    if args.command == "install-first":
        if args.data is None:
            args.data = DEFAULT_DATA
        return _install_first(args)
    if args.command == "agent":
        settings = kiosk_settings(args) if edges is None or args.config is not None else None
        if args.data is None:
            args.data = settings.kiosk.data_dir if settings is not None else DEFAULT_DATA
        if args.store is None and settings is not None:
            args.store = settings.store_path
        if args.poll_s is None:
            args.poll_s = settings.ota.poll_s if settings is not None else 300.0
        args.state = agent_state_dir(args)
        _refuse_shared_trust(args)
        if args.once:
            from ota.edges import EdgeError

            try:
                built = edges(args) if edges is not None else production_edges(args)
            except EdgeError as exc:
                raise SystemExit(str(exc)) from None
            return _agent(args, built)
        with SignalPipe() as signals:
            ready = edges(args) if edges is not None else _wait_for_edges(args, signals)
            return 0 if ready is None else _agent(args, ready, signals)
    return 2  # pragma: no cover - argparse rejects unknown commands


def _refuse_shared_trust(args: argparse.Namespace) -> None:
    """Exit saying why when the agent's folder or trusted root could be changed by another user
    than root: the agent runs as root and trusts both (``ota.kiosk_files``)."""
    from ota.kiosk_files import NotPrivate, check_private

    for what, path in (("--state", args.state), ("--trusted-root", args.trusted_root)):
        if path is None:
            continue
        try:
            check_private(path)
        except NotPrivate as exc:
            raise SystemExit(
                f"ota agent: {what} {path}: {exc}. The agent trusts what is there, and it runs as "
                "root: give it a folder and file only root can change (the image: --state "
                "/data/ota-agent --trusted-root /etc/kiosk/ota-root.json). Nothing was changed."
            ) from None


def _slots(args: argparse.Namespace) -> Slots:
    from ota.agent import HEALTH_DIR
    from ota.slots import Slots

    return Slots(args.root, args.data / "ota" / HEALTH_DIR)


def _boot_check(args: argparse.Namespace) -> int:
    slots = _slots(args)
    result = slots.boot_check()
    print(
        f"boot check: {result.action}, current {result.current or 'none'}"
        + (f": {result.detail}" if result.detail else "")
    )
    return 1 if result.action == "broken" else 0


def _in_window(args: argparse.Namespace) -> int:
    """0 inside the window, 1 outside, 2 for settings that cannot be read: the same window and the
    same local time (``[kiosk] timezone``) the kiosk uses to answer the agent's HOLD."""
    from datetime import UTC, datetime
    from datetime import time as time_of_day
    from zoneinfo import ZoneInfo

    from kiosk.core.window import in_window, parse_window

    settings = kiosk_settings(args)
    try:
        window = parse_window(settings.ota.maintenance_window or args.default)
        at = (
            time_of_day.fromisoformat(args.at)
            if args.at
            else datetime.now(UTC).astimezone(ZoneInfo(settings.kiosk.timezone)).time()
        )
    except ValueError as exc:
        print(f"ota in-window: {exc}", file=sys.stderr)
        return 2
    inside = in_window(window, at)
    print(
        f"{at.strftime('%H:%M')} is {'inside' if inside else 'outside'} the maintenance window {window or 'any time'}"
    )
    return 0 if inside else 1


def _hold_kiosk(args: argparse.Namespace) -> int:
    """0 once the kiosk answered HOLD with ``held`` (idle, and refusing new sales until it restarts or
    is released), 1 when it stayed busy (or did not answer) for ``--wait-s``; ``--release`` gives the
    hold back. The same handshake the update agent makes before it restarts the kiosk (docs/ota.md),
    so an OS update never reboots a kiosk mid-sale."""
    import time

    from ota.agent import OS_UPDATE_HOLDER, SOCKET_FILE, SocketKioskLink
    from ota.hold import hold_when_idle

    if args.wait_s < 0 or args.retry_s <= 0:
        print("ota hold-kiosk: --wait-s must be 0 or more and --retry-s more than 0", file=sys.stderr)
        return 2
    # the link's own lines (a kiosk from before holders, one that does not answer) go to the journal
    logging.basicConfig(level=logging.INFO, format="ota hold-kiosk: %(message)s")
    link = SocketKioskLink(args.data / "ota" / SOCKET_FILE, holder=OS_UPDATE_HOLDER)
    if args.release:
        print(f"ota hold-kiosk: {_release_said(link.release())}")
        return 0
    outcome = hold_when_idle(link, args.wait_s, args.retry_s, time.sleep)
    print(f"ota hold-kiosk: {outcome.detail}")
    return 0 if outcome.held else 1


_STILL_HELD = re.compile(r"still held by [a-z0-9,-]{1,100}")


def _release_said(answer: str | None) -> str:
    """What the kiosk's answer to RELEASE means, for the journal. Only known answers are repeated:
    the kiosk's app runs as another user, and its text must not forge the journal's lines."""
    if answer == "released":
        return "hold given back; the kiosk sells again"
    if answer is None:
        return "the kiosk did not answer; it holds nothing once it restarts"
    if answer == "unanswered":
        return "hold given back; the kiosk sells again once its screen answers (it is slow or stuck)"
    if _STILL_HELD.fullmatch(answer):
        # the update agent is switching releases, and restarts the kiosk or gives its hold back
        return f"hold given back; the kiosk is {answer}"
    return f"the kiosk answered RELEASE with {answer[:40]!r}, which this release does not know"


def _install_first(args: argparse.Namespace) -> int:
    """Install the bundle into ``releases/<V>`` and point ``current`` at it, with no health deadline:
    there is nothing to roll back to. Refused when a release is already current, so it can never
    replace what the agent installed; a slot already complete is kept (running it twice is safe)."""
    from ota.bundle import BundleError
    from ota.slots import SlotError

    slots = _slots(args)
    running = slots.current()
    if running is not None:
        print(
            f"ota install-first: release {running} is already current in {args.root}; "
            "later releases come from the update agent (ota agent)",
            file=sys.stderr,
        )
        return 2
    try:
        manifest = slots.install(args.bundle)
        slots.switch(manifest.version)
    except (BundleError, SlotError, OSError) as exc:
        print(f"ota install-first: {args.bundle}: {exc}", file=sys.stderr)
        return 1
    print(f"installed release {manifest.version} in {slots.slot(manifest.version)}; current -> it")
    return 0


class SignalPipe:
    """The agent's signals as bytes on a pipe (``signal.set_wakeup_fd``), read by ``wait``.

    A Python signal handler runs in the main thread between two bytecodes, so one that takes a
    lock (``threading.Event.set``) can deadlock against the main thread holding it, and a signal
    the kernel hands to another thread of the process does not interrupt the main thread's wait:
    the handler only runs when that wait times out (a test saw a stop sent right after a SIGUSR1
    wait out its full minute). The C-level handler writes every signal's number to the pipe
    whichever thread it lands on; the Python handlers installed here do nothing but keep the
    default actions (exit, for SIGTERM and SIGUSR1) away. One pipe serves the service's whole
    life, the set-up wait and the agent after it, so no signal falls between the two. Main thread
    only, like ``signal``; a context manager."""

    #: systemctl stop, Ctrl-C: the service ends
    STOP = (signal.SIGTERM, signal.SIGINT)
    SIGNALS = (*STOP, signal.SIGUSR1)
    #: the byte ``interrupt`` writes to end a ``wait`` (no signal has number 0)
    INTERRUPT = 0

    def __init__(self) -> None:
        import os

        self._read_end, self._write_end = os.pipe()
        for end in (self._read_end, self._write_end):
            os.set_blocking(end, False)
        self._previous_fd = signal.set_wakeup_fd(self._write_end, warn_on_full_buffer=False)
        self._previous = {signum: signal.signal(signum, _ignore_signal) for signum in self.SIGNALS}

    def __enter__(self) -> SignalPipe:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def wait(self, seconds: float | None) -> bytes:
        """The signal numbers received, waiting up to ``seconds`` (``None``: until one comes or
        ``interrupt``); empty when the time ran out."""
        import os
        import select

        ready, _, _ = select.select([self._read_end], [], [], seconds)
        if not ready:
            return b""
        try:
            return os.read(self._read_end, 4096)
        except BlockingIOError:  # another reader took them
            return b""

    def interrupt(self) -> None:
        """Wake a reader blocked in ``wait`` (it reads ``INTERRUPT``)."""
        import contextlib
        import os

        with contextlib.suppress(BlockingIOError):  # full: the reader wakes anyway
            os.write(self._write_end, bytes([self.INTERRUPT]))

    def close(self) -> None:
        """Give the signals back to their previous handlers, then stop writing to the pipe and
        close it (in that order: a signal in between still reaches a handler that acts)."""
        import os

        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        signal.set_wakeup_fd(self._previous_fd)
        os.close(self._read_end)
        os.close(self._write_end)


def _ignore_signal(_signum: int, _frame: FrameType | None) -> None:
    """The Python-level handler of ``SignalPipe``'s signals: the pipe carries them."""


def _wait_for_edges(args: argparse.Namespace, signals: SignalPipe) -> Edges | None:
    """``edges_when_set_up`` for the service: SIGTERM or SIGINT (systemctl stop) ends the wait,
    SIGUSR1 (IT's "check now", as for the running agent) makes it look again at once."""

    def wait(seconds: float) -> bool:
        return any(signum in SignalPipe.STOP for signum in signals.wait(seconds))

    return edges_when_set_up(
        lambda: production_edges(args), wait, lambda text: print(text, file=sys.stderr, flush=True)
    )


def _forward_signals(signals: SignalPipe, agent: Agent) -> None:
    """The agent's signal thread: SIGUSR1 is IT's "check now", SIGTERM or SIGINT stops the agent.

    Called from an ordinary thread, ``Agent.check_now`` and ``Agent.stop`` (``threading.Event``)
    are safe; from a signal handler they were not (``SignalPipe``). Should this thread fail, it
    stops the agent (systemd starts it again) rather than leave it deaf to ``systemctl stop``."""
    try:
        while True:
            got = signals.wait(None)
            for signum in got:
                if signum == signal.SIGUSR1:
                    agent.check_now()
                elif signum in SignalPipe.STOP:
                    agent.stop()
                    return
                elif signum == SignalPipe.INTERRUPT:
                    return
    except Exception:
        logging.getLogger(__name__).exception("the agent's signal thread failed; stopping the agent")
        agent.stop()


def _agent(args: argparse.Namespace, edges: Edges, signals: SignalPipe | None = None) -> int:
    """Run the agent: one poll with ``--once``, else until SIGTERM, reading ``signals``."""
    import shlex
    import subprocess

    from ota.agent import SOCKET_FILE, STATE_FILE, Agent, AgentConfig, SocketKioskLink, store_needs

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    slots = _slots(args)
    command = shlex.split(args.restart_command)
    store = args.store or args.data / "kiosk.sqlite3"

    def restart() -> None:
        subprocess.run(command, check=True, timeout=120)

    hq, fetch = edges.hq, edges.fetch
    agent = Agent(
        slots=slots,
        fetch=fetch,
        hq=hq,
        link=SocketKioskLink(args.data / "ota" / SOCKET_FILE),
        state_path=args.state / STATE_FILE,
        kiosk_dir=args.data / "ota",
        restart=restart,
        store_schema=lambda: store_needs(store),
        config=AgentConfig(poll_s=args.poll_s, health_deadline_s=args.health_deadline_s),
    )
    if args.once:
        agent.start()
        agent.poll_once()
        print(f"ota agent: {agent.state.phase.value}, running {agent.slots.current() or 'none'}")
        return 0

    import threading

    if signals is None:
        raise ValueError("the running agent needs its SignalPipe")
    forwarder = threading.Thread(
        target=_forward_signals, args=(signals, agent), name="ota-signals", daemon=True
    )
    forwarder.start()
    try:
        agent.run()
    finally:
        signals.interrupt()
        forwarder.join(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
