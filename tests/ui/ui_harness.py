"""Running the real Kivy app in a child process: Kivy is never imported into the pytest process.

Kivy reads argv and the environment when imported and can open one window per process, so each
UI test runs a tour script from this folder with ``KIVY_NO_ARGS=1``, its own ``KIVY_HOME`` and
``DISPLAY`` pointing at the session's Xvfb, then reads the JSON line it prints and ``tour.json``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
#: only for a child that hangs outside its script (Kivy not starting, a deadlock): a script bounds
#: each of its steps itself (SCRIPT_LIMIT_S) and reports where it stuck, so this is far longer than
#: any script takes on a loaded machine
CHILD_TIMEOUT_S = 1200.0


@dataclass
class TourRun:
    returncode: int
    result: dict[str, Any]
    manifest: dict[str, Any]
    out_dir: Path
    log: str


def kivy_env(display: str, kivy_home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KIVY_", "KCFG_", "SDL_"))}
    env.update(
        {"DISPLAY": display, "KIVY_NO_ARGS": "1", "KIVY_HOME": str(kivy_home), "PYTHONPATH": str(REPO)}
    )
    return env


def run_tour(display: str, tmp: Path, script: str, *args: str) -> TourRun:
    """Run a tour script from tests/ui in a child process and read what it printed and wrote."""
    out_dir = tmp / "shots"
    proc = subprocess.run(
        [sys.executable, str(HERE / script), str(out_dir), *args],
        cwd=REPO,
        env=kivy_env(display, tmp / "kivy-home"),
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_S,
        check=False,
    )
    log = proc.stdout + proc.stderr
    last = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    result = json.loads(last[-1]) if last else {}
    manifest_path = out_dir / "tour.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.exists() else {}
    return TourRun(proc.returncode, result, manifest, out_dir, log)


def distinct_colours(png: Path, limit: int = 100_000) -> int:
    """How many different colours a picture has (a blank or failed screenshot has one or two)."""
    with Image.open(png) as img:
        colours = img.convert("RGB").getcolors(maxcolors=limit)
    return limit if colours is None else len(colours)
