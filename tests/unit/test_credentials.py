"""The HQ credentials file: 0600, whole or not at all, never replaced unless told, checked on load."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from kiosk.sync import credentials as cr
from kiosk.sync.credentials import (
    Credentials,
    CredentialsError,
    NotEnrolled,
    load_credentials,
    same_hq,
    write_credentials,
)

SECRET = bytes(range(32))
CREDS = Credentials("kiosk-001", "s01", SECRET, "http://127.0.0.1:8080", "2026-12-02T08:00:00Z")


def test_written_0600_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "hq-credentials.json"
    old = os.umask(0)
    try:
        write_credentials(path, CREDS)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_credentials(path) == CREDS
    assert json.loads(path.read_text())["secret"] == SECRET.hex()
    assert SECRET.hex() not in repr(CREDS)
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left


def test_an_existing_file_is_replaced_only_when_told(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    write_credentials(path, CREDS)
    other = Credentials("kiosk-001", "s02", bytes(32), "http://hq", "x")
    with pytest.raises(FileExistsError):
        write_credentials(path, other)
    assert load_credentials(path) == CREDS
    write_credentials(path, other, replace=True)
    assert load_credentials(path).store == "s02"


def test_a_failed_write_leaves_nothing_and_the_old_file_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN credentials on disk, WHEN writing new ones fails half way (the disk fills), THEN the old
    file is intact and no partial or temporary file is left."""
    path = tmp_path / "c.json"
    write_credentials(path, CREDS)
    before = path.read_bytes()

    def full(fd: int, data: bytes) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cr.os, "write", full)
    with pytest.raises(OSError, match="No space"):
        write_credentials(path, Credentials("kiosk-001", "s02", bytes(32), "http://hq", "x"), replace=True)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["c.json"]
    # and a first write that fails leaves no file at all
    fresh = tmp_path / "fresh.json"
    monkeypatch.setattr(cr.os, "write", full)
    with pytest.raises(OSError):
        write_credentials(fresh, CREDS)
    monkeypatch.undo()
    assert not fresh.exists() and [p.name for p in tmp_path.iterdir()] == ["c.json"]


def test_missing_open_or_damaged_files_say_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    with pytest.raises(NotEnrolled, match="kiosk enroll CODE --hq"):
        load_credentials(path)
    write_credentials(path, CREDS)
    path.chmod(0o644)
    with pytest.raises(CredentialsError, match="chmod 600"):
        load_credentials(path)
    path.chmod(0o600)
    data = json.loads(path.read_text())
    data["secret"] = "nothex"
    path.write_text(json.dumps(data))
    with pytest.raises(CredentialsError, match="secret") as err:
        load_credentials(path)
    assert "--replace" in str(err.value)
    path.write_text("{not json")
    with pytest.raises(CredentialsError, match="cannot be read"):
        load_credentials(path)


def test_same_hq_ignores_trailing_slash_and_case() -> None:
    assert same_hq("http://HQ.local:8080/", "http://hq.local:8080")
    assert not same_hq("http://hq.local:8080", "http://hq.local:8081")
