"""The key switch, paper-low sensor, printer busy line and relay on gpiozero's MockFactory.

Driving a mock pin runs gpiozero's event handling for real; the listener is called on whatever thread
gpiozero uses (the caller's, with mock pins), so each test waits for the call itself, bounded only to
end a failing test, and never for a while.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

import pytest
from gpiozero import LED
from gpiozero.pins.mock import MockFactory

from drivers.gpio.inputs import BOUNCE_S, GpiozeroInputs, GpiozeroRelay, open_inputs
from drivers.gpio.types import GpioPins

KEY, PAPER, BUSY, RELAY = 5, 6, 13, 26
BOUND_S = 10.0


@pytest.fixture
def factory() -> Iterator[MockFactory]:
    mock = MockFactory()
    yield mock
    mock.reset()
    mock.close()


class Recorder:
    """A listener that keeps every value it is called with and wakes a test waiting for them."""

    def __init__(self) -> None:
        self.values: list[bool] = []
        self.cond = threading.Condition()

    def __call__(self, value: bool) -> None:
        with self.cond:
            self.values.append(value)
            self.cond.notify_all()

    def wait_for(self, expected: list[bool]) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: self.values == expected, timeout=BOUND_S)


def test_key_switch_turned_and_released_calls_back(factory: MockFactory) -> None:
    inputs = GpiozeroInputs(KEY, None, pin_factory=factory)
    seen = Recorder()
    inputs.on_key_switch = seen
    try:
        pin = factory.pin(KEY)
        assert pin.bounce == BOUNCE_S  # a real pin debounces the switch; the mock pin does not
        assert inputs.key_switch_on is False  # pulled up, switch open
        pin.drive_low()
        assert seen.wait_for([True])
        assert inputs.key_switch_on is True
        pin.drive_high()
        assert seen.wait_for([True, False])
        assert inputs.key_switch_on is False
    finally:
        inputs.close()


def test_paper_low_sensor_reports_both_ways(factory: MockFactory) -> None:
    inputs = GpiozeroInputs(None, PAPER, pin_factory=factory)
    seen = Recorder()
    inputs.on_paper_low = seen
    try:
        factory.pin(PAPER).drive_low()
        assert seen.wait_for([True])
        assert inputs.paper_low is True
        assert inputs.key_switch_on is None  # no key switch configured
    finally:
        inputs.close()


def test_printer_busy_line_is_active_high(factory: MockFactory) -> None:
    inputs = GpiozeroInputs(None, None, BUSY, pin_factory=factory)
    seen = Recorder()
    inputs.on_printer_busy = seen
    try:
        assert inputs.printer_busy is False
        factory.pin(BUSY).drive_high()
        assert seen.wait_for([True])
        assert inputs.printer_busy is True
    finally:
        inputs.close()


def test_a_listener_that_raises_does_not_break_the_next_event(
    factory: MockFactory, caplog: pytest.LogCaptureFixture
) -> None:
    inputs = GpiozeroInputs(KEY, None, pin_factory=factory)
    calls = Recorder()

    def bad(value: bool) -> None:
        calls(value)
        raise RuntimeError("listener bug")

    inputs.on_key_switch = bad
    try:
        with caplog.at_level(logging.ERROR):
            factory.pin(KEY).drive_low()
            assert calls.wait_for([True])
            factory.pin(KEY).drive_high()
            assert calls.wait_for([True, False])
        assert "GPIO key listener failed" in caplog.text
    finally:
        inputs.close()


def test_a_pin_in_use_degrades_only_that_input(
    factory: MockFactory, caplog: pytest.LogCaptureFixture
) -> None:
    taken = LED(PAPER, pin_factory=factory)
    try:
        with caplog.at_level(logging.WARNING):
            inputs = GpiozeroInputs(KEY, PAPER, pin_factory=factory)
        assert f"paper-low sensor on GPIO{PAPER} unavailable" in caplog.text
        assert inputs.paper_low is None
        assert inputs.key_switch_on is False  # the key switch still works
        inputs.close()
    finally:
        taken.close()


def test_relay_switches_its_pin(factory: MockFactory) -> None:
    relay = GpiozeroRelay(RELAY, pin_factory=factory)
    try:
        pin = factory.pin(RELAY)
        assert relay.available and relay.is_on is False and pin.state is False
        relay.set(True)
        assert relay.is_on is True and pin.state is True
        relay.set(False)
        assert pin.state is False
    finally:
        relay.close()


def test_relay_without_a_pin_is_a_no_op() -> None:
    relay = GpiozeroRelay(None)
    relay.set(True)
    assert relay.available is False and relay.is_on is None


def test_relay_on_a_bad_pin_logs_and_carries_on(
    factory: MockFactory, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        relay = GpiozeroRelay(99, pin_factory=factory)
    assert "relay on GPIO99 unavailable" in caplog.text
    relay.set(True)
    assert relay.available is False


def test_open_inputs_follows_the_settings() -> None:
    assert open_inputs(GpioPins(enabled=False)) is None
    inputs = open_inputs(GpioPins(pin_factory="mock", maintenance_key=KEY, paper_low_sensor=PAPER))
    assert inputs is not None
    try:
        assert inputs.key_switch_on is False and inputs.paper_low is False and inputs.printer_busy is None
    finally:
        inputs.close()


def test_pins_are_checked_by_the_driver_too() -> None:
    """A tool or test may open the drivers without a settings file: a bad value still names itself."""
    with pytest.raises(ValueError, match=r"pin factory 'gpiod' is not known; use one of '', 'mock'"):
        GpioPins(pin_factory="gpiod")
    with pytest.raises(ValueError, match=r"buzzer = -1 is not a pin number"):
        GpioPins(buzzer=-1)
    with pytest.raises(ValueError, match=r"relay = True is not a pin number"):
        GpioPins(relay=True)


def test_bootstrap_hands_the_gpio_settings_to_the_drivers() -> None:
    from kiosk.bootstrap import gpio_pins
    from kiosk.settings import load_settings

    gpio = {"pin_factory": "mock", "status_led": 4, "buzzer": None, "maintenance_key": KEY}
    gpio |= {"paper_low_sensor": PAPER, "printer_busy": BUSY, "relay": RELAY, "enabled": False}
    assert gpio_pins(load_settings(environ={}, overrides={"gpio": gpio})) == GpioPins(
        enabled=False,
        pin_factory="mock",
        status_led=4,
        buzzer=None,
        maintenance_key=KEY,
        paper_low_sensor=PAPER,
        printer_busy=BUSY,
        relay=RELAY,
    )
