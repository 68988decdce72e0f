"""Child-process entry point of tests/ui/test_ui_enrol.py: first boot's enrolment screen, end to end.

A real HQ runs in this process on 127.0.0.1 (SQLite in OUT_DIR); the kiosk is built as ``kiosk run``
builds it (``build_for_ui(..., enrol_on_screen=True)``: real store, real camera scanner and decoder)
with no credentials file. Its camera is ``HeldImageSource``, the demo's: the script holds up PNG
files of HQ's enrolment QR (made from the payload as ``hq device enroll-code --hq-url`` makes it)
and of a wrong code, exactly as an installer holds a phone up to the camera.

The script: the enrolment screen shows the kiosk's id and fingerprint; the hidden corner still opens
the PIN pad; a wrong code is refused and says so; the right code enrols the kiosk, which goes on to
the attract screen without a restart. Run as ``python tests/ui/ui_enrol_main.py OUT_DIR`` with
``KIVY_NO_ARGS=1``, ``KIVY_HOME`` and ``DISPLAY``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ui_maint_main import SCRIPT_LIMIT_S, Do, Fingers, Release, Shot, Step, Tap, Until, run_script

from drivers.camera.sources import HeldImageSource
from hq.db import connected
from hq.devices import add_store, list_devices
from hq.enrolment import make_code
from kiosk.app import build_for_ui
from kiosk.bootstrap import Overrides
from kiosk.enrolment_desk import EnrolmentDesk, EnrolStatus
from kiosk.settings import KioskSection, UiSection, load_settings
from kiosk.ui.kivy_config import configure_kivy
from kiosk.ui.qr import qr_picture
from kiosk_common.enrolment import format_enrol_payload
from tests.integration.hq_fixtures import sqlite_url, start_hq

KIOSK_ID = "kiosk-1a2b3c4d"
WECHAT_KEY = "Zx81QmT4pL0aWc7vRb2nK9sD3fG6hJ5y"


def qr_file(text: str, path: Path) -> Path:
    """``text`` as a QR on a white card in a 640x480 picture, as a phone shows it to the camera."""
    from PIL import Image

    card = Image.new("RGB", (640, 480), "white")
    code = qr_picture(text, box_px=6).convert("RGB")
    card.paste(code, ((640 - code.width) // 2, (480 - code.height) // 2))
    card.save(path)
    return path


def script(
    f: Fingers, desk: EnrolmentDesk, camera: HeldImageSource, pictures: dict[str, Path], obs: dict[str, Any]
) -> Iterator[Step]:
    clock = [1000.0]
    yield Until(lambda: f.showing("enrol"), "the enrolment screen, not the attract screen")
    yield Do(lambda: obs.__setitem__("texts", texts(f)), "note the screen's texts")
    yield Shot("enrol")
    # staff still reach maintenance mode: the hidden corner, held 2 s on an injected clock
    screen = f.app.sm.get_screen("enrol")
    yield Do(lambda: setattr(screen, "clock", lambda: clock[0]), "the corner's clock")
    yield Tap(lambda: (screen.x + 20, screen.top - 20), "corner", hold=True)
    yield Do(lambda: clock.__setitem__(0, clock[0] + 2.0), "2 s pass")
    yield Until(lambda: f.showing("pin"), "the PIN pad, from the enrolment screen")
    yield Release()
    yield Do(lambda: obs.__setitem__("corner", f.app.sm.current), "note")
    yield Do(lambda: f.app.leave_maintenance(), "staff go back")
    yield Until(lambda: f.showing("enrol"), "the enrolment screen again")
    # a code HQ never made: refused, and the screen says so
    yield Do(lambda: camera.hold_up(str(pictures["wrong"])), "hold up a wrong code")
    yield Until(lambda: desk.status is EnrolStatus.FAILED and f.app.vm.enrol_message != "", "refused")
    yield Do(lambda: obs.__setitem__("wrong", f.app.vm.enrol_message), "note")
    yield Shot("enrol-failed")
    # HQ's code: enrolled, and on to the attract screen without a restart
    yield Do(lambda: camera.hold_up(str(pictures["right"])), "hold up HQ's enrolment code")
    yield Until(lambda: f.showing("attract"), "the attract screen")
    yield Do(lambda: obs.__setitem__("status", str(desk.status)), "note")
    yield Shot("attract")


def texts(f: Fingers) -> list[str]:
    return [str(w.text) for w in f.screen.walk(restrict=True) if hasattr(w, "text") and w.text]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--language", choices=("zh_CN", "en"), default="en")
    parser.add_argument("--timeout", type=float, default=SCRIPT_LIMIT_S)
    args = parser.parse_args()
    out: Path = args.out
    work = out / "work"
    work.mkdir(parents=True, exist_ok=True)
    hq = start_hq(sqlite_url(work / "hq.sqlite3"))
    with connected():
        add_store("s01", "Main street")
        code = make_code("s01", KIOSK_ID, 15).code
    pictures = {
        "right": qr_file(format_enrol_payload(hq.url, code), work / "enrol-code.png"),
        "wrong": qr_file(format_enrol_payload(hq.url, "ABCD-EFGH-JKMN-PQRS"), work / "wrong-code.png"),
    }
    settings = load_settings(
        environ={},
        overrides={
            "kiosk": {"id": KIOSK_ID, "data_dir": str(work / "kiosk"), "language": args.language},
            "hq": {"url": hq.url, "timeout_s": 5.0, "sync_interval_s": 3600},
            "printer": {"transport": "none"},
            "gpio": {"enabled": False},
            "camera": {"fps": 15, "repeat_after_s": 1.0},
            "payments": {
                "gateway": "wechat",
                "wechat": {
                    "gateway_url": "http://127.0.0.1:9",
                    "appid": "wx0000000000000001",
                    "mch_id": "1900000001",
                    "api_key": WECHAT_KEY,
                },
            },
        },
    )
    (work / "kiosk").mkdir(exist_ok=True)
    ui = UiSection(fullscreen=False, width=1024, height=600)
    configure_kivy(ui, fullscreen=False)
    from kiosk.ui.app import KioskApp

    camera = HeldImageSource(640, 480)
    kiosk = build_for_ui(settings, Overrides(source=camera), enrol_on_screen=True)
    desk = kiosk.controller.enrolment
    assert isinstance(desk, EnrolmentDesk)
    obs: dict[str, Any] = {"fingerprint": desk.fingerprint}

    def report() -> dict[str, Any]:
        """After the app stopped: what HQ and the kiosk's data folder hold now."""
        with connected():
            obs["devices"] = [d.kiosk_id for d in list_devices()]
        obs["credentials"] = settings.hq_credentials_path.exists()
        obs["hq_client"] = type(kiosk.hq).__name__
        return {"obs": obs}

    kiosk.start()
    try:
        app = KioskApp(
            kiosk.controller,
            ui,
            fullscreen=False,
            kiosk_settings=KioskSection(store_name="Corner Shop", language=args.language),
        )
        return run_script(
            app, out, args.timeout, lambda f: script(f, desk, camera, pictures, obs), report=report
        )
    finally:
        kiosk.stop()
        hq.stop()


if __name__ == "__main__":
    sys.exit(main())
