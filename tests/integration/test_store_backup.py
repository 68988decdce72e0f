"""Backup and restore of the local store, on real SQLite files: a backup is verified by checksum and a
test restore; a restore keeps the old store, lowers the watermark, and refuses to lose unsent sales."""

from __future__ import annotations

import argparse
import io
import itertools
import json
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kiosk.commands import store as store_command
from kiosk.core.cart import Cart, Product
from kiosk.maintenance.backup import (
    MANIFEST_SUFFIX,
    BackupError,
    backup_store,
    read_counts,
    restore_store,
    sha256_of,
    verify_backup,
)
from kiosk.store.db import StoreWentBackwards, open_store
from kiosk.store.models import AuditLog, OutboxEntry
from kiosk.store.sales import SaleStore
from kiosk.store.watermark import Watermark, watermark_path

KIOSK = "kiosk-001"
NOW = datetime(2026, 12, 2, 2, 0, 0, tzinfo=UTC)
_seq = itertools.count(1)


def sell(store: SaleStore) -> str:
    """One paid sale, recorded as the checkout records it (its sale event pending for HQ)."""
    n = next(_seq)
    order_id = store.open_order(Cart().add(Product(f"SKU{n}", "水", "Water", 300, None, "drink")))
    payment = store.begin_payment(order_id, "wechat", "sim", f"13{n:012d}1234")
    store.record_paid(payment.out_trade_no, f"T{n}")
    return order_id


def ack_all(store: SaleStore) -> None:
    """HQ acknowledged everything queued so far."""
    store.mark_sent([e.id for e in OutboxEntry.select().where(OutboxEntry.state == "pending")])


@pytest.fixture
def live(tmp_path: Path) -> Path:
    path = tmp_path / "data" / "kiosk.sqlite3"
    db = open_store(path)
    store = SaleStore(db, KIOSK)
    sell(store)
    sell(store)
    db.close()
    return path


def test_backup_is_private_verified_and_matches_its_manifest(live: Path, tmp_path: Path) -> None:
    usb = tmp_path / "usb"
    usb.mkdir()
    done = backup_store(live, usb, KIOSK, "1.2.3", NOW)
    assert done.file.name == "kiosk-001-store-20261202T020000Z.sqlite3"
    assert stat.S_IMODE(done.file.stat().st_mode) == 0o600
    assert stat.S_IMODE(done.manifest_file.stat().st_mode) == 0o600
    manifest = json.loads(done.manifest_file.read_text("utf-8"))
    assert manifest["sha256"] == sha256_of(done.file)
    assert manifest["counts"]["sales_recorded"] == 2 and manifest["counts"]["paid"] == 2
    assert done.verified.integrity == "ok"
    assert not done.file.with_name(done.file.name + "-wal").exists()  # one self-contained file


def test_a_second_backup_never_overwrites_the_first(live: Path, tmp_path: Path) -> None:
    first = backup_store(live, tmp_path, KIOSK, "1", NOW)
    second = backup_store(live, tmp_path, KIOSK, "1", NOW)
    assert first.file != second.file and first.file.exists() and second.file.exists()


def test_a_changed_byte_fails_the_checksum(live: Path, tmp_path: Path) -> None:
    done = backup_store(live, tmp_path, KIOSK, "1", NOW)
    data = bytearray(done.file.read_bytes())
    data[-10] ^= 0xFF
    done.file.write_bytes(bytes(data))
    with pytest.raises(BackupError) as caught:
        verify_backup(done.file)
    assert "SHA-256" in caught.value.en and "SHA-256" in caught.value.zh


def test_a_backup_whose_content_lies_fails_the_test_restore(live: Path, tmp_path: Path) -> None:
    """Checksum right, content wrong (the manifest was rewritten for a different file): the test
    restore's counts give it away."""
    done = backup_store(live, tmp_path, KIOSK, "1", NOW)
    manifest = json.loads(done.manifest_file.read_text("utf-8"))
    manifest["counts"]["paid"] = 5
    done.manifest_file.write_text(json.dumps(manifest), "utf-8")
    with pytest.raises(BackupError, match="test restore"):
        verify_backup(done.file)


def test_a_missing_folder_says_to_insert_the_stick(live: Path, tmp_path: Path) -> None:
    with pytest.raises(BackupError) as caught:
        backup_store(live, tmp_path / "nope", KIOSK, "1", NOW)
    assert "USB" in caught.value.en and "U盘" in caught.value.zh


def test_restore_refuses_to_lose_a_sale_hq_has_not_received(live: Path, tmp_path: Path) -> None:
    backup = backup_store(live, tmp_path, KIOSK, "1", NOW).file
    db = open_store(live)
    sell(SaleStore(db, KIOSK))  # sold after the backup, not yet at HQ
    db.close()
    before = sha256_of(live)
    with pytest.raises(BackupError) as caught:
        restore_store(backup, live, KIOSK, "it", NOW)
    assert "1 sale(s)" in caught.value.en and "1 笔销售" in caught.value.zh
    assert sha256_of(live) == before  # untouched
    assert not list(live.parent.glob("*.before-restore-*"))


def test_restore_keeps_the_old_store_lowers_the_watermark_and_audits(live: Path, tmp_path: Path) -> None:
    backup = backup_store(live, tmp_path, KIOSK, "1", NOW).file
    db = open_store(live)
    store = SaleStore(db, KIOSK)
    sold_after = sell(store)
    ack_all(store)  # HQ has it: the backup may go back past it
    db.close()
    assert Watermark(watermark_path(live)).read() == 3

    restored = restore_store(backup, live, KIOSK, "it", NOW)

    assert restored.kept_as is not None and restored.kept_as.name.startswith("kiosk.sqlite3.before-restore-")
    assert read_counts(restored.kept_as).sales_recorded == 3  # the old store, whole, kept
    assert restored.counts.sales_recorded == 2
    assert Watermark(watermark_path(live)).read() == 2
    db = open_store(live)  # opens without "went backwards"
    try:
        rows = list(AuditLog.select().where(AuditLog.action == "store_restored"))
        assert len(rows) == 1 and rows[0].actor == "it" and backup.name in rows[0].detail
        assert SaleStore(db, KIOSK).counts().paid == 2
        assert sold_after not in {o for (o,) in db.execute_sql('SELECT id FROM "order"').fetchall()}
    finally:
        db.close()


def test_without_the_restore_the_older_copy_is_refused_as_backwards(live: Path, tmp_path: Path) -> None:
    """The reason restore lowers the watermark: copying a backup over the store by hand is refused."""
    backup = backup_store(live, tmp_path, KIOSK, "1", NOW).file
    db = open_store(live)
    sell(SaleStore(db, KIOSK))
    db.close()
    live.write_bytes(backup.read_bytes())
    for side in ("-wal", "-shm"):
        live.with_name(live.name + side).unlink(missing_ok=True)
    with pytest.raises(StoreWentBackwards):
        open_store(live)


def _run(argv: list[str], config: Path) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser()
    store_command.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args([*argv, "--config", str(config)])
    out, err = io.StringIO(), io.StringIO()
    code = store_command.run(args, out, err)
    return code, out.getvalue(), err.getvalue()


def test_cli_backup_then_restore(live: Path, tmp_path: Path) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_text(f'[kiosk]\ndata_dir = "{live.parent}"\nlanguage = "en"\n', "utf-8")
    config.chmod(0o600)
    usb = tmp_path / "usb"
    usb.mkdir()
    code, out, err = _run(["store", "backup", "--to", str(usb)], config)
    assert code == 0, err
    made = json.loads(out)
    assert made["verified"] is True and Path(made["manifest"]).name.endswith(MANIFEST_SUFFIX)

    code, out, err = _run(["store", "restore", made["backup"]], config)
    assert code == 0, err
    assert json.loads(out)["sales_recorded"] == 2

    code, _out, err = _run(["store", "restore", str(usb / "missing.sqlite3")], config)
    assert code == 1 and "manifest" in err


def test_a_backup_taken_while_the_kiosk_holds_the_store_open_has_every_commit(
    live: Path, tmp_path: Path
) -> None:
    """Sales still only in the -wal file (the kiosk's connection open, no checkpoint) are in the copy."""
    db = open_store(live)
    try:
        sell(SaleStore(db, KIOSK))
        assert live.with_name(live.name + "-wal").stat().st_size > 0
        done = backup_store(live, tmp_path, KIOSK, "1", NOW)
    finally:
        db.close()
    assert done.manifest.counts.sales_recorded == 3 and done.manifest.counts.paid == 3


def test_restore_onto_a_new_card_with_no_store(live: Path, tmp_path: Path) -> None:
    """A replacement SD card: no store, no watermark; the backup becomes the store."""
    backup = backup_store(live, tmp_path, KIOSK, "1", NOW).file
    fresh = tmp_path / "new-card" / "kiosk.sqlite3"
    fresh.parent.mkdir()
    restored = restore_store(backup, fresh, KIOSK, "it", NOW)
    assert restored.kept_as is None and restored.counts.sales_recorded == 2
    assert Watermark(watermark_path(fresh)).read() == 2
    db = open_store(fresh)
    db.close()


def test_restore_over_an_unreadable_store_is_refused_until_it_is_moved_aside(
    live: Path, tmp_path: Path
) -> None:
    """What HQ lacks cannot be known from a damaged store: a person moves it aside (kept), then restores."""
    backup = backup_store(live, tmp_path, KIOSK, "1", NOW).file
    live.write_bytes(b"this is not a database, it was damaged" * 100)
    with pytest.raises(BackupError) as caught:
        restore_store(backup, live, KIOSK, "it", NOW)
    assert "cannot be read" in caught.value.en and "无法读取" in caught.value.zh
    live.rename(live.with_name("kiosk.sqlite3.damaged"))
    assert restore_store(backup, live, KIOSK, "it", NOW).counts.sales_recorded == 2
