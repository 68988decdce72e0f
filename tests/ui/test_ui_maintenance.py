"""Maintenance mode's screens under Xvfb, driven by touch events through Kivy's input.

GIVEN the real KioskApp with the FakeController (its maintenance lock: three staff PINs, back-off
      from the 4th wrong PIN, lockout after 10, auto-lock after 120 s on an injected clock)
WHEN  a staff member holds the attract screen's top-left corner and types PINs on the pad
THEN  the right PIN opens a menu of exactly the role's actions, a wrong one says so, ten wrong ones
      lock the pad, a refund and the Z-report go through their panels, inactivity locks the menu,
      a payment in flight refuses entry with the cart kept, and the help screen's "resolved"
      button asks for a PIN before it resolves.
"""

from __future__ import annotations

import pytest
from ui_harness import TourRun, distinct_colours, run_tour

from kiosk.maintenance.roles import Role, actions_for

pytestmark = pytest.mark.ui


def run(display: str, tmp: pytest.TempPathFactory, script: str) -> TourRun:
    tour = run_tour(display, tmp.mktemp(script), "ui_maint_main.py", "--script", script)
    assert tour.returncode == 0, tour.result.get("failure") or tour.log[-3000:]
    return tour


@pytest.fixture(scope="module")
def menus(xvfb_display: str, tmp_path_factory: pytest.TempPathFactory) -> TourRun:
    return run(xvfb_display, tmp_path_factory, "menus")


@pytest.fixture(scope="module")
def lockout(xvfb_display: str, tmp_path_factory: pytest.TempPathFactory) -> TourRun:
    return run(xvfb_display, tmp_path_factory, "lockout")


@pytest.fixture(scope="module")
def work(xvfb_display: str, tmp_path_factory: pytest.TempPathFactory) -> TourRun:
    return run(xvfb_display, tmp_path_factory, "work")


def test_a_short_tap_in_the_corner_starts_a_sale_and_only_a_2_s_hold_opens_the_pin_pad(
    menus: TourRun,
) -> None:
    obs = menus.result["obs"]
    assert obs["short_tap_phase"] == "cart"
    assert obs["screen_at_1_9_s"] == "attract"
    assert obs["phase_after_long_press"] == "attract"  # the long press started no sale


def test_a_wrong_pin_is_refused_on_the_pad(menus: TourRun) -> None:
    obs = menus.result["obs"]
    assert obs["wrong_pin_screen"] == "pin"
    assert obs["wrong_pin_message"] == "PIN 不正确，请重试"


@pytest.mark.parametrize("role", list(Role))
def test_each_role_sees_exactly_its_actions_and_the_lock_button_locks(menus: TourRun, role: Role) -> None:
    obs = menus.result["obs"]
    assert obs[f"menu_{role.value}"] == [f"action:{a.value}" for a in actions_for(role)]
    assert obs[f"session_after_lock_{role.value}"] is None
    name = {Role.CASHIER: "王芳", Role.MANAGER: "李强", Role.IT: "张工"}[role]
    assert name in obs[f"staff_{role.value}"]


def test_ten_wrong_pins_lock_the_pad_with_back_off_on_the_way(lockout: TourRun) -> None:
    obs = lockout.result["obs"]
    messages = obs["messages"]
    assert messages[:3] == ["PIN 不正确，请重试"] * 3
    assert all(m == "尝试次数过多，请 5 秒后再试" for m in messages[3:9]), messages
    assert messages[9] == "错误次数过多，已锁定。请联系 IT 解锁"
    assert obs["right_pin_after_lockout"] == "错误次数过多，已锁定。请联系 IT 解锁"
    assert obs["screen_after_lockout"] == "pin"
    assert obs["session_after_lockout"] is None


def test_a_refund_through_the_refund_panel_asks_twice_and_converts_yuan_to_fen(work: TourRun) -> None:
    obs = work.result["obs"]
    assert obs["refunds_after_first_press"] == []
    assert "¥3.50" in obs["refund_confirm_message"]
    assert obs["refunds"] == [["a1b2c3d4-0000-4000-8000-000000000001", 350]]
    assert obs["refund_message"] == "已退款 Refunded ¥3.50"


def test_closing_the_shift_prints_the_z_report_after_a_second_press(work: TourRun) -> None:
    obs = work.result["obs"]
    assert [kind for kind, _ in obs["printed_after_first_press"]] == ["receipt"]  # the reprint before
    assert [kind for kind, _ in obs["printed"]] == ["receipt", "z_report"]
    assert obs["z_report_message"] == "已交班并打印 Shift closed, Z-report printed"
    assert len(obs["sales_items"]) == 2


def test_touches_keep_maintenance_open_and_inactivity_locks_it(work: TourRun) -> None:
    obs = work.result["obs"]
    assert obs["screen_after_touch_and_200_s"] == "maint"
    assert obs["session_after_idle"] is None


def test_entry_is_refused_while_a_payment_is_in_flight_and_the_cart_is_kept(work: TourRun) -> None:
    obs = work.result["obs"]
    assert obs["in_flight_message"] == "正在付款中，付款完成后再进入维护模式"
    assert obs["in_flight_session"] is None
    assert obs["cart_after_refusal"] == 1


def test_the_help_screens_resolved_button_goes_through_the_pin_pad(work: TourRun) -> None:
    obs = work.result["obs"]
    assert obs["phase_on_help_pin"] == "needs_help"  # nothing resolved before the PIN
    assert obs["after_help_resolved"] == ["cart", 1]  # printer not ready: the customer's cart is kept
    assert obs["session_after_help"] is None  # resolving did not leave the menu unlocked


def test_screenshots_are_real_pictures(menus: TourRun, lockout: TourRun, work: TourRun) -> None:
    for tour in (menus, lockout, work):
        for name in tour.result["shots"]:
            assert distinct_colours(tour.out_dir / f"{name}.png") > 20, name


def test_the_pin_is_checked_off_the_ui_thread_and_the_pad_says_so_meanwhile(work: TourRun) -> None:
    obs = work.result["obs"]
    assert obs["pin_while_checking"] == [True, "正在核对 PIN…"]
    assert obs["pin_checked_on"] and all(name.startswith("fake-staff") for name in obs["pin_checked_on"])


@pytest.fixture(scope="module")
def catalog(xvfb_display: str, tmp_path_factory: pytest.TempPathFactory) -> TourRun:
    return run(xvfb_display, tmp_path_factory, "catalog")


def test_a_manager_overrides_a_price_typed_on_the_keypad_and_confirmed_twice(catalog: TourRun) -> None:
    obs = catalog.result["obs"]
    assert obs["categories"] == ["item:category:drinks", "item:category:snacks", "item:category:daily"]
    assert obs["overrides_after_first_press"] == {}
    assert obs["price_confirm_message"] == "将 Coca-Cola 330ml 改为 ¥2.80？再按一次确认"
    assert obs["overrides"] == {"COLA330": 280}
    assert obs["price_message"] == "Coca-Cola 330ml now sells at ¥2.80"


def test_a_manager_finds_an_item_by_typing_and_marks_it_out_of_stock(catalog: TourRun) -> None:
    obs = catalog.result["obs"]
    assert obs["found"] == ["item:CHIPS"]
    assert obs["out_after_first_press"] == []
    assert obs["out_of_stock"] == ["CHIPS"]


def test_the_customer_sees_the_new_price_and_cannot_add_the_sold_out_item(catalog: TourRun) -> None:
    obs = catalog.result["obs"]
    assert obs["after_sold_out_tap"] == ["sold_out", 0]
    assert obs["tiles"] == {"COLA330": ["¥2.80", False], "CHIPS": ["已售罄", True]}


def test_a_pin_too_short_for_hq_is_refused_at_once_and_not_counted(menus: TourRun) -> None:
    assert menus.result["obs"]["short_pin"] == ["PIN 至少 6 位", 0]
