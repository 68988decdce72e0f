"""The two decoders on labelled images of the public corpus, and their handling of bad frames.

The corpus lives outside the repository (../shared/corpus beside the repository). A missing corpus is a broken test
machine, not a reason to skip: these tests fail then.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest
import zxingcpp
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.camera.decoders import (
    KIOSK_SYMBOLOGIES,
    PyzbarDecoder,
    ZxingDecoder,
    make_decoder,
    normalise,
    to_gray,
    upca_to_upce,
)
from kiosk.core.codes import CodeKind, classify
from kiosk.ports import Decoded, Decoder
from kiosk_common.codes import upce_to_upca

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "zxing-blackbox"

#: images both backends read; the expected text is in the .txt beside each
AGREED = [
    ("qrcode-1", "1.png", "QRCode"),
    ("qrcode-1", "2.png", "QRCode"),
    ("qrcode-3", "01.png", "QRCode"),
    ("qrcode-6", "1.png", "QRCode"),
    ("code128-1", "1.png", "Code128"),
    ("code128-1", "3.png", "Code128"),
    ("code128-3", "1.png", "Code128"),
    ("ean13-2", "03.png", "EAN13"),
    ("ean13-3", "01.png", "EAN13"),
    ("ean8-1", "1.png", "EAN8"),
    ("upca-2", "02.png", "UPCA"),
    ("upca-3", "11.png", "UPCA"),
]

Image = npt.NDArray[np.uint8]


def corpus_image(folder: str, name: str) -> tuple[Image, str]:
    path = CORPUS / folder / name
    assert CORPUS.is_dir(), f"the barcode corpus is missing at {CORPUS}; see ../shared/corpus/README.md"
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None, f"cannot read {path}"
    label = path.with_suffix(".txt")
    return np.asarray(image, dtype=np.uint8), label.read_text(encoding="utf-8") if label.exists() else ""


def texts(codes: list[Decoded]) -> set[tuple[str, str]]:
    return {(c.symbology, c.text) for c in codes}


@pytest.fixture(scope="module", params=["zxing", "pyzbar"])
def decoder(request: pytest.FixtureRequest) -> Decoder:
    return make_decoder(request.param)


def test_corpus_is_there() -> None:
    assert CORPUS.is_dir(), f"the barcode corpus is missing at {CORPUS}"
    assert len(list((CORPUS / "falsepositives-2").glob("*.png"))) >= 20


@pytest.mark.parametrize(("folder", "name", "symbology"), AGREED)
def test_both_backends_read_the_labelled_text(folder: str, name: str, symbology: str) -> None:
    image, expected = corpus_image(folder, name)
    zx = ZxingDecoder().decode(image)
    zb = PyzbarDecoder().decode(image)
    assert texts(zx) == {(symbology, expected)}
    assert texts(zb) == texts(zx)


@pytest.mark.parametrize("name", [f"{i:02d}.png" for i in range(1, 26)])
def test_images_without_a_code_give_nothing(decoder: Decoder, name: str) -> None:
    image, _ = corpus_image("falsepositives-2", name)
    assert decoder.decode(image) == []


@pytest.mark.parametrize(
    ("folder", "name", "kind"),
    [
        ("code128-1", "3.png", CodeKind.WECHAT),  # 102030405060708090: 18 digits starting 10
        ("ean13-3", "01.png", CodeKind.PRODUCT),
        ("ean8-1", "1.png", CodeKind.PRODUCT),
        ("upca-2", "02.png", CodeKind.PRODUCT),
        ("qrcode-1", "1.png", CodeKind.OTHER),  # a bookmark URL
        ("code128-1", "2.png", CodeKind.OTHER),  # "Code 128"
    ],
)
def test_decoded_results_classify(decoder: Decoder, folder: str, name: str, kind: CodeKind) -> None:
    image, expected = corpus_image(folder, name)
    (code,) = decoder.decode(image)
    c = classify(code.text, code.symbology)
    assert c.kind is kind
    assert c.text == expected


def test_upca_is_twelve_digits_from_both_backends() -> None:
    """GIVEN a UPC-A symbol WHEN either backend reads it THEN it is UPCA with 12 digits, not an EAN-13 '0...'."""
    symbol = zxingcpp.create_barcode("036000291452", zxingcpp.BarcodeFormat.UPCA)
    image = _on_white(np.asarray(symbol.to_image(scale=3)))
    for d in (ZxingDecoder(), PyzbarDecoder()):
        assert d.decode(image) == [Decoded("UPCA", "036000291452")], d.name


def test_upce_is_eight_digits_from_both_backends() -> None:
    symbol = zxingcpp.create_barcode("01234565", zxingcpp.BarcodeFormat.UPCE)
    image = _on_white(np.asarray(symbol.to_image(scale=3)))
    for d in (ZxingDecoder(), PyzbarDecoder()):
        assert d.decode(image) == [Decoded("UPCE", "01234565")], d.name


def test_zxing_reads_a_sideways_1d_code_unless_told_not_to_rotate() -> None:
    symbol = zxingcpp.create_barcode("4006381333931", zxingcpp.BarcodeFormat.EAN13)
    sideways = np.ascontiguousarray(np.rot90(_on_white(np.asarray(symbol.to_image(scale=3)))))
    assert ZxingDecoder().decode(sideways) == [Decoded("EAN13", "4006381333931")]
    assert ZxingDecoder(try_rotate=False).decode(sideways) == []


def test_binary_qr_payloads_are_dropped_by_both(decoder: Decoder) -> None:
    symbol = zxingcpp.create_barcode(b"\xff\xfe\x00\x81\x82\xc3 binary", zxingcpp.BarcodeFormat.QRCode)
    image = _on_white(np.asarray(symbol.to_image(scale=4)))
    assert decoder.decode(image) == []


def test_utf8_text_survives(decoder: Decoder) -> None:
    symbol = zxingcpp.create_barcode("自助收银 ok", zxingcpp.BarcodeFormat.QRCode)
    image = _on_white(np.asarray(symbol.to_image(scale=4)))
    assert decoder.decode(image) == [Decoded("QRCode", "自助收银 ok")]


def test_formats_outside_the_kiosk_set_are_not_read(decoder: Decoder) -> None:
    for fmt, text in [
        (zxingcpp.BarcodeFormat.DataMatrix, "hello"),
        (zxingcpp.BarcodeFormat.Code39, "ABC123"),
    ]:
        symbol = zxingcpp.create_barcode(text, fmt)
        image = _on_white(np.asarray(symbol.to_image(scale=4)))
        assert decoder.decode(image) == [], fmt


def _on_white(symbol: Image, pad: int = 30) -> Image:
    return np.asarray(
        cv2.copyMakeBorder(symbol, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=255), np.uint8
    )


# --- frames of every shape -------------------------------------------------------------------------


def test_colour_gray_bgra_and_sliced_frames_all_decode(decoder: Decoder) -> None:
    image, expected = corpus_image("qrcode-3", "01.png")
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    bgra = cv2.cvtColor(image, cv2.COLOR_BGR2BGRA)
    wide = np.full((image.shape[0], image.shape[1] * 2, 3), 255, np.uint8)
    wide[:, ::2] = image  # every other column: a non-contiguous view after slicing
    for frame in (image, gray, gray[:, :, None], bgra, np.ascontiguousarray(wide)[:, ::2]):
        assert texts(decoder.decode(frame)) == {("QRCode", expected)}


@pytest.mark.parametrize(
    "frame",
    [
        None,
        "not a frame",
        b"\x00" * 100,
        np.zeros((0, 0), np.uint8),
        np.zeros((0, 640, 3), np.uint8),
        np.zeros((480, 640, 3), np.float32),
        np.zeros((480, 640), np.uint16),
        np.zeros((480, 640, 2), np.uint8),
        np.zeros((2, 480, 640, 3), np.uint8),
        np.zeros((640,), np.uint8),
        np.zeros((1, 1), np.uint8),
        np.full((480, 640, 3), 214, np.uint8),
    ],
    ids=lambda f: type(f).__name__ if not isinstance(f, np.ndarray) else f"{f.dtype}{f.shape}",
)
def test_bad_or_empty_frames_give_an_empty_list(decoder: Decoder, frame: object) -> None:
    assert decoder.decode(frame) == []


@given(st.integers(1, 64), st.integers(1, 64), st.integers(0, 2**32 - 1))
def test_noise_never_raises(h: int, w: int, seed: int) -> None:
    noise = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    for d in (ZxingDecoder(), PyzbarDecoder()):
        result = d.decode(noise)
        assert all(c.symbology in KIOSK_SYMBOLOGIES for c in result)


def test_to_gray_refuses_what_is_not_an_image() -> None:
    assert to_gray(np.zeros((4, 4, 5), np.uint8)) is None
    gray = to_gray(np.zeros((4, 6, 3), np.uint8))
    assert gray is not None
    assert gray.shape == (4, 6)


def test_make_decoder_names() -> None:
    assert make_decoder("zxing").name == "zxing"
    assert make_decoder("pyzbar").name == "pyzbar"
    with pytest.raises(ValueError, match=r"'zbar'.*'zxing'.*'pyzbar'"):
        make_decoder("zbar")


# --- normalisation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("symbology", "text", "expected"),
    [
        ("EAN13", "0036000291452", Decoded("UPCA", "036000291452")),  # zxing-cpp 3 with EAN-13 on
        ("UPCA", "0036000291452", Decoded("UPCA", "036000291452")),  # zxing-cpp 3 with UPC-A only
        ("UPCA", "036000291452", Decoded("UPCA", "036000291452")),  # zbar
        ("EAN13", "4006381333931", Decoded("EAN13", "4006381333931")),
        ("UPCE", "0012345000065", Decoded("UPCE", "01234565")),  # zxing-cpp 3: the expanded GTIN-13
        ("UPCE", "012345000065", Decoded("UPCE", "01234565")),
        ("UPCE", "01234565", Decoded("UPCE", "01234565")),  # zbar
        ("UPCE", "0012345600065", None),  # no UPC-E form
        ("QRCode", "x\x00y", None),
        ("QRCode", "", None),
        ("DataMatrix", "hello", None),
        ("Code128", "a\x1db", Decoded("Code128", "a\x1db")),  # GS1 separator is text
    ],
)
def test_normalise(symbology: str, text: str, expected: Decoded | None) -> None:
    assert normalise(symbology, text) == expected


@given(st.text(alphabet="0123456789", min_size=6, max_size=6), st.sampled_from("01"))
def test_upce_compression_inverts_expansion_when_it_exists(middle: str, ns: str) -> None:
    upce_body = ns + middle
    check = _check_digit_for(upce_body)
    upce = upce_body + check
    upca = upce_to_upca(upce)
    assert upca is not None
    back = upca_to_upce(upca)
    # several UPC-E spellings can expand to one UPC-A; compression gives the canonical one
    assert back is not None
    assert upce_to_upca(back) == upca


def _check_digit_for(upce_body: str) -> str:
    """The UPC-E check digit is the check digit of its UPC-A; expand with a placeholder to get the body."""
    expanded = upce_to_upca(upce_body + "0")
    assert expanded is not None
    body = expanded[:-1]
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return str((10 - total % 10) % 10)


# --- the retries of the default zxing decoder ---------------------------------------------------


def test_make_decoder_names_the_plain_reference() -> None:
    assert make_decoder("zxing-plain").name == "zxing-plain"


def _tilted_small_code128(text: str, angle: float) -> Image:
    bars = np.asarray(zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.Code128).to_image(scale=2))
    row = bars[bars.shape[0] // 2]
    symbol = np.tile(row, (40, 1)).astype(np.uint8)
    canvas = np.full((480, 640), 200, np.uint8)
    h, w = symbol.shape
    canvas[220 : 220 + h, 320 - w // 2 : 320 - w // 2 + w] = symbol
    matrix = cv2.getRotationMatrix2D((320, 240), angle, 1.0)
    turned = cv2.warpAffine(canvas, matrix, (640, 480), flags=cv2.INTER_LINEAR, borderValue=200)
    return np.asarray(cv2.GaussianBlur(turned, (0, 0), 0.8), dtype=np.uint8)


def test_a_tilted_code128_payment_code_reads_only_with_the_retries() -> None:
    """GIVEN a short-barred Code 128 tilted by 25 degrees (a phone held at an angle)
    THEN zxing-cpp's plain call misses it and the kiosk's straightening step reads it."""
    frame = _tilted_small_code128("134567890123459001", 25)
    assert ZxingDecoder(retry=False).decode(frame) == []
    assert ZxingDecoder().decode(frame) == [Decoded("Code128", "134567890123459001")]


def test_find_bars_finds_nothing_in_a_blank_or_smooth_view() -> None:
    from drivers.camera.decoders import find_bars

    assert find_bars(np.full((480, 640), 214, np.uint8)) == []
    y, x = np.mgrid[0:480, 0:640]
    assert find_bars(((x + y) // 5).astype(np.uint8)) == []
    assert find_bars(np.zeros((10, 10), np.uint8)) == []


def test_retries_read_at_least_what_the_plain_call_reads_on_corpus_folders() -> None:
    """Over three labelled corpus folders, the retries never lose a code the plain call read, and add some."""
    plain, kiosk = ZxingDecoder(retry=False), ZxingDecoder()
    plain_right = kiosk_right = 0
    for folder in ("qrcode-4", "upca-2", "ean13-4"):
        for path in sorted((CORPUS / folder).glob("*.png")):
            image, expected = corpus_image(folder, path.name)
            p = expected in {c.text for c in plain.decode(image)}
            k = expected in {c.text for c in kiosk.decode(image)}
            assert k or not p, f"{folder}/{path.name}: the retries lost a code the plain call read"
            plain_right += p
            kiosk_right += k
    assert kiosk_right > plain_right


@given(st.binary(min_size=0, max_size=4096), st.integers(1, 80))
@settings(max_examples=60, deadline=None)
def test_random_bytes_as_a_frame_never_raise(raw: bytes, width: int) -> None:
    data = np.frombuffer(raw, dtype=np.uint8)
    rows = len(data) // width
    frame = data[: rows * width].reshape(rows, width) if rows else data
    for d in (ZxingDecoder(), ZxingDecoder(retry=False), PyzbarDecoder()):
        assert isinstance(d.decode(frame), list)
