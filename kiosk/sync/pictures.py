"""Product pictures from HQ: after each catalog pull, fetch the pictures the catalog names that the
kiosk lacks, and remove those HQ removed, into ``<data_dir>/images`` where the screens find them
(``kiosk.product_images``).

What HQ wants is kept in a small manifest (``<data_dir>/hq-pictures.json``) with the files this
kiosk itself fetched: a catalog delta names only the products that changed, so a picture that could
not be fetched (HQ went away, the pass's budget ran out) must be remembered until a later pass
fetches it. The manifest is also what makes removal safe: a file is removed only when this kiosk
fetched it and it still holds the bytes it fetched. A picture someone copied in by hand (an
installer, a USB stick) is never overwritten or removed: it wins over HQ's, with a log line saying
so once.

Every picture is checked (``check_named``: kind, size, pixels, and HQ's SHA-256) before it is
written, and written atomically, so the screen never meets half a file. Each pass is bounded in count
and bytes; what is left waits for the next pass. A bad picture is skipped with a log line (and not
fetched again until HQ's picture changes); nothing here can fail a catalog sync.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from kiosk.ports import CatalogUpdate, HqError, PictureRef
from kiosk_common.files import PART_PREFIX, replace_atomically
from kiosk_common.pictures import (
    MAX_IMAGE_BYTES,
    SHA256_RE,
    SUFFIXES,
    ImageRefused,
    check_named,
    sku_for_file,
)

log = logging.getLogger(__name__)

#: the manifest's file in ``[kiosk] data_dir``
MANIFEST_NAME = "hq-pictures.json"
#: pictures fetched in one pass at most (a new kiosk with a thousand pictures takes a few passes)
MAX_FETCH_COUNT = 50
#: bytes fetched in one pass at most (declared sizes; each picture is at most MAX_IMAGE_BYTES)
MAX_FETCH_BYTES = 8 * 1024 * 1024
#: entries the manifest may hold (a catalog of this many products with pictures is far off)
MAX_ENTRIES = 50_000


class PictureSource(Protocol):
    """Where the bytes come from (``HttpHqClient.fetch_picture``; a fake in unit tests)."""

    def fetch_picture(self, sku: str, max_bytes: int) -> bytes: ...


@dataclass(frozen=True, slots=True)
class PicturePass:
    """What one pass did: pictures written, removed, skipped as bad, and still waiting."""

    fetched: int = 0
    removed: int = 0
    refused: int = 0
    waiting: int = 0


class HqPictures:
    """The pictures HQ wants on this kiosk and the ones it fetched, kept in step with the folder."""

    def __init__(
        self,
        folder: Path,
        manifest: Path,
        source: PictureSource,
        on_changed: Callable[[], None] | None = None,
        max_count: int = MAX_FETCH_COUNT,
        max_bytes: int = MAX_FETCH_BYTES,
    ) -> None:
        self.folder = folder
        self.manifest = manifest
        self.source = source
        self.on_changed = on_changed
        self.max_count = max_count
        self.max_bytes = max_bytes
        #: sku -> HQ's picture of it (what the catalog said last)
        self._wanted: dict[str, PictureRef] = {}
        #: file name -> SHA-256 of the bytes this kiosk wrote there
        self._fetched: dict[str, str] = {}
        #: False until a manifest was read or first written: HQ's pictures are unknown
        self._known = False
        self._loaded = False
        #: (sku, sha256) refused this run: not fetched again until HQ's picture changes
        self._refused: set[tuple[str, str]] = set()
        #: file names already logged as kept over HQ's picture (logged once per run)
        self._kept_logged: set[str] = set()
        #: file name -> (mtime_ns, size, sha256), so a pass hashes only files that changed
        self._digests: dict[str, tuple[int, int, str]] = {}

    # --- the manifest -------------------------------------------------------------------------------

    @property
    def needs_snapshot(self) -> bool:
        """True until this kiosk has a record of HQ's pictures: a kiosk that synced before it knew of
        pictures asks HQ for the whole catalog once, since the deltas it already took named them."""
        self._load()
        return not self._known

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        try:
            raw = json.loads(self.manifest.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            # the files it listed are then treated as copied by hand: kept, never removed
            log.warning(
                "picture manifest %s unreadable (%s); HQ's pictures are fetched again", self.manifest, exc
            )
            return
        wanted, fetched = _parse_manifest(raw)
        if wanted is None or fetched is None:
            log.warning(
                "picture manifest %s is not one this kiosk wrote; HQ's pictures are fetched again",
                self.manifest,
            )
            return
        self._wanted, self._fetched, self._known = wanted, fetched, True

    def _save(self) -> None:
        body = {
            "version": 1,
            "wanted": {
                sku: {"name": r.name, "sha256": r.sha256, "size": r.size}
                for sku, r in sorted(self._wanted.items())
            },
            "fetched": dict(sorted(self._fetched.items())),
        }
        data = json.dumps(body, indent=1, sort_keys=True).encode("utf-8")
        self.manifest.parent.mkdir(parents=True, exist_ok=True)
        replace_atomically(self.manifest, data)
        self._known = True

    # --- what HQ wants --------------------------------------------------------------------------------

    def take(self, update: CatalogUpdate) -> None:
        """Note the pictures a catalog update names (call after the update is applied): a snapshot
        replaces the list, a delta changes the products it names. An inactive product's picture is
        not wanted (its tile is not shown)."""
        self._load()
        wanted = {} if update.kind == "snapshot" else dict(self._wanted)
        for item in update.products:
            if item.picture is not None and item.active:
                wanted[item.sku] = item.picture
            else:
                wanted.pop(item.sku, None)
        if len(wanted) > MAX_ENTRIES:
            log.warning("HQ names %d pictures; only the first %d are fetched", len(wanted), MAX_ENTRIES)
            wanted = dict(sorted(wanted.items())[:MAX_ENTRIES])
        if wanted != self._wanted or not self._known:
            self._wanted = wanted
            self._save()

    # --- one pass -------------------------------------------------------------------------------------

    def sync_once(self) -> PicturePass:
        """Fetch what is missing or out of date (within the pass's budget), then remove what HQ no
        longer names; tell the screens if a file changed."""
        self._load()
        self._tidy()
        fetched, refused, waiting = self._fetch_missing()
        removed = self._remove_unwanted()
        if fetched or removed:
            self._save()
            if self.on_changed is not None:
                self.on_changed()
        if fetched or removed or refused or waiting:
            log.info(
                "HQ pictures: %d fetched, %d removed, %d refused, %d waiting for the next pass",
                fetched,
                removed,
                refused,
                waiting,
            )
        return PicturePass(fetched, removed, refused, waiting)

    def _tidy(self) -> None:
        """Remove the half-written files a power cut left (only ``replace_atomically``'s own)."""
        try:
            parts = [p for p in self.folder.glob(f"{PART_PREFIX}*") if p.is_file()]
        except OSError:
            return
        for part in parts[:100]:
            try:
                part.unlink()
            except OSError as exc:
                log.warning("half-written picture %s cannot be removed: %s", part, exc)

    def _digest(self, path: Path) -> str | None:
        """SHA-256 of the file at ``path`` (None: no file), hashed again only when it changed."""
        try:
            st = path.stat()
        except FileNotFoundError:
            self._digests.pop(path.name, None)
            return None
        held = self._digests.get(path.name)
        if held is not None and held[:2] == (st.st_mtime_ns, st.st_size):
            return held[2]
        if st.st_size > MAX_IMAGE_BYTES * 4:
            digest = "too-large"
        else:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        self._digests[path.name] = (st.st_mtime_ns, st.st_size, digest)
        return digest

    def _by_hand(self, sku: str) -> Path | None:
        """A picture file of ``sku`` this kiosk did not write (or one someone has since replaced):
        it wins over HQ's; None when there is none."""
        for suffix in SUFFIXES:
            path = self.folder / f"{sku}{suffix}"
            digest = self._digest(path)
            if digest is None:
                continue
            if self._fetched.get(path.name) == digest:
                continue  # ours, as we wrote it
            return path
        return None

    def _fetch_missing(self) -> tuple[int, int, int]:
        fetched = refused = waiting = 0
        spent = 0
        stopped = False
        for sku, ref in sorted(self._wanted.items()):
            target = self.folder / ref.name
            if self._digest(target) == ref.sha256:
                continue
            hand = self._by_hand(sku)
            if hand is not None:
                if hand.name not in self._kept_logged:
                    self._kept_logged.add(hand.name)
                    log.warning(
                        "picture %s was put there by hand and is kept; HQ's picture of %s is not fetched "
                        "(remove the file to show HQ's)",
                        hand,
                        sku,
                    )
                self._fetched.pop(hand.name, None)  # replaced by hand: no longer ours to remove
                continue
            if (sku, ref.sha256) in self._refused:
                continue
            # the first picture of a pass is always taken, so one larger than the budget cannot stall
            if stopped or fetched >= self.max_count or (spent and spent + ref.size > self.max_bytes):
                waiting += 1
                continue
            try:
                data = self.source.fetch_picture(sku, MAX_IMAGE_BYTES)
                check_named(ref.name, data, ref.sha256)
            except ImageRefused as exc:
                self._refused.add((sku, ref.sha256))
                refused += 1
                log.warning("HQ's picture of %s refused, its tile keeps its initial: %s", sku, exc)
                continue
            except HqError as exc:
                waiting += 1
                log.warning("HQ's picture of %s not fetched (tried again next pass): %s", sku, exc)
                stopped = exc.unreachable  # HQ is gone: the rest waits for the next pass
                continue
            spent += len(data)
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
                replace_atomically(target, data)
            except OSError as exc:
                waiting += 1
                log.warning("picture %s cannot be written (%s); tried again next pass", target, exc)
                stopped = True  # a full or read-only card: no point writing the rest now
                continue
            self._fetched[target.name] = ref.sha256
            fetched += 1
        return fetched, refused, waiting

    def _remove_unwanted(self) -> int:
        """Remove each file this kiosk fetched that HQ no longer names (a removed picture, a product
        gone, a PNG replaced by a JPEG), when it still holds the bytes this kiosk wrote."""
        names = {ref.name for ref in self._wanted.values()}
        removed = 0
        for name, digest in sorted(self._fetched.items()):
            if name in names:
                continue
            path = self.folder / name
            held = self._digest(path)
            if held == digest:
                try:
                    path.unlink()
                except OSError as exc:
                    log.warning("picture %s HQ removed cannot be removed here: %s", path, exc)
                    continue
                self._digests.pop(name, None)
                removed += 1
            elif held is not None:
                log.warning("picture %s was replaced by hand since it was fetched; it is kept", path)
            del self._fetched[name]
        return removed


def _parse_manifest(raw: Any) -> tuple[dict[str, PictureRef] | None, dict[str, str] | None]:
    """The manifest's two maps, or Nones when it is not one this module wrote (each entry is
    checked again: a name must be a picture file of its sku, a digest 64 hex digits)."""
    if not isinstance(raw, dict) or raw.get("version") != 1:
        return None, None
    wanted_raw, fetched_raw = raw.get("wanted"), raw.get("fetched")
    if not isinstance(wanted_raw, dict) or not isinstance(fetched_raw, dict):
        return None, None
    wanted: dict[str, PictureRef] = {}
    for sku, entry in list(wanted_raw.items())[:MAX_ENTRIES]:
        if not isinstance(entry, dict):
            return None, None
        name, sha, size = entry.get("name"), entry.get("sha256"), entry.get("size")
        if not (
            isinstance(name, str)
            and sku_for_file(name) == sku
            and isinstance(sha, str)
            and SHA256_RE.fullmatch(sha)
            and isinstance(size, int)
            and 0 < size <= MAX_IMAGE_BYTES
        ):
            return None, None
        wanted[sku] = PictureRef(name, sha, size)
    fetched: dict[str, str] = {}
    for name, sha in list(fetched_raw.items())[:MAX_ENTRIES]:
        if not (sku_for_file(name) and isinstance(sha, str) and SHA256_RE.fullmatch(sha)):
            return None, None
        fetched[name] = sha
    return wanted, fetched
