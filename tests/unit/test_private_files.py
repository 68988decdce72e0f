"""kiosk_common.files.write_new_private: every byte, 0600 whatever the umask, never over a file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from kiosk_common import files
from kiosk_common.files import write_new_private


def test_a_new_file_is_0600_even_under_a_strict_umask_and_never_replaces_one(tmp_path: Path) -> None:
    old = os.umask(0o777)
    try:
        write_new_private(tmp_path / "key.pem", b"secret")
    finally:
        os.umask(old)
    path = tmp_path / "key.pem"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes() == b"secret"
    with pytest.raises(FileExistsError):
        write_new_private(path, b"other")
    assert path.read_bytes() == b"secret"


def test_a_short_write_is_carried_on_until_every_byte_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """os.write may write fewer bytes than asked; the old copies wrote once and lost the rest."""
    real_write = os.write

    def at_most_3(fd: int, data: bytes | memoryview) -> int:
        return real_write(fd, bytes(data[:3]))

    monkeypatch.setattr(files.os, "write", at_most_3)
    write_new_private(tmp_path / "backup", b"0123456789")
    assert (tmp_path / "backup").read_bytes() == b"0123456789"
