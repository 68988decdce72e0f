"""``kiosk run`` in full screen stops cleanly on SIGTERM (``systemctl stop``) and SIGINT.

SDL turned SIGTERM into a window-close request, which the full-screen kiosk refuses (Alt+F4 must not
close it), so the process ran on until systemd killed it. The kiosk now handles its signals itself.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from queue import Empty, Queue

import pytest
from ui_harness import kivy_env

pytestmark = pytest.mark.ui

SAMPLES = Path(__file__).resolve().parents[2] / "kiosk" / "samples"
#: bounds that only end a failing test: the kiosk is expected to stop in well under a second
READY_TIMEOUT_S = 60.0
EXIT_TIMEOUT_S = 30.0


@pytest.fixture
def config(tmp_path: Path) -> Path:
    camera = tmp_path / "camera"
    camera.mkdir()
    shutil.copy(SAMPLES / "wechat_ok.png", camera / "frame.png")
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text(
        f'[kiosk]\ndata_dir = "{tmp_path / "data"}"\n'
        "[ui]\nfullscreen = true\n"
        '[printer]\ntransport = "none"\n'
        f'[camera]\nsource = "{camera}"\nloop = true\n'
        '[gpio]\npin_factory = "mock"\n'
        '[hq]\nurl = "http://127.0.0.1:9"\ntimeout_s = 0.5\n'
    )
    return cfg


@pytest.fixture
def kiosk(
    xvfb_display: str, config: Path, tmp_path: Path
) -> Iterator[tuple[subprocess.Popen[str], Queue[str | None]]]:
    env = kivy_env(xvfb_display, tmp_path / "kivy-home")
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk", "--log-level", "INFO", "run", "--config", str(config)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: Queue[str | None] = Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    yield proc, lines
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=10)


def _wait_for(lines: Queue[str | None], *texts: str) -> list[str]:
    """Read lines until each of ``texts`` has been seen, in any order; the lines read."""
    seen: list[str] = []
    missing = set(texts)
    for _ in range(10_000):
        try:
            line = lines.get(timeout=READY_TIMEOUT_S)
        except Empty:
            break
        if line is None:
            break
        seen.append(line)
        missing -= {t for t in missing if t in line}
        if not missing:
            return seen
    raise AssertionError(f"never saw {sorted(missing)}:\n{''.join(seen[-30:])}")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_full_screen_kiosk_stops_cleanly_on_a_signal(
    kiosk: tuple[subprocess.Popen[str], Queue[str | None]], signum: signal.Signals
) -> None:
    proc, lines = kiosk
    # the screen is up and the start-up recovery finished: the kiosk is selling
    _wait_for(lines, "kiosk ready", "recovering -> attract")
    os.kill(proc.pid, signum)
    assert proc.wait(timeout=EXIT_TIMEOUT_S) == 0
    rest = _wait_for(lines, "kiosk stopped")
    assert any(f"signal {signum.name}" in line for line in rest)
    assert not any("Traceback" in line for line in rest)
