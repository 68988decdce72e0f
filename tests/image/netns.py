"""Network namespaces of the tests' own, for running the image's firewall for real.

Each ``Netns`` is a user and network namespace (``unshare -rn``: no root needed, and nothing of this
machine's own network or firewall is seen or changed), held open by a ``cat`` that ends when the
namespace is closed. A second namespace made with ``parent=`` is a sibling network in the first's
user namespace, so a veth pair can join the two (a kiosk and the shop's LAN). Commands run inside
with ``nsenter`` as the namespace's root.
"""

from __future__ import annotations

import subprocess
from typing import Any

import pytest


class Netns:
    """A network namespace held open until ``close``."""

    def __init__(self, parent: Netns | None = None) -> None:
        hold = ["sh", "-c", "echo ready; exec cat"]
        argv = ["unshare", "-rn", *hold] if parent is None else [*parent.enter(), "unshare", "-n", *hold]
        self._holder = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self._holder.stdout is not None
        ready = self._holder.stdout.readline()  # unshare has made the namespace (the same process)
        if ready != "ready\n":
            self.close()
            pytest.fail(f"cannot make a network namespace with unshare (it said {ready!r})")
        self.pid = self._holder.pid

    def enter(self) -> list[str]:
        """The command prefix that runs a program inside, as the namespace's root."""
        return ["nsenter", "-t", str(self.pid), "-U", "-n", "--"]

    def run(self, argv: list[str], check: bool = True, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        kwargs.setdefault("timeout", 60)
        done = subprocess.run([*self.enter(), *argv], capture_output=True, text=True, check=False, **kwargs)
        if check and done.returncode != 0:
            pytest.fail(
                f"{' '.join(argv)} failed in the namespace ({done.returncode}): {done.stdout}{done.stderr}"
            )
        return done

    def popen(self, argv: list[str], **kwargs: Any) -> subprocess.Popen[str]:
        return subprocess.Popen([*self.enter(), *argv], text=True, **kwargs)

    def close(self) -> None:
        """Ends the holder (this object's own process); the namespace goes with its last process."""
        if self._holder.stdin is not None and not self._holder.stdin.closed:
            self._holder.stdin.close()
        try:
            self._holder.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._holder.kill()
            self._holder.wait(timeout=30)
        if self._holder.stdout is not None:
            self._holder.stdout.close()
