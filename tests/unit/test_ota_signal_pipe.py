"""The OTA service's signals (``ota.cli.SignalPipe``): carried as bytes on a pipe for the whole
service, so a signal sent between the set-up wait and the running agent waits for its reader
instead of meeting SIGUSR1's default action (the process ends) or a handler that drops it."""

from __future__ import annotations

import os
import signal
import threading

from ota.cli import SignalPipe


def test_a_signal_waits_on_the_pipe_for_its_reader() -> None:
    before = signal.getsignal(signal.SIGUSR1)
    with SignalPipe() as signals:
        os.kill(os.getpid(), signal.SIGUSR1)  # nobody reads yet: the process must live on
        os.kill(os.getpid(), signal.SIGUSR1)
        assert signals.wait(30) == bytes([signal.SIGUSR1, signal.SIGUSR1])
        assert signals.wait(0) == b""
    assert signal.getsignal(signal.SIGUSR1) is before


def test_interrupt_wakes_a_reader_blocked_without_a_timeout() -> None:
    got: list[bytes] = []
    with SignalPipe() as signals:
        reader = threading.Thread(target=lambda: got.append(signals.wait(None)))
        reader.start()
        signals.interrupt()
        reader.join(timeout=30)
        assert not reader.is_alive()
    assert got == [bytes([SignalPipe.INTERRUPT])]
