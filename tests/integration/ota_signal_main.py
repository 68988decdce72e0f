"""A running OTA agent (``ota.cli.main("agent")``) whose signals come to a thread other than the
main one, for test_ota_agent.py::test_the_running_agent_takes_signals_that_land_on_another_thread.

The process sends itself SIGUSR1 then SIGTERM with ``signal.pthread_kill`` from a helper thread,
so the kernel runs the C-level handler on that thread, never the main one (the agent's). The
agent waits between polls in slices of ``check_file_s``, made an hour here: with a Python-level
handler the main thread's wait is not interrupted and the signals wait out that hour; the test
gives the process a minute. Prints ``polled N`` per question to HQ, ``stopped`` at the end."""

from __future__ import annotations

import functools
import signal
import sys
import threading
import time
from pathlib import Path

import ota.agent
import ota.cli
from ota.agent import AgentConfig, Assignment
from ota.cli import Edges


class OneQuestionHq:
    """HQ with nothing to install; each question is said on stdout and released to the sender."""

    def __init__(self) -> None:
        self.asked = threading.Semaphore(0)
        self.count = 0

    def assignment(self) -> Assignment:
        self.count += 1
        print(f"polled {self.count}", flush=True)
        self.asked.release()
        return Assignment(None)

    def report(self, version: str, state: str, detail: str) -> None:
        """Nothing to report: nothing is installed."""


class NoFetch:
    def fetch(self, version: str, target_name: str) -> Path:
        raise AssertionError("nothing is assigned, nothing is fetched")


def main(root: Path) -> int:
    hq = OneQuestionHq()
    # ota.cli imports the class when the agent starts: the partial is what it finds
    ota.agent.AgentConfig = functools.partial(AgentConfig, check_file_s=3600.0)  # type: ignore[misc]

    main_thread = threading.get_ident()

    def agent_waits() -> bool:
        """Whether the main thread is blocked in the agent's wait between polls (a signal that
        comes before it gets there is handled on its way, which proves nothing)."""
        for _ in range(2400):  # two minutes at most
            frame = sys._current_frames().get(main_thread)
            if (
                frame is not None
                and frame.f_code.co_name == "wait"
                and "threading" in frame.f_code.co_filename
            ):
                return True
            time.sleep(0.05)
        return False

    def sender() -> None:
        if not hq.asked.acquire(timeout=120) or not agent_waits():
            return
        signal.pthread_kill(threading.get_ident(), signal.SIGUSR1)  # IT's "check now"
        if not hq.asked.acquire(timeout=120) or not agent_waits():
            return
        signal.pthread_kill(threading.get_ident(), signal.SIGTERM)  # systemctl stop

    threading.Thread(target=sender, name="sender", daemon=True).start()
    code = ota.cli.main(
        ["agent", "--root", str(root / "opt"), "--data", str(root / "data"), "--poll-s", "3600"],
        edges=lambda _args: Edges(hq=hq, fetch=NoFetch()),
    )
    print("stopped", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
