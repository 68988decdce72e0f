"""A high-water mark of the kiosk's own sales, kept outside the store, so a store that went backwards
is refused instead of silently selling on without sales it once held.

SQLite cannot always tell that it lost data: a 0-byte file opens as a new, empty database, and a
damaged frame in the write-ahead log makes SQLite stop replaying the log there, dropping every later
commit while ``quick_check`` still says "ok". Both lose paid sales that may not have reached HQ.

So every paid sale also bumps a counter inside the store (in the sale's own transaction), and then
this file is advanced to the same number, written to a temporary file, fsynced and renamed over the
old one (then the folder is fsynced), so it is either the old or the new number, never a torn one.
At open, a store whose counter is below the file's is refused with a message that names the file and
the restore step. The file can only lag the store (a crash between the commit and the rename), never
lead it, so an honest store always passes.
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

import peewee as pw

from kiosk.store.models import store_file

SUFFIX = ".sales"


def watermark_path(store_path: Path) -> Path:
    return store_path.with_name(store_path.name + SUFFIX)


def watermark_for(db: pw.Database) -> Watermark | None:
    """The watermark of a store file; None for an in-memory store (nothing to protect across runs)."""
    file = store_file(db)
    return None if file is None else Watermark(watermark_path(file))


class Watermark:
    """The file of one store. Safe to share between the threads of one process (sales are recorded
    from the checkout's worker and from the start-up recovery)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._known: int | None = None
        self._lock = threading.Lock()

    def read(self) -> int | None:
        """The recorded count, or None when there is no file yet; ValueError when it is unreadable."""
        try:
            text = self.path.read_text("ascii").strip()
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"{self.path} cannot be read ({exc})") from None
        if not text.isdigit():
            raise ValueError(f"{self.path} does not hold a count of sales (it holds {text[:20]!r})")
        self._known = int(text)
        return self._known

    def advance(self, count: int) -> None:
        """Record ``count`` durably, if it is higher than what is recorded."""
        with self._lock:
            if self._known is None:
                try:
                    self.read()
                except ValueError:
                    self._known = None
            if self._known is not None and count <= self._known:
                return
            self._write(count)

    def write(self, count: int) -> None:
        """Record ``count`` durably, even if it is lower (staff accepted a restored store)."""
        with self._lock:
            self._write(count)

    def _write(self, count: int) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, f"{count}\n".encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)
        with contextlib.suppress(OSError):  # a folder fsync is not possible on every filesystem
            dir_fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        self._known = count
