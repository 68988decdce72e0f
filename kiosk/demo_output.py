"""The demo's output folder: the demo clears only what it wrote there itself, never the user's files.

``kiosk demo --out DIR`` is often pointed at a folder by hand (``--out ~/Desktop``), so "start from a
clean folder" must not mean "delete the folder". The demo takes a folder that does not exist yet
or is empty, and marks it as its own with :data:`MARKER`. A folder with the marker is reused: the
demo removes the entries it writes (:data:`DEMO_ENTRIES`) and leaves anything else in it alone. A
non-empty folder without the marker is refused with a message that says what to do.
"""

from __future__ import annotations

import shutil
from pathlib import Path

__all__ = ["DEMO_ENTRIES", "MARKER", "DemoOutputError", "prepare_output"]

#: written into every folder the demo uses; its presence is what lets a later demo clear the folder
MARKER = ".kiosk-demo"

#: every name the demo writes directly in its folder. A new one must be added here, or the next run
#: finds it left over (``tests/e2e/test_demo_headless.py`` checks a real run writes nothing else).
DEMO_ENTRIES = (
    "paysim-keys",
    "hq.sqlite3",
    "hq.sqlite3-wal",
    "hq.sqlite3-shm",
    "hq.sqlite3-journal",
    "hq-identity.key",  # the demo HQ's identity (the key its kiosks' secrets derive from)
    "hq-badge.key",  # the demo HQ's key for signing staff badges (maintenance mode)
    "receipts",
    "screens",
    "data",
    "ui-data",
    ".kivy",
)

_MARKER_TEXT = (
    "This folder holds the output of `kiosk demo`.\n"
    "The next `kiosk demo --out` into this folder replaces what the demo wrote here\n"
    f"({', '.join(DEMO_ENTRIES)}) and leaves every other file alone.\n"
)


class DemoOutputError(RuntimeError):
    """The folder cannot be used without touching files the demo did not write; the message says why."""


def _remove(path: Path) -> None:
    """Remove one entry the demo wrote; a link is removed itself, never what it points to."""
    if path.is_symlink() or not path.is_dir():
        path.unlink()
    else:
        shutil.rmtree(path)


def prepare_output(out: Path) -> None:
    """Make ``out`` ready for a demo run: new, empty, or the demo's own (cleared of what it wrote)."""
    if out.is_symlink() and not out.exists():
        raise DemoOutputError(f"--out {out} is a link to nothing; choose another folder")
    if out.exists() and not out.is_dir():
        raise DemoOutputError(f"--out {out} is a file, not a folder; choose a new or empty folder")
    try:
        if not out.exists():
            out.mkdir(parents=True)
        elif (out / MARKER).is_file():
            for name in DEMO_ENTRIES:
                entry = out / name
                if entry.is_symlink() or entry.exists():
                    _remove(entry)
        elif any(out.iterdir()):
            raise DemoOutputError(
                f"--out {out} already holds files that the demo did not write, and it never deletes those; "
                "choose a new or empty folder, or delete this one yourself if it only holds an older demo's output"
            )
        (out / MARKER).write_text(_MARKER_TEXT, encoding="utf-8")
    except OSError as exc:
        raise DemoOutputError(
            f"--out {out}: cannot prepare it ({exc.strerror or exc}); check the folder's permissions "
            "or choose another one"
        ) from None
