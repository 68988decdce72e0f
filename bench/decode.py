"""Decoders side by side: read rate, wrong reads and time per frame, on the public corpus and on phones.

Every backend (``zxing``: zxing-cpp with the kiosk's retries; ``zxing-plain``: zxing-cpp's single
call, the reference; ``pyzbar``: ZBar, the baseline) decodes the same images through the kiosk's own
``Decoder`` objects, so the times include the grey conversion and normalisation:

* ``../shared/corpus/zxing-blackbox``: the expected text is in the .txt beside each image; no .txt
  means the right answer is nothing. Folders are grouped by family (qrcode-1..6 -> qrcode).
  Line ends are compared as LF (the labels use LF, some symbols carry CRLF);
* a seeded synthetic set of WeChat Pay and Alipay payment codes (QR and Code 128) shown on a phone
  screen held to the camera at 640x480: perspective, blur, glare, low screen contrast, sensor noise
  and JPEG; plus camera views without a code (the "right answer is nothing" family for the camera).

"correct" means the labelled text was among the codes found (or nothing was found where there is no
code); "wrong" counts images where something was found but not the labelled text. Then the cost of an
empty frame (uniform and textured, 640x480 and 1280x720), and the time from a payment code entering
the view of a 30 fps video file to the payment event through the real ``CameraScanner`` pipeline.
The process is pinned to one core. Nothing here asserts: it prints.

    .venv/bin/python bench/decode.py [--synthetic 200] [--seed 7] [--backends zxing,zxing-plain,pyzbar]
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import zxingcpp
from _private import private_files  # bench/ is the script's folder, so on sys.path

from drivers.camera.decoders import make_decoder
from drivers.camera.scanner import CameraScanner
from drivers.camera.sources import VideoFileSource
from drivers.camera.types import Decoded, Decoder, Frame
from kiosk.core.codes import classify

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "zxing-blackbox"
Image = npt.NDArray[np.uint8]


@dataclass
class Sample:
    family: str
    name: str
    image: Image
    expected: str | None  # None: the right answer is nothing


@dataclass
class Tally:
    images: int = 0
    correct: int = 0
    wrong: int = 0
    wrong_payment: int = 0
    ms: list[float] = field(default_factory=list)


# --- the images ---------------------------------------------------------------------------------


def corpus_samples(root: Path) -> list[Sample]:
    if not root.is_dir():
        raise SystemExit(f"the corpus is missing at {root}; see ../shared/corpus/README.md")
    out = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        family = folder.name.rsplit("-", 1)[0]
        if family == "falsepositives":
            family = "no code (corpus)"
        for path in sorted(folder.glob("*.png")):
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is None:
                continue
            label = path.with_suffix(".txt")
            expected = label.read_text(encoding="utf-8") if label.exists() else None
            out.append(Sample(family, f"{folder.name}/{path.name}", np.asarray(image), expected))
    return out


def payment_code(rng: np.random.Generator) -> str:
    """A fresh WeChat Pay (18 digits, 10-15...) or Alipay (16-24 digits, 25-30...) payment code."""
    if rng.random() < 0.5:
        head, length = int(rng.integers(10, 16)), 18
    else:
        head, length = int(rng.integers(25, 31)), int(rng.integers(16, 25))
    return f"{head}" + "".join(str(int(d)) for d in rng.integers(0, 10, length - 2))


def _symbol(text: str, kind: str, rng: np.random.Generator) -> Image:
    if kind == "qr":
        pixels = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode).to_image(
            scale=int(rng.integers(3, 6)), add_quiet_zones=True
        )
        return np.asarray(pixels, dtype=np.uint8)
    bars = np.asarray(
        zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.Code128).to_image(scale=1, add_quiet_zones=True)
    )
    row = np.repeat(bars[bars.shape[0] // 2], int(rng.integers(2, 4)))
    return np.tile(row, (int(rng.integers(50, 90)), 1)).astype(np.uint8)


def camera_view(rng: np.random.Generator, width: int = 640, height: int = 480) -> Image:
    """What the camera sees with nothing held up: a lit gradient, a few soft shapes, sensor noise."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = float(rng.uniform(70, 190))
    view = base + float(rng.uniform(-40, 40)) * x / width + float(rng.uniform(-40, 40)) * y / height
    for _ in range(int(rng.integers(2, 6))):
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        r = rng.uniform(30, 160)
        view += float(rng.uniform(-50, 50)) * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * r * r))
    view += rng.normal(0, 3, view.shape)
    return np.clip(view, 0, 255).astype(np.uint8)


def phone_frame(text: str, kind: str, rng: np.random.Generator) -> Image:
    """A phone screen showing ``text`` as a QR code or Code 128, held to a 640x480 camera."""
    symbol = _symbol(text, kind, rng)
    dark, light = float(rng.uniform(0, 90)), float(rng.uniform(170, 255))  # screen brightness and contrast
    screen = (dark + (light - dark) * (symbol.astype(np.float32) / 255)).astype(np.uint8)
    pad = int(rng.integers(10, 40))
    screen = cv2.copyMakeBorder(screen, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=int(light))
    view = camera_view(rng).astype(np.float32)
    h, w = screen.shape
    # how big the screen appears: a QR code from about 90 px across, a Code 128 from 250 px wide
    target = float(rng.uniform(100, 300)) if kind == "qr" else float(rng.uniform(250, 600))
    scale = min(target / w, 400 / h)
    sw, sh = w * scale, h * scale
    cx, cy = rng.uniform(sw / 2 + 20, 620 - sw / 2), rng.uniform(sh / 2 + 20, 460 - sh / 2)
    angle = np.deg2rad(rng.uniform(-20, 20))
    corners = np.array([[-sw / 2, -sh / 2], [sw / 2, -sh / 2], [sw / 2, sh / 2], [-sw / 2, sh / 2]])
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    jitter = rng.uniform(-0.09, 0.09, (4, 2)) * np.array([sw, sh])  # the phone tilted towards the lens
    dst = (corners @ rot.T + jitter + [cx, cy]).astype(np.float32)
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(src, dst)
    warped = cv2.warpPerspective(screen, matrix, (640, 480), flags=cv2.INTER_LINEAR, borderValue=0)
    inside = cv2.warpPerspective(np.full((h, w), 255, np.uint8), matrix, (640, 480)) > 127
    view[inside] = warped[inside]
    if rng.random() < 0.5:  # glare: a bright soft spot from a ceiling light
        y, x = np.mgrid[0:480, 0:640].astype(np.float32)
        gx, gy = rng.uniform(cx - sw / 2, cx + sw / 2), rng.uniform(cy - sh / 2, cy + sh / 2)
        r = rng.uniform(20, 70)
        view += float(rng.uniform(60, 180)) * np.exp(-((x - gx) ** 2 + (y - gy) ** 2) / (2 * r * r))
    sigma = float(rng.uniform(0, 1.6))
    if sigma > 0.3:
        view = cv2.GaussianBlur(view, (0, 0), sigma)
    view += rng.normal(0, float(rng.uniform(1, 9)), view.shape)
    gray = np.clip(view, 0, 255).astype(np.uint8)
    ok, jpeg = cv2.imencode(".jpg", gray, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(25, 90))])
    decoded = cv2.imdecode(jpeg, cv2.IMREAD_COLOR) if ok else cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
    return np.asarray(decoded, dtype=np.uint8)


def synthetic_samples(count: int, seed: int) -> list[Sample]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        for kind in ("qr", "code128"):
            text = payment_code(rng)
            out.append(Sample(f"phone {kind}", f"{kind}-{i:03d}", phone_frame(text, kind, rng), text))
    for i in range(max(10, count // 4)):
        out.append(Sample("no code (camera)", f"view-{i:03d}", _bgr(camera_view(rng)), None))
    return out


def _bgr(gray: Image) -> Image:
    return np.asarray(cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR), dtype=np.uint8)


# --- measuring ----------------------------------------------------------------------------------


def _lf(text: str) -> str:
    return text.replace("\r\n", "\n")


def run_backend(decoder: Decoder, samples: list[Sample]) -> dict[str, Tally]:
    tallies: dict[str, Tally] = {}
    for sample in samples:
        t = tallies.setdefault(sample.family, Tally())
        started = time.perf_counter()
        found = decoder.decode(sample.image)
        t.ms.append((time.perf_counter() - started) * 1000)
        texts = {_lf(c.text) for c in found}
        t.images += 1
        expected = None if sample.expected is None else _lf(sample.expected)
        if expected is None:
            t.correct += not texts
            t.wrong += bool(texts)
        elif expected in texts:
            t.correct += 1
        elif texts:
            t.wrong += 1
        if any(classify(c.text, c.symbology).is_payment and _lf(c.text) != expected for c in found):
            t.wrong_payment += 1
    return tallies


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def frame_cost(decoder: Decoder, frame: Image, repeats: int = 40) -> float:
    decoder.decode(frame)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        decoder.decode(frame)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


class _StampedSource:
    """A video file source that remembers when each frame index was read (the moment it 'entered view')."""

    def __init__(self, inner: VideoFileSource, clock: Callable[[], float]) -> None:
        self.inner = inner
        self.clock = clock
        self.read_at: list[float] = []

    def read(self) -> Frame | None:
        frame = self.inner.read()
        if frame is not None:
            self.read_at.append(self.clock())
        return frame

    def close(self) -> None:
        self.inner.close()


def view_to_event(
    backend: str, seed: int, codes: int = 8, fps: int = 30, folder: Path | None = None
) -> list[float]:
    """Latency (ms) from a payment code's first frame being captured to ``on_codes``, over a 30 fps clip.

    Each code comes into view moving (three motion-blurred frames), then is held still for 20 frames,
    between 20 frames of an empty view. The first frame with the phone in it is "entering view".
    The clip is written (owner-only) into ``folder`` and kept there, or into a temporary folder.
    """
    rng = np.random.default_rng(seed + 1)
    gap, shown = 20, 20
    texts: list[str] = []
    with private_files(), contextlib.ExitStack() as stack:
        tmp = folder if folder is not None else Path(stack.enter_context(tempfile.TemporaryDirectory()))
        clip = tmp / "phones.avi"
        writer = cv2.VideoWriter(str(clip), cv2.VideoWriter.fourcc(*"MJPG"), fps, (640, 480))
        first_frames = []
        index = 0
        for _ in range(codes):
            for _ in range(gap):
                writer.write(_bgr(camera_view(rng)))
                index += 1
            text = payment_code(rng)
            texts.append(text)
            first_frames.append(index)
            still = phone_frame(text, "qr" if len(texts) % 2 else "code128", rng)
            for k in range(shown):
                frame = still
                if k < 3:  # the phone is still moving into place: motion blur of 25, 16, 7 pixels
                    size = 25 - 9 * k
                    kernel = np.full((1, size), 1.0 / size, np.float32)
                    frame = cv2.filter2D(still, -1, kernel)
                jitter = rng.normal(0, 2, frame.shape)
                writer.write(np.clip(frame + jitter, 0, 255).astype(np.uint8))
                index += 1
        writer.release()
        clock = time.perf_counter
        source = _StampedSource(VideoFileSource(clip), clock)
        reported: dict[str, float] = {}
        done = threading.Event()

        def on_codes(found: list[Decoded]) -> None:
            now = clock()
            for code in found:
                reported.setdefault(code.text, now)
            if len(reported) >= codes:
                done.set()

        scanner = CameraScanner(source, make_decoder(backend), on_codes, fps=fps, clock=clock)
        scanner.start()
        done.wait(timeout=index / fps + 5)
        scanner.stop()
        source.close()
    out = []
    for text, first in zip(texts, first_frames, strict=True):
        if text in reported and first < len(source.read_at):
            out.append((reported[text] - source.read_at[first]) * 1000)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--synthetic", type=int, default=200, help="phone pictures per symbology")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--backends", default="zxing,zxing-plain,pyzbar")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)  # the clip's end is a 'no frames' fault; not news here
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    cv2.setNumThreads(1)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    decoders = {b: make_decoder(b) for b in backends}
    samples = corpus_samples(CORPUS) + synthetic_samples(args.synthetic, args.seed)
    families = list(dict.fromkeys(s.family for s in samples))
    print(f"decode bench: {len(samples)} images, seed {args.seed}, one core, backends {', '.join(backends)}")
    results = {b: run_backend(d, samples) for b, d in decoders.items()}
    header = f"| {'family':18} | {'backend':11} | images | correct | wrong | payment wrong | rate    | median ms | p95 ms |"
    print(header)
    print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
    for family in families:
        for backend in backends:
            t = results[backend][family]
            print(
                f"| {family:18} | {backend:11} | {t.images:6} | {t.correct:7} | {t.wrong:5} | "
                f"{t.wrong_payment:13} | {100 * t.correct / t.images:6.1f}% | "
                f"{statistics.median(t.ms):9.2f} | {_p95(t.ms):6.2f} |"
            )
    rng = np.random.default_rng(args.seed + 2)
    empties = {
        "uniform 640x480": np.full((480, 640, 3), 214, np.uint8),
        "camera view 640x480": _bgr(camera_view(rng)),
        "uniform 1280x720": np.full((720, 1280, 3), 214, np.uint8),
        "camera view 1280x720": _bgr(camera_view(rng, 1280, 720)),
    }
    print()
    print("| empty frame          | " + " | ".join(f"{b:>11}" for b in backends) + " |")
    print("|----------------------|" + "|".join("-" * 13 for _ in backends) + "|")
    for name, frame in empties.items():
        costs = " | ".join(f"{frame_cost(decoders[b], frame):8.2f} ms" for b in backends)
        print(f"| {name:20} | {costs} |")
    print()
    for backend in backends:
        lat = view_to_event(backend, args.seed)
        if lat:
            print(
                f"view-to-event {backend:11} 30 fps video, {len(lat)}/8 codes reported: "
                f"median {statistics.median(lat):.0f} ms, max {max(lat):.0f} ms after the first frame "
                "with the phone in it"
            )
        else:
            print(f"view-to-event {backend:11} 30 fps video: no code reported")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
