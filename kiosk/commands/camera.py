"""``kiosk camera test``: live decode statistics for installers aiming and focusing the camera.

    kiosk camera test [--config FILE] [--source SRC] [--backend zxing|zxing-plain|pyzbar]
                      [--seconds N] [--json]

Runs the kiosk's own scan pipeline (the same source, decoder, region of interest and frame rate as
the kiosk) and prints one line a second: frames captured per second, frames decoded and dropped,
decode time (median and p95), the codes read so far (payment codes masked) and any camera fault.
With ``--json`` each line is a JSON object instead. ``--seconds 0`` runs until Ctrl-C.

Exit status: 0 when the camera delivered frames, 1 when it delivered none (the last line says what
to check), 2 for a settings error.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from drivers.camera.decoders import BACKENDS
from drivers.camera.scanner import CameraScanner, Roi, ScanStats
from kiosk.core.codes import classify
from kiosk.ports import Decoded
from kiosk_common.codes import mask


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Add ``camera`` to the ``kiosk`` command; ``set_defaults(func=run)`` lets the CLI dispatch to it."""
    parser = subparsers.add_parser(
        "camera",
        help="camera tools: live decode statistics (摄像头测试)",
        description=(
            "Camera tools for installers: `test` shows live capture and decode statistics while you aim "
            "and focus the camera. 摄像头工具：`test` 实时显示采集与识别统计，便于安装时对准和调焦。"
        ),
    )
    actions = parser.add_subparsers(dest="camera_command", required=True, metavar="ACTION")
    test = actions.add_parser("test", help="show live decode statistics (实时识别统计)")
    test.add_argument("--config", type=Path, help="a TOML file overriding the default settings")
    test.add_argument("--source", help="a device index, video file or image folder (default: camera.source)")
    test.add_argument("--backend", choices=BACKENDS, help="decoder (default: camera.backend)")
    test.add_argument("--seconds", type=float, default=10.0, help="how long to run; 0 = until Ctrl-C")
    test.add_argument("--json", action="store_true", help="one JSON object a second instead of text")
    parser.set_defaults(func=run)
    return parser


def _line(stats: ScanStats, codes: list[str], as_json: bool) -> str:
    if as_json:
        return json.dumps(
            {
                "capture_fps": round(stats.capture_fps, 1),
                "frames_read": stats.frames_read,
                "frames_decoded": stats.frames_decoded,
                "frames_dropped": stats.frames_dropped,
                "decode_ms_median": round(stats.decode_ms_median, 2),
                "decode_ms_p95": round(stats.decode_ms_p95, 2),
                "codes": codes,
                "fault": stats.fault,
            },
            ensure_ascii=False,
        )
    seen = ", ".join(codes[-3:]) if codes else "-"
    return (
        f"{stats.capture_fps:5.1f} fps  read {stats.frames_read:5d}  decoded {stats.frames_decoded:5d}  "
        f"dropped {stats.frames_dropped:4d}  decode {stats.decode_ms_median:5.2f} ms (p95 "
        f"{stats.decode_ms_p95:5.2f})  codes {len(codes)}: {seen}"
        + (f"  FAULT: {stats.fault}" if stats.fault else "")
    )


def _shown(code: Decoded) -> str:
    c = classify(code.text, code.symbology)
    secret = c.is_payment or (len(code.text) >= 16 and code.text.isascii() and code.text.isdigit())
    return f"{code.symbology} {mask(code.text) if secret else code.text[:40]} ({c.kind})"


def run(
    args: argparse.Namespace,
    out: TextIO | None = None,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Run the statistics loop for ``--seconds`` of ``clock``, pausing with ``sleep`` between lines
    (a test passes both, so it can end the run on what the output says instead of on a timer)."""
    from kiosk.bootstrap import build_camera_source, build_decoder
    from kiosk.settings import load_settings

    stream = out if out is not None else sys.stdout
    settings = load_settings(args.config)
    cam = settings.camera
    spec = args.source if args.source is not None else cam.source
    try:
        source = build_camera_source(settings, spec)
    except ValueError as exc:
        print(f"kiosk camera: {exc}", file=sys.stderr)
        return 2
    codes: list[str] = []
    lock = threading.Lock()

    def on_codes(found: list[Decoded]) -> None:
        with lock:
            codes.extend(_shown(c) for c in found)

    scanner = CameraScanner(
        source,
        build_decoder(args.backend or cam.backend),
        on_codes,
        fps=cam.fps,
        repeat_after_s=cam.repeat_after_s,
        fault_after_s=cam.fault_after_s,
        roi=Roi(*cam.roi),
    )
    print(
        f"camera test: source {spec!r}, {cam.width}x{cam.height} @ {cam.fps} fps, decoder "
        f"{scanner.decoder.name}; Ctrl-C to stop / 按 Ctrl-C 结束",
        file=stream,
        flush=True,
    )
    scanner.start()
    deadline = clock() + args.seconds if args.seconds > 0 else float("inf")
    try:
        while clock() < deadline:
            sleep(min(1.0, max(0.05, deadline - clock())))
            with lock:
                shown = list(codes)
            print(_line(scanner.stats(), shown, args.json), file=stream, flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        scanner.stop()
        source.close()
    if scanner.stats().frames_read == 0:
        print(
            "no frames from the camera: check the cable and camera.source (try 0, 1, ...), and that the "
            "kiosk user is in the video group / 摄像头无画面：请检查连线、camera.source 设置和 video 用户组",
            file=stream,
        )
        return 1
    return 0
