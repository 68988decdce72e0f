"""The store keeps sales and secrets safe on a real SQLite file: payment codes cannot be recovered from
it, its files are private, damage is refused by name, and a store that went backwards is refused
instead of silently selling on without sales it once held."""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.core.cart import Cart, Product
from kiosk.core.records import CodeAlreadyUsed
from kiosk.store import secrets
from kiosk.store.db import StoreError, StoreWentBackwards, open_store
from kiosk.store.sales import SaleStore
from kiosk.store.watermark import watermark_path

WATER = Product("w", "矿泉水", "Water", 200, "6901234567892")


def _code(n: int) -> str:
    return f"13{n:016d}"


def _sell(store: SaleStore, n: int) -> str:
    oid = store.open_order(Cart().add(WATER))
    p = store.begin_payment(oid, "wechat", "wechat", _code(n))
    store.record_paid(p.out_trade_no, f"T{n}")
    return oid


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_store_keeps_no_digest_of_a_code_that_can_be_recomputed_without_the_key(tmp_path: Path) -> None:
    """A masked code hides ten digits: an unkeyed SHA-256 of the code would give them away in minutes."""
    path = tmp_path / "kiosk.sqlite3"
    store = SaleStore(open_store(path), "k")
    _sell(store, 7)
    dump = "\n".join(store.db.connection().iterdump())
    assert _code(7) not in dump
    assert hashlib.sha256(_code(7).encode()).hexdigest() not in dump
    key_file = secrets.key_path(path)
    assert _mode(key_file) == 0o600 and key_file.read_text().strip() not in dump
    # ...yet the store still knows the code when it comes again
    with pytest.raises(CodeAlreadyUsed):
        store.begin_payment(store.open_order(Cart().add(WATER)), "wechat", "wechat", _code(7))
    store.db.close()


def test_a_store_of_the_previous_release_has_its_digests_rekeyed(tmp_path: Path) -> None:
    """GIVEN a schema-2 store holding the unkeyed SHA-256 of a code WHEN this release opens it THEN the
    digest is replaced by the keyed one, and the code is still refused."""
    path = tmp_path / "kiosk.sqlite3"
    store = SaleStore(open_store(path), "k")
    _sell(store, 3)
    store.db.close()
    con = sqlite3.connect(path)
    con.execute("DROP INDEX IF EXISTS payment_code_digest")
    con.execute("ALTER TABLE payment RENAME COLUMN code_digest TO code_sha256")
    con.execute("UPDATE payment SET code_sha256 = ?", (hashlib.sha256(_code(3).encode()).hexdigest(),))
    con.execute("DELETE FROM setting WHERE key = 'sales_recorded'")
    con.execute("PRAGMA user_version = 2")
    con.commit()
    con.close()
    secrets.key_path(path).unlink()
    watermark_path(path).unlink()
    store = SaleStore(open_store(path), "k")
    dump = "\n".join(store.db.connection().iterdump())
    assert hashlib.sha256(_code(3).encode()).hexdigest() not in dump
    with pytest.raises(CodeAlreadyUsed):
        store.begin_payment(store.open_order(Cart().add(WATER)), "wechat", "wechat", _code(3))
    assert watermark_path(path).read_text().strip() == "1"  # the paid sale of the old release counts
    store.db.close()


def test_store_files_are_readable_by_the_kiosk_only(tmp_path: Path) -> None:
    path = tmp_path / "data" / "kiosk.sqlite3"
    store = SaleStore(open_store(path), "k")
    _sell(store, 1)
    files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
    files += [secrets.key_path(path), watermark_path(path)]
    assert {f.name: _mode(f) for f in files} == {f.name: 0o600 for f in files}
    store.db.close()


def test_an_old_store_readable_by_others_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.sqlite3"
    store = SaleStore(open_store(path), "k")
    _sell(store, 1)
    store.db.close()
    path.chmod(0o644)
    open_store(path).close()
    assert _mode(path) == 0o600


def test_a_store_emptied_to_zero_bytes_is_refused_not_started_empty(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.sqlite3"
    store = SaleStore(open_store(path), "k")
    for n in range(3):
        _sell(store, n)
    store.db.close()
    for side in ("-wal", "-shm"):
        path.with_name(path.name + side).unlink(missing_ok=True)
    path.write_bytes(b"")
    with pytest.raises(StoreWentBackwards) as refused:
        open_store(path)
    message = str(refused.value)
    assert str(path) in message and "holds 0 paid sale(s)" in message and "recorded 3" in message
    assert "Restore the newest backup" in message and "kiosk store accept" in message
    assert path.stat().st_size == 0, "the refused file is left exactly as it was"


def test_a_deleted_store_is_refused_when_the_kiosk_has_sold(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.sqlite3"
    store = SaleStore(open_store(path), "k")
    _sell(store, 1)
    store.db.close()
    for f in tmp_path.glob("kiosk.sqlite3*"):
        if f.name.endswith(("sqlite3", "-wal", "-shm")):
            f.unlink()
    with pytest.raises(StoreWentBackwards, match="store file is missing"):
        open_store(path)
    assert not path.exists()


def _crash_copy(path: Path, to: Path) -> None:
    """What a power cut leaves: the store, its write-ahead log and the watermark as they are on disk now."""
    for f in path.parent.glob(path.name + "*"):
        shutil.copy(f, to / f.name)


def test_a_damaged_write_ahead_log_that_drops_commits_is_refused(tmp_path: Path) -> None:
    """GIVEN 20 sales committed in the write-ahead log and one flipped byte in its middle
    WHEN the store is opened THEN SQLite silently drops the later commits, and the kiosk refuses it."""
    live, crash = tmp_path / "live", tmp_path / "crash"
    live.mkdir()
    crash.mkdir()
    path = live / "kiosk.sqlite3"
    store = SaleStore(open_store(path), "k")
    store.db.execute_sql("PRAGMA wal_autocheckpoint = 0")
    store.db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    for n in range(20):
        _sell(store, n)
    _crash_copy(path, crash)
    store.db.close()
    wal = crash / "kiosk.sqlite3-wal"
    data = bytearray(wal.read_bytes())
    page_size = int.from_bytes(data[8:12], "big")
    frames = (len(data) - 32) // (24 + page_size)
    middle = 32 + (frames // 2) * (24 + page_size) + 24 + 100
    data[middle] ^= 0x55
    wal.write_bytes(bytes(data))
    check = sqlite3.connect(crash / "kiosk.sqlite3")
    held = check.execute("SELECT value FROM setting WHERE key = 'sales_recorded'").fetchone()
    assert check.execute("PRAGMA quick_check").fetchone()[0] == "ok"  # SQLite itself sees nothing wrong
    check.close()
    assert held is None or int(held[0]) < 20, "the flipped byte did not cost any commit"
    with pytest.raises(StoreWentBackwards, match="recorded 20"):
        open_store(crash / "kiosk.sqlite3")


def test_damaged_pages_give_a_store_error_that_names_the_store_never_a_bare_exception(tmp_path: Path) -> None:
    base = tmp_path / "base.sqlite3"
    store = SaleStore(open_store(base), "k")
    store.replace_catalog([])
    for n in range(30):
        store.open_order(Cart().add(Product(f"p{n}", "矿泉水" * 5, "Water", 200)))
        _sell(store, n)
    store.db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    store.db.close()
    clean = base.read_bytes()
    refused = 0
    for seed in range(80):
        rng = random.Random(seed)
        data = bytearray(clean)
        page = rng.randrange(1, len(data) // 4096)
        for _ in range(rng.randint(1, 20)):
            data[page * 4096 + rng.randrange(4096)] ^= 1 << rng.randrange(8)
        path = tmp_path / f"t{seed}" / "kiosk.sqlite3"
        path.parent.mkdir()
        path.write_bytes(bytes(data))
        try:
            db = open_store(path)
        except StoreError as exc:
            refused += 1
            assert str(path) in str(exc) and "backup" in str(exc)
        else:
            s = SaleStore(db, "k")
            s.products(), s.unfinished_payments(), s.due(100), s.counts()
            db.close()
    assert refused >= 5, "the damage never reached anything the kiosk checks"


def _kiosk(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text(f'[kiosk]\ndata_dir = "{tmp_path}"\n')
    return subprocess.run(
        [sys.executable, "-m", "kiosk", *args, "--config", str(cfg)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ},
        check=False,
    )


def test_staff_accept_a_restored_backup_and_the_kiosk_sells_again(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.sqlite3"
    store = SaleStore(open_store(path), "k")
    _sell(store, 1)
    store.db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    backup = tmp_path / "backup.sqlite3"
    shutil.copy(path, backup)
    _sell(store, 2)
    store.db.close()
    for side in ("-wal", "-shm"):
        path.with_name(path.name + side).unlink(missing_ok=True)
    shutil.copy(backup, path)  # restored from the backup made before the second sale
    checked = _kiosk(tmp_path, "store", "check")
    assert (
        checked.returncode == 1 and "went backwards" in checked.stderr and "Traceback" not in checked.stderr
    )
    accepted = _kiosk(tmp_path, "store", "accept")
    assert accepted.returncode == 0, accepted.stderr
    assert "accepted" in accepted.stdout and "recorded 2" in accepted.stdout
    report = json.loads(_kiosk(tmp_path, "store", "check").stdout)
    assert (report["paid"], report["watermark"], report["sales_recorded"]) == (1, 1, 1)
    store = SaleStore(open_store(path), "k")
    assert store.counts().paid == 1
    from kiosk.store.models import AuditLog

    assert (
        AuditLog.get(AuditLog.action == "store_accepted").detail == "watermark 2 -> 1 sales in kiosk.sqlite3"
    )
    store.db.close()


def test_a_damaged_watermark_is_named_and_staff_can_accept_the_store(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.sqlite3"
    store = SaleStore(open_store(path), "k")
    _sell(store, 1)
    store.db.close()
    watermark_path(path).write_bytes(b"\xff\xfe garbage")
    with pytest.raises(StoreError, match=r"kiosk\.sqlite3\.sales"):
        open_store(path)
    accepted = _kiosk(tmp_path, "store", "accept")
    assert accepted.returncode == 0, accepted.stderr
    assert watermark_path(path).read_text().strip() == "1"
