"""systemd's watchdog sees the UI's main loop: READY=1 once the screen is up, WATCHDOG=1 while the
loop runs, none while it hangs, STOPPING=1 on the way out.

Both tests listen on a notify socket of their own, as systemd would (``Type=notify``, ``WatchdogSec``).
The first runs ``kiosk run`` itself; the second runs the app with the FakeController so that it can
hold the main loop in a clock callback, as a blocking call on the UI thread would.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_kiosk_run_signals import config  # noqa: F401  (the fixture: a kiosk.toml on sample parts)
from ui_harness import HERE, REPO, kivy_env

pytestmark = pytest.mark.ui

#: a short watchdog, so that a hang spans many beats (WATCHDOG_USEC: beats every 0.1 s)
WATCHDOG_USEC = 200_000
#: bounds that only end a failing test
MESSAGE_TIMEOUT_S = 60.0
EXIT_TIMEOUT_S = 30.0
#: how long a hung main loop is watched for beats: 15 beat intervals
HANG_WATCH_S = 1.5


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[tuple[str, socket.socket]]:
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    yield str(path), sock
    sock.close()


def _until(sock: socket.socket, wanted: str, limit: int = 5_000) -> list[str]:
    """Messages received up to and including the first one equal to ``wanted``."""
    sock.settimeout(MESSAGE_TIMEOUT_S)
    got: list[str] = []
    for _ in range(limit):
        try:
            message = sock.recv(4096).decode()
        except TimeoutError as exc:
            raise AssertionError(f"never received {wanted!r}; got {got[-10:]}") from exc
        got.append(message)
        if message == wanted or message.startswith(wanted + "\n"):
            return got
    raise AssertionError(f"never received {wanted!r} in {limit} messages")


def _env(display: str, tmp_path: Path, socket_path: str) -> dict[str, str]:
    env = kivy_env(display, tmp_path / "kivy-home")
    env.update({"NOTIFY_SOCKET": socket_path, "WATCHDOG_USEC": str(WATCHDOG_USEC)})
    return env


def test_kiosk_run_says_ready_beats_and_says_stopping(
    xvfb_display: str,
    config: Path,  # noqa: F811
    tmp_path: Path,
    notify_socket: tuple[str, socket.socket],
) -> None:
    path, sock = notify_socket
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk", "run", "--config", str(config)],
        env=_env(xvfb_display, tmp_path, path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        before_ready = _until(sock, "READY=1")
        assert not any(m == "WATCHDOG=1" for m in before_ready), "beats before the screen was up"
        _until(sock, "WATCHDOG=1")
        _until(sock, "WATCHDOG=1")
        os.kill(proc.pid, signal.SIGTERM)
        _until(sock, "STOPPING=1")
        assert proc.wait(timeout=EXIT_TIMEOUT_S) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def test_a_hung_main_loop_stops_the_beats_and_they_resume_after(
    xvfb_display: str, tmp_path: Path, notify_socket: tuple[str, socket.socket]
) -> None:
    path, sock = notify_socket
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "ui_watchdog_main.py")],
        cwd=REPO,
        env=_env(xvfb_display, tmp_path, path),
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdin is not None
    try:
        # READY=1 lets the splash go: the customer's screen must already be on the display, and
        # on KMS/DRM the first frame swapped in was seen black (kiosk/ui/systemd.py): READY=1
        # only after the second swap, which the app asks for itself (nothing else changes here)
        before_ready = _until(sock, "READY=1")
        assert "STATUS=frame-flipped-2" in before_ready, (
            f"READY=1 before the second frame was shown: {before_ready}"
        )
        _until(sock, "WATCHDOG=1")
        proc.stdin.write("hang\n")
        proc.stdin.flush()
        _until(sock, "STATUS=hanging")
        # every message sent before the hang arrived before STATUS=hanging (one socket, in order):
        # anything now was sent while the UI thread was stuck
        sock.settimeout(HANG_WATCH_S)
        during: list[str] = []
        try:
            for _ in range(1_000):
                during.append(sock.recv(4096).decode())
        except TimeoutError:
            pass
        assert "WATCHDOG=1" not in during, f"beats while the main loop hung: {during}"
        proc.stdin.write("go\n")
        proc.stdin.flush()
        after = _until(sock, "WATCHDOG=1")
        assert after[0] == "STATUS=running"
        proc.stdin.write("quit\n")
        proc.stdin.flush()
        _until(sock, "STOPPING=1")
        assert proc.wait(timeout=EXIT_TIMEOUT_S) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
