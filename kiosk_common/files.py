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


#: the prefix of ``replace_atomically``'s half-written files, so a tidy-up knows which are its own
PART_PREFIX = ".part-"


def replace_atomically(path: Path, data: bytes) -> None:
    """Put ``data`` at ``path`` so a reader (or a power cut) sees the old file or the new one, never
    half of one: written and synced under a hidden name beside it, renamed over it, and the folder
    synced so the rename itself survives. The new file is 0600 like every file ``write_new_private``
    makes. A half-written file left by a power cut is named ``.part-<name>.<random>``."""
    part = path.with_name(f"{PART_PREFIX}{path.name}.{os.urandom(6).hex()}")
    try:
        write_new_private(part, data)
        os.replace(part, path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
