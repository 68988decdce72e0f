"""``kiosk demo --out DIR`` never deletes what the demo did not write."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.demo_output import DEMO_ENTRIES, MARKER, DemoOutputError, prepare_output


def test_demo_refuses_a_folder_holding_the_users_files_and_keeps_them(tmp_path: Path) -> None:
    """GIVEN a folder with a user's file in it WHEN the demo is pointed at it THEN it stops, file intact.

    Before the fix the demo ran ``shutil.rmtree`` on the folder and then served its customers.
    """
    out = tmp_path / "Desktop"
    out.mkdir()
    (out / "thesis.txt").write_text("four years of work", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "kiosk",
            "demo",
            "--headless",
            "--no-screenshots",
            "--orders",
            "1",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    assert (out / "thesis.txt").read_text(encoding="utf-8") == "four years of work"
    assert result.returncode == 2, result.stderr[-2000:]
    assert str(out) in result.stderr and "did not write" in result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["thesis.txt"]


def test_new_and_empty_folders_are_taken_and_marked(tmp_path: Path) -> None:
    new = tmp_path / "a" / "new"
    prepare_output(new)
    empty = tmp_path / "empty"
    empty.mkdir()
    prepare_output(empty)
    for folder in (new, empty):
        assert [p.name for p in folder.iterdir()] == [MARKER]


def test_a_demo_folder_is_cleared_of_what_the_demo_wrote_only(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    prepare_output(out)
    (out / "receipts").mkdir()
    (out / "receipts" / "receipt-0001.txt").write_text("old receipt", encoding="utf-8")
    (out / "hq.sqlite3").write_bytes(b"old hq")
    (out / "notes.md").write_text("mine", encoding="utf-8")  # the user's, added later
    prepare_output(out)
    assert sorted(p.name for p in out.iterdir()) == sorted([MARKER, "notes.md"])
    assert (out / "notes.md").read_text(encoding="utf-8") == "mine"


def test_a_link_in_a_demo_folder_is_removed_not_followed(tmp_path: Path) -> None:
    elsewhere = tmp_path / "photos"
    elsewhere.mkdir()
    (elsewhere / "cat.jpg").write_bytes(b"\xff\xd8")
    out = tmp_path / "demo"
    prepare_output(out)
    (out / "data").symlink_to(elsewhere, target_is_directory=True)
    prepare_output(out)
    assert not (out / "data").exists() and (elsewhere / "cat.jpg").read_bytes() == b"\xff\xd8"


def test_a_file_given_as_the_folder_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "report.pdf"
    target.write_bytes(b"%PDF")
    with pytest.raises(DemoOutputError, match="is a file"):
        prepare_output(target)
    assert target.read_bytes() == b"%PDF"


def test_every_demo_entry_is_a_plain_name() -> None:
    """The names are joined to the user's folder: none may reach outside it."""
    for name in DEMO_ENTRIES:
        assert name and "/" not in name and name not in (".", "..") and name != MARKER
