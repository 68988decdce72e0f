"""The fault and out-of-service screens under Xvfb, driven by touch events (tests/ui/ui_faults_main.py).

GIVEN the real KioskApp with the FakeController, at 800×480 and 1024×600
WHEN  HQ becomes unreachable, the printer is not ready at Pay, the paper runs out after payment, the
      camera stops on the pay screen, the kiosk goes out of service, and a restart finds an
      unfinished payment; in each, the customer switches language and touches the screen
THEN  each fault screen says what the issue asks for in zh_CN and en, no label is clipped or off
      the window, and nothing a customer touches starts a sale where none may start.
"""

from __future__ import annotations

from typing import Any

import pytest
from ui_harness import TourRun, run_tour

from kiosk.i18n import t

pytestmark = pytest.mark.ui

LANGS = ("zh_CN", "en")
SCREENS = (
    "attract_offline",
    "cart_offline",
    "printer_offer",
    "done_e_receipt",
    "camera_fault",
    "out_of_service",
    "out_of_service_clock",
    "recovering",
)


@pytest.fixture(scope="module", params=[("800", "480"), ("1024", "600")], ids=["800x480", "1024x600"])
def obs(
    request: pytest.FixtureRequest, xvfb_display: str, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    width, height = request.param
    tour: TourRun = run_tour(
        xvfb_display,
        tmp_path_factory.mktemp(f"faults{width}"),
        "ui_faults_main.py",
        "--width",
        width,
        "--height",
        height,
    )
    assert tour.returncode == 0, tour.result.get("failure") or tour.log[-3000:]
    result: dict[str, Any] = tour.result["obs"]
    return result


@pytest.mark.parametrize("screen", SCREENS)
@pytest.mark.parametrize("lang", LANGS)
def test_no_label_on_a_fault_screen_is_clipped(obs: dict[str, Any], screen: str, lang: str) -> None:
    assert obs[f"{screen}_{lang}"]["unfit"] == []


@pytest.mark.parametrize("lang", LANGS)
def test_offline_is_a_calm_line_on_the_attract_and_cart_screens(obs: dict[str, Any], lang: str) -> None:
    note = t("offline.note", lang)
    assert obs[f"attract_offline_{lang}"]["screen"] == "attract"
    assert note in obs[f"attract_offline_{lang}"]["texts"]
    assert note in obs[f"cart_offline_{lang}"]["texts"]
    assert not any("离线" in x or "Offline" in x for x in obs["cart_online_texts"])


@pytest.mark.parametrize("lang", LANGS)
def test_the_printer_offer_says_the_e_receipt_can_be_used(obs: dict[str, Any], lang: str) -> None:
    texts = obs[f"printer_offer_{lang}"]["texts"]
    for key in ("printer_offer.title", "printer_offer.body", "printer_offer.go", "printer_offer.cancel"):
        assert t(key, lang) in texts
    assert obs["after_offer_cancel"] == ["cart", 1]  # cancel kept the cart


@pytest.mark.parametrize("lang", LANGS)
def test_a_paid_customer_with_no_paper_gets_the_e_receipt_on_the_done_screen(
    obs: dict[str, Any], lang: str
) -> None:
    assert obs["done_panel"] == ["e_receipt", True, "receipt_on_phone"]
    assert obs[f"done_e_receipt_{lang}"]["screen"] == "done"
    assert t("done.receipt_on_phone", lang) in obs[f"done_e_receipt_{lang}"]["texts"]
    assert {"zh_CN": "打印机缺纸/故障：请扫码查看电子小票"}.get(
        lang, t("done.receipt_on_phone", lang)
    ) in obs[f"done_e_receipt_{lang}"]["texts"]


@pytest.mark.parametrize("lang", LANGS)
def test_the_camera_fault_screen_asks_for_staff_and_the_order_is_cancelled(
    obs: dict[str, Any], lang: str
) -> None:
    seen = obs[f"camera_fault_{lang}"]
    assert seen["screen"] == "help"
    assert t("notice.camera_fault", lang) in seen["texts"]
    assert any("camera: no frames for 2 s" in x for x in seen["texts"])  # the staff detail
    assert (
        obs["camera_effects"][:2] == ["CancelOrder", "AlertStaff"] or "CancelOrder" in obs["camera_effects"]
    )
    assert obs["after_camera"] == ["cart", 1]


@pytest.mark.parametrize("lang", LANGS)
def test_out_of_service_sends_the_customer_elsewhere_and_tells_staff_why(
    obs: dict[str, Any], lang: str
) -> None:
    seen = obs[f"out_of_service_{lang}"]
    assert seen["screen"] == "out_of_service"
    assert t("oos.title", lang) in seen["texts"] and t("oos.body", lang) in seen["texts"]
    assert any(
        x.startswith(t("oos.staff", lang, code="", explanation="")[:4]) and "STORE_NOT_WRITABLE" in x
        for x in seen["texts"]
    )
    assert obs["oos_after_touch"] == ["out_of_service", "attract"]
    assert obs["oos_corner"] == "pin", "the hidden corner opens the PIN pad while out of service"


@pytest.mark.parametrize("lang", LANGS)
def test_before_network_time_the_kiosk_is_out_of_service_and_sells_once_synced(
    obs: dict[str, Any], lang: str
) -> None:
    seen = obs[f"out_of_service_clock_{lang}"]
    assert seen["screen"] == "out_of_service"
    waiting = {"zh_CN": "正在等待网络校时", "en": "waiting for network time"}[lang]
    assert any("CLOCK_NOT_SYNCED" in x and waiting in x for x in seen["texts"]), seen["texts"]
    assert obs["clock_after_touch"] == ["out_of_service", "attract"]
    assert obs["clock_synced"] == "attract"


@pytest.mark.parametrize("lang", LANGS)
def test_the_recovering_screen_says_it_checks_your_last_payment(obs: dict[str, Any], lang: str) -> None:
    seen = obs[f"recovering_{lang}"]
    assert seen["screen"] == "recovering"
    assert {"zh_CN": "正在核对您的上一笔付款", "en": "We are checking your last payment"}[lang] in seen[
        "texts"
    ]
    assert obs["recovering_after_touch"] == "recovering"
