"""The demo's sample pictures: committed, the right numbers for the simulator, readable by both backends."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest

from drivers.camera.decoders import make_decoder
from kiosk.core.codes import CodeKind, classify
from kiosk.samples import SAMPLES, SAMPLES_DIR, Sample, sample_paths
from kiosk.samples.make_samples import main as make_samples
from kiosk_common.codes import gtin_check_ok

REQUIRED = {
    "wechat_ok",
    "alipay_ok",
    "wechat_password",
    "alipay_password",
    "wechat_declined",
    "alipay_declined",
    "product_4006381333931",
}


def test_the_required_samples_exist_as_files() -> None:
    names = {s.name for s in SAMPLES}
    assert names >= REQUIRED
    assert sample_paths() == {s.name: SAMPLES_DIR / f"{s.name}.png" for s in SAMPLES}
    for path in sample_paths().values():
        assert path.is_file(), f"{path} is missing; run python -m kiosk.samples.make_samples"


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.name)
def test_sample_numbers_match_what_the_simulator_and_router_expect(sample: Sample) -> None:
    assert (
        classify(sample.code, "QRCode" if sample.kind is not CodeKind.PRODUCT else "EAN13").kind
        is sample.kind
    )
    outcome = {"9001": "password", "9002": "declined"}.get(sample.code[-4:], "paid")
    if sample.kind is CodeKind.PRODUCT:
        assert gtin_check_ok(sample.code)
        assert sample.outcome == ""
    else:
        assert len(sample.code) == 18
        assert sample.code[:2] == ("13" if sample.kind is CodeKind.WECHAT else "28")
        assert sample.outcome == outcome
        assert sample.name.endswith(
            {"paid": "_ok", "password": "_password", "declined": "_declined"}[outcome]
        )
    assert sample.label_zh
    assert sample.label_en
    assert sample.label_zh != sample.label_en


@pytest.mark.parametrize("backend", ["zxing", "pyzbar"])
@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.name)
def test_each_sample_reads_with_each_backend(sample: Sample, backend: str) -> None:
    image = cv2.imread(str(sample.path))
    assert image is not None
    assert image.shape == (480, 640, 3)
    found = make_decoder(backend).decode(image)
    expected = {"Code128", "QRCode"} if sample.kind is not CodeKind.PRODUCT else {"EAN13"}
    assert {c.symbology for c in found} == expected
    assert {c.text for c in found} == {sample.code}


def test_the_generator_checks_the_committed_pictures() -> None:
    assert make_samples(["--check"]) == 0


def test_the_generator_draws_readable_pictures(tmp_path: Path) -> None:
    assert make_samples(["--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.glob("*.png")) == sorted(f"{s.name}.png" for s in SAMPLES)


def test_the_generator_notices_a_picture_that_does_not_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert make_samples(["--out", str(tmp_path)]) == 0
    capsys.readouterr()
    blank = cv2.imread(str(tmp_path / "wechat_ok.png"))
    assert blank is not None
    blank[:] = 255
    assert cv2.imwrite(str(tmp_path / "wechat_ok.png"), blank)
    assert make_samples(["--out", str(tmp_path), "--check"]) == 1
    err = capsys.readouterr().err
    assert "wechat_ok.png" in err
    assert "zxing" in err
    assert "pyzbar" in err
