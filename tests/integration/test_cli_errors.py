"""Bad input at the command line: a clear message, a non-zero exit, and nothing already committed lost."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.core.cart import Cart, Product
from kiosk.store.db import open_store
from kiosk.store.sales import SaleStore

KIOSK = [sys.executable, "-m", "kiosk"]
SAMPLE = Path(__file__).resolve().parents[2] / "kiosk" / "samples" / "wechat_ok.png"


def _run(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*KIOSK, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "KIVY_NO_ARGS": "1", **(env or {})},
        check=False,
    )


def _store_with_a_paid_sale(data_dir: Path) -> str:
    store = SaleStore(open_store(data_dir / "kiosk.sqlite3"), "kiosk-001")
    oid = store.open_order(Cart().add(Product("w", "水", "Water", 200)))
    payment = store.begin_payment(oid, "wechat", "wechat", "134567890123456789")
    store.record_paid(payment.out_trade_no, "T1")
    store.db.close()
    return oid


def _still_paid(data_dir: Path, oid: str) -> bool:
    store = SaleStore(open_store(data_dir / "kiosk.sqlite3"), "kiosk-001")
    try:
        return bool(store.order(oid).status == "paid" and store.pending_count() == 2)  # sale, payment
    finally:
        store.db.close()


def test_bad_config_file_stops_start_with_a_clear_message(tmp_path: Path) -> None:
    oid = _store_with_a_paid_sale(tmp_path)
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text(f'[kiosk]\ndata_dir = "{tmp_path}"\n[printer]\nbaudrate = 9601\n')
    result = _run("run", "--config", str(cfg))
    assert result.returncode == 2
    assert str(cfg) in result.stderr and "printer.baudrate" in result.stderr and "9601" in result.stderr
    assert "115200" in result.stderr  # says what is allowed
    assert "Traceback" not in result.stderr
    assert _still_paid(tmp_path, oid)


def test_config_that_is_not_toml(tmp_path: Path) -> None:
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text("[printer\nbaudrate = 9600\n")
    result = _run("doctor", "--config", str(cfg))
    assert result.returncode == 2 and "not valid TOML" in result.stderr and str(cfg) in result.stderr


def test_absurdly_nested_config_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text("[kiosk]\nid = " + "[" * 100_000 + "]" * 100_000 + "\n")
    result = _run("doctor", "--config", str(cfg))
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr and "RecursionError" not in result.stderr
    assert str(cfg) in result.stderr and "nested deeper" in result.stderr


@pytest.mark.parametrize("where", ["option", "variable"])
def test_a_bad_log_level_lists_the_levels(where: str) -> None:
    """``--log-level bogus`` (or KIOSK_LOG_LEVEL=bogus) is an argument error, not a ValueError traceback."""
    if where == "option":
        result = _run("--log-level", "bogus", "decode", str(SAMPLE))
    else:
        result = _run("decode", str(SAMPLE), env={"KIOSK_LOG_LEVEL": "bogus"})
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert "'bogus' is not a log level" in result.stderr
    assert "DEBUG, INFO, WARNING, ERROR" in result.stderr and "usage: kiosk" in result.stderr


def test_log_level_in_any_case() -> None:
    assert _run("--log-level", "warning", "decode", str(SAMPLE)).returncode == 0
    assert _run("decode", str(SAMPLE), env={"KIOSK_LOG_LEVEL": "Debug"}).returncode == 0


def test_corrupt_receipt_template_stops_start_and_loses_nothing(tmp_path: Path) -> None:
    oid = _store_with_a_paid_sale(tmp_path)
    template = tmp_path / "receipt.toml"
    template.write_text('header = ["${store_name}", "${no_such_field}"]\n')
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text(
        f'[kiosk]\ndata_dir = "{tmp_path}"\n[receipt]\ntemplate = "{template}"\n'
        '[printer]\ntransport = "none"\n[gpio]\npin_factory = "mock"\n'
        f'[camera]\nsource = "{tmp_path}"\n'
    )
    result = _run("run", "--config", str(cfg), env={"SDL_VIDEODRIVER": "offscreen"})
    assert result.returncode == 2, result.stderr
    assert (
        "receipt template" in result.stderr
        and "no_such_field" in result.stderr
        and str(template) in result.stderr
    )
    assert "Traceback" not in result.stderr
    assert _still_paid(tmp_path, oid)


def test_unreadable_image_is_reported_and_the_rest_decoded(tmp_path: Path) -> None:
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    result = _run("decode", str(bad), str(SAMPLE))
    assert result.returncode == 1
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert "cannot read image" in lines[0]["error"] and lines[0]["file"] == str(bad)
    assert lines[1]["codes"] and lines[1]["codes"][0]["kind"] == "wechat"
    assert "*" in lines[1]["codes"][0]["text"]  # masked without --show-codes
