"""``kiosk decode`` on the sample pictures and on files that are not pictures."""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import zxingcpp

from kiosk.commands import decode
from kiosk.samples import SAMPLES_DIR

WECHAT_PASSWORD = SAMPLES_DIR / "wechat_password.png"
PRODUCT = SAMPLES_DIR / "product_4006381333931.png"


def kiosk_decode(*argv: str) -> tuple[int, list[dict[str, Any]]]:
    """Parse ``argv`` the way the kiosk CLI will (through add_parser) and run the command."""
    parser = argparse.ArgumentParser(prog="kiosk")
    decode.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["decode", *argv])
    out = io.StringIO()
    status = args.func(args, out)
    return status, [json.loads(line) for line in out.getvalue().splitlines()]


@pytest.mark.parametrize("backend", ["zxing", "zxing-plain", "pyzbar"])
def test_payment_codes_are_masked_by_default(backend: str) -> None:
    status, lines = kiosk_decode("--backend", backend, str(WECHAT_PASSWORD))
    assert status == 0
    (line,) = lines
    assert line["file"] == str(WECHAT_PASSWORD)
    assert sorted(c["format"] for c in line["codes"]) == ["Code128", "QRCode"]
    assert {c["text"] for c in line["codes"]} == {"1345**********9001"}
    assert {c["kind"] for c in line["codes"]} == {"wechat"}
    assert isinstance(line["ms"], float)
    assert line["ms"] >= 0
    assert round(line["ms"], 2) == line["ms"]


def test_show_codes_prints_them_in_full() -> None:
    status, lines = kiosk_decode("--show-codes", str(WECHAT_PASSWORD))
    assert status == 0
    assert {c["text"] for c in lines[0]["codes"]} == {"134567890123459001"}


def test_product_barcodes_are_never_masked() -> None:
    status, lines = kiosk_decode(str(PRODUCT))
    assert status == 0
    assert lines[0]["codes"] == [{"format": "EAN13", "text": "4006381333931", "kind": "product"}]


def test_a_picture_without_a_code_gives_an_empty_list(tmp_path: Path) -> None:
    blank = tmp_path / "blank.jpg"
    assert cv2.imwrite(str(blank), np.full((120, 160, 3), 200, np.uint8))
    status, lines = kiosk_decode(str(blank))
    assert status == 0
    assert lines[0]["codes"] == []


def test_bad_files_are_reported_and_the_others_still_decoded(tmp_path: Path) -> None:
    text = tmp_path / "notes.png"
    text.write_text("this is not a picture", encoding="utf-8")
    missing = tmp_path / "missing.png"
    status, lines = kiosk_decode(str(text), str(missing), str(tmp_path), str(PRODUCT))
    assert status == 1
    assert [line["file"] for line in lines] == [str(text), str(missing), str(tmp_path), str(PRODUCT)]
    for line, why in zip(lines[:3], ("not an image", "no such file", "not a file"), strict=True):
        assert set(line) == {"file", "error"}
        assert line["error"] == f"cannot read image: {why}; give a PNG/JPEG file"
    assert lines[3]["codes"][0]["text"] == "4006381333931"


def test_long_digit_runs_that_are_no_known_wallet_are_masked_too(tmp_path: Path) -> None:
    """A 19-digit UnionPay-style code (62...) is not routed, but it may be someone's payment code."""
    symbol = zxingcpp.create_barcode("6212345678901234567", zxingcpp.BarcodeFormat.QRCode)
    picture = cv2.copyMakeBorder(
        np.asarray(symbol.to_image(scale=4)), 20, 20, 20, 20, cv2.BORDER_CONSTANT, value=255
    )
    path = tmp_path / "unionpay.png"
    assert cv2.imwrite(str(path), picture)
    _, lines = kiosk_decode(str(path))
    assert lines[0]["codes"] == [{"format": "QRCode", "text": "6212***********4567", "kind": "other"}]


def test_unknown_backend_is_refused_by_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        kiosk_decode("--backend", "zbar", str(PRODUCT))
    assert exit_.value.code == 2
    assert "zbar" in capsys.readouterr().err


def test_run_needs_only_files_backend_and_show_codes(capsys: pytest.CaptureFixture[str]) -> None:
    args = argparse.Namespace(files=[PRODUCT], backend="pyzbar", show_codes=False)
    assert decode.run(args) == 0
    line = json.loads(capsys.readouterr().out)
    assert line["codes"][0]["kind"] == "product"


def test_runs_as_a_module(tmp_path: Path) -> None:
    missing = tmp_path / "gone.png"
    proc = subprocess.run(
        [sys.executable, "-m", "kiosk.commands.decode", str(WECHAT_PASSWORD), str(missing)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    first, second = (json.loads(line) for line in proc.stdout.splitlines())
    assert "134567890123459001" not in proc.stdout
    assert first["codes"][0]["kind"] == "wechat"
    assert second["error"].startswith("cannot read image")
