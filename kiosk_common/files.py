"""Writing a new private file: the one way the kiosk, HQ and ``ota`` create files that hold data
someone else must not read (keys, backups, support bundles, uploads).

0600 from the first byte (and again after the umask), never over an existing file, every byte
written (``os.write`` may write fewer than asked), and synced before the caller calls it done.
"""

from __future__ import annotations

import os
from pathlib import Path


def write_new_private(path: Path, data: bytes) -> None:
    """Create ``path`` with ``data``, mode 0600; FileExistsError if anything is there already."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # a strict umask could have taken the owner's own bits
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
