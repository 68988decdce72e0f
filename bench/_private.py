"""Files a bench writes are readable by their owner only.

``bench/payments.py`` writes a kiosk config that holds a payment API key, and the kiosk refuses such
a file while others can read it (that refusal is what broke ``make bench``); ``bench/checkout.py``
writes real stores and an HQ database with device keys; ``bench/decode.py`` a video clip. On a
shared machine none of that is anyone else's business, so everything a bench creates inside
:func:`private_files` is 0600 (folders 0700), whatever the caller's umask.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

PRIVATE_UMASK = 0o077


@contextlib.contextmanager
def private_files() -> Iterator[None]:
    """Create files 0600 and folders 0700 inside the block (the umask is the process's: one at a time)."""
    previous = os.umask(PRIVATE_UMASK)
    try:
        yield
    finally:
        os.umask(previous)


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only, even where the file already existed."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(path, 0o600)  # O_CREAT leaves an existing file's mode as it was
