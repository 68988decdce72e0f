"""Backup and restore of the local store: to a folder (a USB stick) or to HQ, each verified.

A backup is the store copied with SQLite's online backup API (consistent while the kiosk sells, the
write-ahead log included), written as one self-contained file 0600 beside a manifest that holds its
SHA-256, size and counts. It is verified twice before anyone relies on it: by checksum, and by a test
restore: the copy is put into a scratch folder and opened there with the kiosk's own ``open_store``
(integrity, migrations, the tables it reads at start), in a child process so that the running kiosk's
store binding is never touched, and its counts must equal the manifest's.

A restore never goes back past sales HQ has not acknowledged: every sale or refund event still unsent
in the live store must be in the backup, or the restore is refused with how many would be lost. The
current store is never deleted: it is checkpointed and renamed to a dated copy beside the store. The
store's sales watermark (``kiosk.store.watermark``) is then lowered to what the backup holds, because
everything it no longer holds is, by the check above, at HQ; the restore is written in the audit log.

The decision (:func:`restore_refusal`) is pure; the rest is file and SQLite I/O. The caller stops the
kiosk's use of the store before a restore and starts the kiosk again after it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kiosk.i18n import t
from kiosk_common.files import write_new_private

#: the manifest beside each backup file
MANIFEST_SUFFIX = ".manifest.json"
#: outbox event kinds that carry money HQ must receive
MONEY_EVENTS = ("sale", "refund")
#: how long a test restore may take in its child process
PROBE_TIMEOUT_S = 120.0


class BackupError(RuntimeError):
    """A backup or restore that did not happen; ``zh`` and ``en`` say why and what to do."""

    def __init__(self, en: str, zh: str) -> None:
        super().__init__(en)
        self.en = en
        self.zh = zh

    def text(self, lang: str) -> str:
        return self.zh if lang == "zh_CN" else self.en


def localized_error(key: str, **fields: Any) -> BackupError:
    return BackupError(t(key, "en", **fields), t(key, "zh_CN", **fields))


@dataclass(frozen=True, slots=True)
class Counts:
    """What a store holds, read with plain SQL (the same numbers in the live store and a copy)."""

    schema_version: int
    sales_recorded: int
    orders: int
    paid: int
    outbox_pending: int


@dataclass(frozen=True, slots=True)
class Manifest:
    file: str
    sha256: str
    size: int
    kiosk_id: str
    created_at: str  # ISO 8601 UTC, "Z"
    app_version: str
    counts: Counts

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=2)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data = json.loads(text)
        counts = Counts(**data.pop("counts"))
        return cls(counts=counts, **data)


@dataclass(frozen=True, slots=True)
class Verified:
    """A backup that passed both checks: its checksum, and a test restore with the same counts."""

    file: Path
    manifest: Manifest
    integrity: str


@dataclass(frozen=True, slots=True)
class Backup:
    file: Path
    manifest_file: Path
    manifest: Manifest
    verified: Verified


@dataclass(frozen=True, slots=True)
class Restored:
    store: Path
    #: the store as it was before, kept beside it under a dated name (never deleted)
    kept_as: Path | None
    counts: Counts
    watermark_before: int | None


# --- pure ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Loss:
    """What restoring a backup would lose that HQ has not acknowledged."""

    sales: int
    refunds: int


def restore_refusal(unsent_live: Mapping[str, str], in_backup: Iterable[str]) -> Loss | None:
    """None when every unsent money event of the live store (key -> kind) is in the backup; else the
    count of each kind the restore would lose."""
    held = set(in_backup)
    missing = [kind for key, kind in unsent_live.items() if key not in held]
    if not missing:
        return None
    return Loss(sales=missing.count("sale"), refunds=missing.count("refund"))


def backup_name(kiosk_id: str, at: datetime) -> str:
    return f"{kiosk_id}-store-{at.astimezone(UTC):%Y%m%dT%H%M%SZ}.sqlite3"


# --- reading stores ------------------------------------------------------------------------------


def _read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30.0)


def read_counts(path: Path) -> Counts:
    """The counts of the store file at ``path``, read-only."""
    con = _read_only(path)
    try:

        def one(sql: str, default: int = 0) -> int:
            try:
                row = con.execute(sql).fetchone()
            except sqlite3.OperationalError:
                return default
            return int(row[0]) if row is not None and str(row[0]).lstrip("-").isdigit() else default

        return Counts(
            schema_version=one("PRAGMA user_version"),
            sales_recorded=one("SELECT value FROM setting WHERE key = 'sales_recorded'"),
            orders=one('SELECT COUNT(*) FROM "order"'),
            paid=one("SELECT COUNT(*) FROM \"order\" WHERE status = 'paid'"),
            outbox_pending=one("SELECT COUNT(*) FROM outbox WHERE state = 'pending'"),
        )
    finally:
        con.close()


def unsent_money_events(path: Path) -> dict[str, str]:
    """Every sale and refund event of the store at ``path`` that HQ has not acknowledged: key -> kind."""
    con = _read_only(path)
    try:
        rows = con.execute(
            "SELECT key, kind FROM outbox WHERE state != 'sent' AND kind IN (?, ?)", MONEY_EVENTS
        ).fetchall()
    finally:
        con.close()
    return {str(k): str(kind) for k, kind in rows}


def event_keys(path: Path) -> set[str]:
    con = _read_only(path)
    try:
        return {str(r[0]) for r in con.execute("SELECT key FROM outbox")}
    finally:
        con.close()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --- backup --------------------------------------------------------------------------------------


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every filesystem (vfat on a stick) can
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_private(path: Path, data: bytes) -> None:
    write_new_private(path, data)


def _copy_store(source: Path, target: Path) -> None:
    """A consistent, self-contained copy (rollback journal, no -wal beside it) of a live WAL store."""
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    src = _read_only(source)
    dst = sqlite3.connect(str(target))
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")
        dst.commit()
    finally:
        dst.close()
        src.close()
    with target.open("rb+") as f:
        os.fsync(f.fileno())


def free_name(folder: Path, name: str) -> Path:
    """``folder/name``, or ``name`` with -2, -3... when taken: a backup never overwrites a file."""
    path = folder / name
    stem, suffix = path.stem, path.suffix
    n = 2
    while path.exists() or path.with_name(path.name + MANIFEST_SUFFIX).exists():
        path = folder / f"{stem}-{n}{suffix}"
        n += 1
    return path


def backup_store(
    store: Path, target_dir: Path, kiosk_id: str, app_version: str, now: datetime | None = None
) -> Backup:
    """Copy ``store`` into ``target_dir`` with its manifest, then verify it (checksum, test restore).

    BackupError (zh/en) when the folder cannot be written or the copy does not verify; a copy that
    did not verify is left where it is, named as such, for support (never passed off as a backup).
    """
    if not store.is_file():
        raise localized_error("backup.no_store", path=store)
    if not target_dir.is_dir():
        raise localized_error("backup.no_folder", path=target_dir)
    at = now or datetime.now(UTC)
    target = free_name(target_dir, backup_name(kiosk_id, at))
    try:
        _copy_store(store, target)
        manifest = Manifest(
            file=target.name,
            sha256=sha256_of(target),
            size=target.stat().st_size,
            kiosk_id=kiosk_id,
            created_at=at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            app_version=app_version,
            counts=read_counts(target),
        )
        manifest_file = target.with_name(target.name + MANIFEST_SUFFIX)
        _write_private(manifest_file, manifest.to_json().encode("utf-8"))
        _fsync_dir(target_dir)
    except (OSError, sqlite3.Error) as exc:
        raise localized_error("backup.write_failed", path=target_dir, reason=str(exc)[:200]) from exc
    verified = verify_backup(target)
    return Backup(target, manifest_file, manifest, verified)


# --- verify --------------------------------------------------------------------------------------


def read_manifest(backup: Path) -> Manifest:
    path = backup.with_name(backup.name + MANIFEST_SUFFIX)
    try:
        return Manifest.from_json(path.read_text("utf-8"))
    except FileNotFoundError:
        raise localized_error("backup.no_manifest", path=path) from None
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise localized_error("backup.bad_manifest", path=path, reason=str(exc)[:200]) from None


def probe_store(path: Path) -> dict[str, Any]:
    """Open ``path`` with the kiosk's own ``open_store`` in a child process; its health and counts.

    A child process, because ``open_store`` binds the kiosk's models to the store it opens: done in
    the kiosk's own process it would move the running kiosk onto the scratch copy.
    """
    done = subprocess.run(
        [sys.executable, "-m", "kiosk.maintenance.backup", "probe", str(path)],
        capture_output=True,
        text=True,
        timeout=PROBE_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise localized_error("backup.probe_failed", path=path, reason=last[:300])
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def verify_backup(backup: Path, scratch_parent: Path | None = None) -> Verified:
    """Checksum against the manifest, then a test restore into a scratch folder (deleted after:
    it holds only a copy) whose counts must be the manifest's."""
    manifest = read_manifest(backup)
    if not backup.is_file():
        raise localized_error("backup.no_store", path=backup)
    actual = sha256_of(backup)
    if actual != manifest.sha256 or backup.stat().st_size != manifest.size:
        raise localized_error("backup.checksum", path=backup)
    with tempfile.TemporaryDirectory(prefix="kiosk-restore-test-", dir=scratch_parent) as scratch:
        copy = Path(scratch) / "kiosk.sqlite3"
        shutil.copyfile(backup, copy)
        os.chmod(copy, 0o600)
        probed = probe_store(copy)
    counts = manifest.counts
    seen = (probed["orders"], probed["paid"], probed["sales_recorded"], probed["outbox_pending"])
    if seen != (counts.orders, counts.paid, counts.sales_recorded, counts.outbox_pending):
        raise localized_error("backup.counts", path=backup)
    return Verified(backup, manifest, str(probed["quick_check"]))


# --- restore -------------------------------------------------------------------------------------


def loss_if_restored(backup: Path, store: Path) -> Loss | None:
    """What restoring ``backup`` over ``store`` would lose of what HQ has not acknowledged (None:
    nothing, or no live store). A live store that cannot be read raises: what HQ lacks cannot be
    known then, so a person decides (moving it aside keeps it)."""
    if not store.exists() or store.stat().st_size == 0:
        return None
    try:
        unsent = unsent_money_events(store)
    except sqlite3.Error as exc:
        raise localized_error("backup.live_unreadable", path=store, reason=str(exc)[:120]) from exc
    return restore_refusal(unsent, event_keys(backup))


def restore_store(
    backup: Path, store: Path, kiosk_id: str, actor: str, now: datetime | None = None
) -> Restored:
    """Put the verified ``backup`` in place of ``store``, keeping the current store as a dated copy.

    Refuses (BackupError, zh/en) when the backup does not verify, or when it lacks sales or refunds
    the live store has not yet sent to HQ. The kiosk must not be using the store meanwhile.
    """
    from kiosk.store.watermark import Watermark, watermark_path

    verified = verify_backup(backup)
    at = now or datetime.now(UTC)
    kept: Path | None = None
    if store.exists() and store.stat().st_size > 0:
        loss = loss_if_restored(backup, store)
        if loss is not None:
            raise localized_error("backup.would_lose", sales=loss.sales, refunds=loss.refunds, path=backup)
        kept = _keep_current(store, at)
    mark = Watermark(watermark_path(store))
    try:
        before = mark.read()
    except ValueError:
        before = None
    tmp = store.with_name(store.name + ".restoring")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()  # a restore cut short before: only ever our own partial copy
    shutil.copyfile(backup, tmp)
    os.chmod(tmp, 0o600)
    with tmp.open("rb+") as f:
        os.fsync(f.fileno())
    os.replace(tmp, store)
    _fsync_dir(store.parent)
    # everything the backup lacks is at HQ (checked above), so the watermark may come down to it
    mark.write(verified.manifest.counts.sales_recorded)
    _audit(store, kiosk_id, actor, backup, kept, before, verified.manifest.counts)
    return Restored(store, kept, read_counts(store), before)


def _keep_current(store: Path, at: datetime) -> Path:
    """Checkpoint the live store into its main file, then rename it (with any -wal and -shm) aside."""
    con = sqlite3.connect(str(store), timeout=30.0)
    try:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        con.close()
    kept = store.with_name(f"{store.name}.before-restore-{at.astimezone(UTC):%Y%m%dT%H%M%SZ}")
    n = 2
    while kept.exists():
        kept = kept.with_name(f"{store.name}.before-restore-{at.astimezone(UTC):%Y%m%dT%H%M%SZ}-{n}")
        n += 1
    for side in ("-wal", "-shm"):
        src = store.with_name(store.name + side)
        if src.exists():
            os.replace(src, kept.with_name(kept.name + side))
    os.replace(store, kept)
    _fsync_dir(store.parent)
    return kept


def _audit(
    store: Path,
    kiosk_id: str,
    actor: str,
    backup: Path,
    kept: Path | None,
    before: int | None,
    counts: Counts,
) -> None:
    """The restore in the restored store's audit log (and its outbox, for HQ), in a child process
    for the same reason as the probe: the kiosk's models stay bound to what they were."""
    detail = (
        f"restored {backup.name} ({counts.sales_recorded} sales); watermark {before} -> "
        f"{counts.sales_recorded}; previous store kept as {kept.name if kept else 'none'}"
    )
    done = subprocess.run(
        [sys.executable, "-m", "kiosk.maintenance.backup", "audit", str(store), kiosk_id, actor, detail],
        capture_output=True,
        text=True,
        timeout=PROBE_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise localized_error("backup.audit_failed", path=store, reason=last[:300])


# --- child process -------------------------------------------------------------------------------


def _child(argv: list[str]) -> int:
    """``probe PATH`` prints the health and counts of the store at PATH opened by ``open_store``;
    ``audit PATH KIOSK ACTOR DETAIL`` writes a ``store_restored`` audit row into it."""
    from kiosk.store.db import open_store, sales_recorded, store_health
    from kiosk.store.models import AuditLog

    command, path = argv[0], Path(argv[1])
    db = open_store(path, accept_backwards=command == "audit")
    try:
        if command == "audit":
            from kiosk.store.sales import SaleStore

            SaleStore(db, argv[2]).audit(argv[3], "store_restored", argv[4])
            print(json.dumps({"audited": AuditLog.select().count()}))
            return 0
        health = store_health(db)
        counts = read_counts(path)
        print(
            json.dumps(
                {
                    "quick_check": health["quick_check"],
                    "schema_version": health["schema_version"],
                    "sales_recorded": sales_recorded(db),
                    "orders": counts.orders,
                    "paid": counts.paid,
                    "outbox_pending": counts.outbox_pending,
                }
            )
        )
        return 0 if health["quick_check"] == "ok" else 1
    finally:
        db.close()


if __name__ == "__main__":
    raise SystemExit(_child(sys.argv[1:]))
