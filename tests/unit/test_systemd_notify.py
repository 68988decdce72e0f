"""The sd_notify client: what it sends, where, and when it stays silent."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.systemd_notify import SystemdNotifier


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[tuple[str, socket.socket]]:
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(10.0)
    yield str(path), sock
    sock.close()


def test_ready_watchdog_and_stopping_reach_the_socket(receiver: tuple[str, socket.socket]) -> None:
    path, sock = receiver
    notifier = SystemdNotifier.from_env({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "4000000"})
    assert notifier.beat_interval_s == 2.0
    notifier.ready("up")
    notifier.watchdog()
    notifier.stopping()
    notifier.close()
    assert [sock.recv(256) for _ in range(3)] == [b"READY=1\nSTATUS=up", b"WATCHDOG=1", b"STOPPING=1"]


def test_an_abstract_socket_name_is_used_as_one(tmp_path: Path) -> None:
    name = f"kiosk-test-{os.getpid()}-{tmp_path.name}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(10.0)
    try:
        assert SystemdNotifier.from_env({"NOTIFY_SOCKET": "@" + name}).notify("READY=1")
        assert sock.recv(64) == b"READY=1"
    finally:
        sock.close()


def test_outside_systemd_nothing_is_sent_and_nothing_fails() -> None:
    notifier = SystemdNotifier.from_env({})
    assert notifier.address is None and notifier.beat_interval_s is None
    assert notifier.notify("READY=1") is False


def test_a_socket_that_is_gone_is_reported_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    notifier = SystemdNotifier.from_env({"NOTIFY_SOCKET": str(tmp_path / "gone.sock")})
    assert notifier.notify("WATCHDOG=1") is False
    assert notifier.notify("WATCHDOG=1") is False
    assert sum("cannot notify systemd" in r.message for r in caplog.records) == 1


@pytest.mark.parametrize(
    ("env", "period"),
    [
        ({"WATCHDOG_USEC": "30000000"}, 30.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1234"}, 30.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "99"}, None),  # meant for another process
        ({"WATCHDOG_USEC": "soon"}, None),
        ({"WATCHDOG_USEC": "0"}, None),
        ({}, None),
    ],
)
def test_the_watchdog_period_comes_from_the_environment(env: dict[str, str], period: float | None) -> None:
    notifier = SystemdNotifier.from_env({"NOTIFY_SOCKET": "/run/x", **env}, pid=1234)
    assert notifier.watchdog_s == period


def test_a_relative_socket_name_is_refused() -> None:
    assert SystemdNotifier.from_env({"NOTIFY_SOCKET": "notify.sock"}).address is None
