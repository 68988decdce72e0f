"""The two halves of a crash test's driver process, shared by the payment and the OTA crash tests.

The child half (``serve``) runs in the driver script: it has imported and warmed up everything once,
then forks one process per ``run ...`` command read on stdin, saying ``pid PID`` after each fork and
``exit STATUS`` when that process is gone, until ``quit``. Forking from a warmed parent makes each run
cost a fraction of a Python start-up, so a hundred real SIGKILLs fit in a test.

The parent half (``DriverProcess``) runs in the test: it starts the script, reads its lines on a
thread so every wait is bounded without sleeping, and sends it commands.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from queue import Empty, Queue


def say(text: str) -> None:
    """One line to the test, unbuffered (a killed process leaves nothing half-said in a buffer)."""
    os.write(1, (text + "\n").encode())


def serve(child: Callable[[list[str]], None]) -> int:
    """Fork ``child(words)`` for each command line until ``quit`` (or the end of stdin)."""
    for line in sys.stdin:
        words = line.split()
        if not words or words[0] == "quit":
            return 0
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                child(words)
            except BaseException as exc:  # a child must never return into the parent's loop
                os.write(2, f"error {type(exc).__name__}: {exc}\n".encode())
                code = 3
            finally:
                os._exit(code)
        say(f"pid {pid}")
        _, status = os.waitpid(pid, 0)
        say(f"exit {status}")
    return 0


class DriverProcess:
    """The driver script running beside the test; its stderr goes to ``workdir/driver.log``."""

    def __init__(
        self, script: Path, args: list[str], workdir: Path, env: Mapping[str, str], line_timeout_s: float
    ) -> None:
        self.log = workdir / "driver.log"
        self.line_timeout_s = line_timeout_s
        self.proc = subprocess.Popen(
            [sys.executable, str(script), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log.open("w"),
            text=True,
            env=dict(env),
            cwd=workdir,
        )
        self.lines: Queue[str | None] = Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def send(self, command: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def next_line(self) -> str:
        try:
            line = self.lines.get(timeout=self.line_timeout_s)
        except Empty:
            raise AssertionError(f"the driver said nothing for {self.line_timeout_s:g} s") from None
        if line is None:
            raise AssertionError(f"the driver ended early (exit {self.proc.poll()}):\n{self.log_tail()}")
        return line

    def until(self, *prefixes: str) -> tuple[str, list[str]]:
        """Read until a line starting with one of ``prefixes``; that line and the ones before it."""
        seen: list[str] = []
        for _ in range(10_000):
            line = self.next_line()
            if line.startswith(prefixes):
                return line, seen
            seen.append(line)
        raise AssertionError(f"no line starting {prefixes} in 10000 lines")

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text("utf-8", "replace").splitlines()[-lines:])

    def close(self) -> None:
        if self.proc.poll() is None:
            self.send("quit")
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
