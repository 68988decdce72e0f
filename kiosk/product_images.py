"""Product pictures for the catalog screen: a folder of ``<sku>.png`` / ``<sku>.jpg`` files in the
kiosk's data dir (``<data_dir>/images``), each checked (``kiosk.core.images``) before the screen may
show it.

The folder is read and every picture checked on a thread of its own (``start`` / ``rescan``), never on
the UI thread: a slow SD card or a thousand pictures must not freeze the catalog. Until a picture is
checked, and whenever it is refused, the screen shows the product's initial instead. The screen asks
``path_for(sku)``, a dictionary look-up; Kivy's image loader then reads the file on its own thread.
The answer is the file with its modification time after a ``#`` (``picture_file`` takes it off):
the screen keeps each picture's texture by that source, so a picture replaced under the same name
(HQ sent a new one, ``kiosk.sync.pictures``) gets a new source and is shown without a restart.

Putting pictures there: copy them in (an installer, ``kiosk`` staff tools) and call ``rescan`` (the
catalog puller does after each catalog it applies). A refused picture is logged once per scan with
the reason and what to do; the rest still show.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from kiosk.core.images import MAX_IMAGE_BYTES, ImageRefused, check_named, picture_file, sku_for_file

__all__ = ["FOLDER_NAME", "MAX_FILES", "ProductImages", "picture_file", "scan_folder"]

log = logging.getLogger(__name__)

#: the folder inside ``[kiosk] data_dir``
FOLDER_NAME = "images"
#: at most this many files are looked at per scan (a folder filled by mistake must not stall it)
MAX_FILES = 20_000
#: how long stop() waits for the scanning thread
STOP_TIMEOUT_S = 5.0


def _source(path: Path) -> str:
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:  # gone since the scan checked it: the next scan drops it
        return str(path)
    return f"{path}#{stamp}"


def scan_folder(folder: Path) -> dict[str, Path]:
    """sku -> picture for every acceptable picture in ``folder`` (no folder: none). When a sku has
    both a PNG and a JPEG, the one whose name sorts first wins (and the other is logged)."""
    found: dict[str, Path] = {}
    try:
        entries = sorted(folder.iterdir())[:MAX_FILES]
    except FileNotFoundError:
        return found
    except OSError as exc:
        log.warning("product pictures in %s cannot be listed (%s): the catalog shows initials", folder, exc)
        return found
    for path in entries:
        sku = sku_for_file(path.name)
        if sku is None:
            continue
        if sku in found:
            log.warning("product picture %s ignored: %s is already shown for %s", path, found[sku].name, sku)
            continue
        try:
            if not path.is_file():
                continue
            with path.open("rb") as fh:
                data = fh.read(MAX_IMAGE_BYTES + 1)
            check_named(path.name, data)
        except ImageRefused as exc:
            log.warning("product picture %s not shown: %s", path, exc)
            continue
        except OSError as exc:
            log.warning("product picture %s cannot be read (%s): its initial is shown", path, exc)
            continue
        found[sku] = path
    return found


class ProductImages:
    """The checked pictures of one folder, rescanned off the UI thread on request.

    ``on_changed`` runs on the scanning thread after each scan that changed what is shown (the
    controller hands it to the UI thread).
    """

    def __init__(self, folder: Path, on_changed: Callable[[], None] | None = None) -> None:
        self.folder = folder
        self.on_changed = on_changed
        #: sku -> the picture's source (its file and modification time, see ``picture_file``)
        self._paths: dict[str, str] = {}
        self._lock = threading.Lock()
        self._wanted = threading.Event()
        self._stop = threading.Event()
        #: set once a scan that began after the last ``rescan`` request has finished (tests and
        #: commands wait on it instead of sleeping)
        self.scanned = threading.Event()
        self._asked = 0
        self._thread: threading.Thread | None = None

    def path_for(self, sku: str) -> str:
        """The checked picture of ``sku`` as a source for the screen ("" for none): its file with
        its modification time after a ``#`` (``picture_file``). Safe to call on the UI thread."""
        with self._lock:
            return self._paths.get(sku, "")

    def scan_now(self) -> None:
        """Scan on the calling thread (tests, ``kiosk`` commands); the UI uses ``rescan``."""
        paths = {sku: _source(path) for sku, path in scan_folder(self.folder).items()}
        with self._lock:
            changed = paths != self._paths
            self._paths = paths
        log.info("product pictures: %d shown from %s", len(paths), self.folder)
        if changed and self.on_changed is not None:
            self.on_changed()

    def start(self) -> None:
        """Start the scanning thread and ask for a first scan."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="product-images", daemon=True)
        self._thread.start()
        self.rescan()

    def rescan(self) -> None:
        """Ask for a scan (any thread, returns at once); several requests in a row make one scan."""
        with self._lock:
            self._asked += 1
            self.scanned.clear()
        self._wanted.set()

    def stop(self) -> None:
        self._stop.set()
        self._wanted.set()
        if self._thread is not None:
            self._thread.join(timeout=STOP_TIMEOUT_S)
            self._thread = None

    def _run(self) -> None:
        while True:
            self._wanted.wait()
            if self._stop.is_set():
                return
            self._wanted.clear()
            with self._lock:
                asked = self._asked
            try:
                self.scan_now()
            except Exception:  # a scan fault must not end the thread: the next request tries again
                log.exception("product pictures could not be scanned")
            with self._lock:
                if asked == self._asked:  # no request came during the scan: it is up to date
                    self.scanned.set()
