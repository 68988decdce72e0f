"""The enrolment screen's desk on a kiosk built as ``kiosk run`` builds it (``enrol_on_screen``), with
no credentials file, against a real HQ on 127.0.0.1: the scanned payload is redeemed by the same
function ``kiosk enroll`` calls, and the kiosk goes on to sell and sync without a restart.

The codes reach the controller the way the camera's and hand scanners' do (``handle_codes`` on the
dispatching thread); the redeem runs on the desk's own thread and comes back through ``post``,
which the test pumps, bounded, as the Kivy clock would.
"""

from __future__ import annotations

import hashlib
import io
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hq_fixtures import LiveHq, closed_port, running_hq, sqlite_url
from PIL import Image

from drivers.camera.sources import HeldImageSource
from hq.catalog import seed_demo
from hq.db import connected
from hq.devices import add_store, list_devices
from hq.enrolment import make_code
from hq.pictures import set_picture
from kiosk.bootstrap import Kiosk, Overrides, build_kiosk
from kiosk.core import checkout as co
from kiosk.core.availability import OutOfService
from kiosk.enrolment_desk import EnrolmentDesk, EnrolStatus
from kiosk.ports import Decoded
from kiosk.settings import Settings, load_settings
from kiosk.sync.hq_client import HttpHqClient
from kiosk_common.enrolment import format_enrol_payload

KIOSK_ID = "kiosk-1a2b3c4d"
WECHAT_KEY = "Zx81QmT4pL0aWc7vRb2nK9sD3fG6hJ5y"
#: bounds a redeem that never answers; a passing test never waits for it
BOUND_S = 30.0


def kiosk_settings(data: Path, hq_url: str) -> Settings:
    data.mkdir(parents=True, exist_ok=True)
    return load_settings(
        environ={},
        overrides={
            "kiosk": {"id": KIOSK_ID, "data_dir": str(data), "language": "en"},
            "hq": {"url": hq_url, "timeout_s": 5.0},
            "printer": {"transport": "none"},
            "gpio": {"enabled": False},
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


def build(s: Settings) -> Kiosk:
    return build_kiosk(
        s, overrides=Overrides(source=HeldImageSource(64, 48)), background=False, enrol_on_screen=True
    )


def desk_of(k: Kiosk) -> EnrolmentDesk:
    desk = k.controller.enrolment
    assert isinstance(desk, EnrolmentDesk)
    return desk


def show(k: Kiosk, text: str) -> EnrolStatus:
    """The camera reads ``text``; wait (bounded) until the desk has answered."""
    k.controller.handle_codes([Decoded("QRCode", text)])
    return settle(k)


def settle(k: Kiosk) -> EnrolStatus:
    desk = desk_of(k)
    deadline = time.monotonic() + BOUND_S
    while desk.status is EnrolStatus.REDEEMING:
        assert time.monotonic() < deadline, "the redeem did not answer"
        k.controller.pump(timeout=0.2)
    return desk.status


@pytest.fixture
def hq(tmp_path: Path) -> Iterator[LiveHq]:
    with running_hq(sqlite_url(tmp_path / "hq.sqlite3")) as live:
        with connected():
            add_store("s01", "Main street")
        yield live


def new_code(kiosk_id: str = KIOSK_ID) -> str:
    with connected():
        return make_code("s01", kiosk_id, 15).code


def test_a_kiosk_without_credentials_shows_the_enrolment_screen_and_enrols_by_scanning(
    hq: LiveHq, tmp_path: Path
) -> None:
    s = kiosk_settings(tmp_path / "data", hq.url)
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(buf, "PNG")
    png = buf.getvalue()
    with connected():
        seed_demo()
        set_picture("D001", png)
    k = build(s)
    try:
        c, desk = k.controller, desk_of(k)
        # not selling: the enrolment screen instead of the attract screen, a touch starts nothing
        assert c.out_of_service is OutOfService.NOT_ENROLLED
        c.dispatch(co.StartTapped())
        assert c.state.phase is co.Phase.ATTRACT
        view = desk.view()
        assert view.kiosk_id == KIOSK_ID and view.hq_url == hq.url and view.status is EnrolStatus.WAITING
        assert view.fingerprint == k.store.device_fingerprint()
        assert view.installer_qr == f"KIOSKID1:{KIOSK_ID}:{view.fingerprint}"
        key = (s.kiosk.data_dir / "kiosk.sqlite3.key").read_text("ascii").strip()
        assert stat.S_IMODE((s.kiosk.data_dir / "kiosk.sqlite3.key").stat().st_mode) == 0o600
        assert key[:16] not in view.fingerprint.replace("-", "")  # the fingerprint is not the key

        # a product barcode is not sold, and not an enrolment code
        assert show(k, "6921168509256") is EnrolStatus.FAILED
        assert "not an HQ enrolment code" in desk.view().message
        assert c.state.phase is co.Phase.ATTRACT and c.state.cart.is_empty

        # a code for another HQ: refused before it is spent
        code = new_code()
        assert show(k, format_enrol_payload("https://other-hq.example.com", code)) is EnrolStatus.FAILED
        assert "other-hq.example.com" in desk.view().message and "[hq] url" in desk.view().message

        # a wrong code: HQ refuses it, and showing it again does not ask HQ again
        wrong = format_enrol_payload(hq.url, "ABCD-EFGH-JKMN-PQRS")
        assert show(k, wrong) is EnrolStatus.FAILED
        assert "wrong, already used or expired" in desk.view().message
        c.handle_codes([Decoded("QRCode", wrong)])
        assert desk.status is EnrolStatus.FAILED  # not redeeming again
        assert not s.hq_credentials_path.exists()

        # the sync loop ran meanwhile, and failed (nothing to sign with): the link backs off
        k.store.audit("kiosk", "device_fault", "printer: paper low")  # an event for HQ, waiting
        assert k.pusher.push_once().error
        assert not k.pusher.backoff.ready()

        # the right code (the one the other HQ's payload carried, still unspent)
        assert show(k, format_enrol_payload(hq.url, code)) is EnrolStatus.DONE
        assert desk.view().message == "Enrolled: this kiosk is open for sale"
        assert stat.S_IMODE(s.hq_credentials_path.stat().st_mode) == 0o600
        with connected():
            assert [d.kiosk_id for d in list_devices()] == [KIOSK_ID]

        # selling and syncing at once, without a restart
        assert c.out_of_service is None
        assert isinstance(k.hq, HttpHqClient) and k.pusher.client is k.hq and k.puller.client is k.hq
        assert k.pusher.backoff.ready(), (
            "the enrolled kiosk's first upload waits out the unenrolled one's backoff"
        )
        assert k.puller.pull_once().error == ""
        # ... and HQ's product pictures come with the catalog, as on a kiosk enrolled at start-up
        pictures = s.kiosk.data_dir / "images"
        assert [p.name for p in pictures.iterdir()] == ["D001.png"]
        assert (
            hashlib.sha256((pictures / "D001.png").read_bytes()).hexdigest()
            == hashlib.sha256(png).hexdigest()
        )
        assert c.e_receipt_possible()
        c.dispatch(co.StartTapped())
        assert c.state.phase is co.Phase.CART
        c.dispatch(co.CancelTapped())
    finally:
        k.stop()

    # the next start finds the credentials: no enrolment screen
    again = build(s)
    try:
        assert again.controller.enrolment is None and again.controller.out_of_service is None
    finally:
        again.stop()


def test_a_spent_code_and_an_unreachable_hq_each_say_what_to_do(hq: LiveHq, tmp_path: Path) -> None:
    code = new_code("")  # any kiosk id
    first = build(kiosk_settings(tmp_path / "first", hq.url))
    try:
        assert show(first, format_enrol_payload(hq.url, code)) is EnrolStatus.DONE
    finally:
        first.stop()

    second = build(kiosk_settings(tmp_path / "second", hq.url))
    try:
        assert show(second, format_enrol_payload(hq.url, code)) is EnrolStatus.FAILED
        assert "already used" in desk_of(second).view().message
        assert second.controller.out_of_service is OutOfService.NOT_ENROLLED
    finally:
        second.stop()

    down = f"http://127.0.0.1:{closed_port()}"
    offline = build(kiosk_settings(tmp_path / "offline", down))
    try:
        payload = format_enrol_payload(down, new_code())
        assert show(offline, payload) is EnrolStatus.FAILED
        assert "cannot reach HQ" in desk_of(offline).view().message
        # HQ unreachable: the same code is tried again when it is shown again
        offline.controller.handle_codes([Decoded("QRCode", payload)])
        assert desk_of(offline).status is EnrolStatus.REDEEMING
        assert settle(offline) is EnrolStatus.FAILED
    finally:
        offline.stop()


def test_without_the_screen_an_unenrolled_kiosk_sells_offline_as_before(tmp_path: Path) -> None:
    """Tests and ``kiosk demo`` build kiosks without ``enrol_on_screen``: nothing changes for them."""
    s = kiosk_settings(tmp_path / "data", "http://127.0.0.1:9")
    k = build_kiosk(s, overrides=Overrides(source=HeldImageSource(64, 48)), background=False)
    try:
        assert k.controller.enrolment is None and k.controller.out_of_service is None
    finally:
        k.stop()
