"""UI test plumbing: one Xvfb X server for the session.

Kivy is never imported into the pytest process (see ui_harness.py for the child processes).
Xvfb picks its own free display number (``-displayfd``), so parallel runs on one machine never
race for ``:99``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest

XVFB_START_TIMEOUT_S = 15.0


@pytest.fixture(scope="session")
def xvfb_display(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if shutil.which("Xvfb") is None:
        pytest.fail("Xvfb is not installed (Debian: apt install xvfb xauth; make test installs it)")
    err_path = tmp_path_factory.mktemp("xvfb") / "xvfb.log"
    err_file = err_path.open("wb")
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        [
            "Xvfb",
            "-displayfd",
            str(write_fd),
            "-screen",
            "0",
            "1280x720x24",
            "+extension",
            "GLX",
            "-nolisten",
            "tcp",
        ],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=err_file,
    )
    os.close(write_fd)
    try:
        import selectors

        sel = selectors.DefaultSelector()
        sel.register(read_fd, selectors.EVENT_READ)
        ready = sel.select(timeout=XVFB_START_TIMEOUT_S)
        sel.close()
        number = os.read(read_fd, 64).decode().strip() if ready else ""
        if not number.isdigit():
            proc.kill()
            proc.wait(timeout=5)
            err = err_path.read_text(errors="replace")[-500:]
            pytest.fail(f"Xvfb did not start within {XVFB_START_TIMEOUT_S} s: {err}")
        yield f":{number}"
    finally:
        os.close(read_fd)
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        err_file.close()
