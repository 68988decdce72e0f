"""GpiozeroIndicators on gpiozero's MockFactory: real gpiozero devices, fake pins."""

from __future__ import annotations

import importlib.util
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
from gpiozero import LED
from gpiozero.pins.mock import MockFactory, MockPWMPin

from drivers.gpio.indicators import GpiozeroIndicators, NullIndicators, open_indicators
from drivers.gpio.types import GpioPins, Light

LED_PIN, BUZZER_PIN = 17, 27


@pytest.fixture
def factory() -> Iterator[MockFactory]:
    mock = MockFactory(pin_class=MockPWMPin)
    yield mock
    mock.reset()
    mock.close()


@pytest.fixture
def indicators(factory: MockFactory) -> Iterator[GpiozeroIndicators]:
    ind = GpiozeroIndicators(LED_PIN, BUZZER_PIN, pin_factory=factory)
    yield ind
    ind.close()


def rising_edges(pin: Any) -> int:
    return sum(1 for change in pin.states if change.state)


def wait_until(check: Any, timeout_s: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.01)
    return bool(check())


def test_ready_is_steady_on_and_off_is_off(factory: MockFactory, indicators: GpiozeroIndicators) -> None:
    pin = factory.pin(LED_PIN)
    indicators.show(Light.READY)
    assert pin.state == 1
    time.sleep(0.3)  # longer than a fast blink: a steady light does not change
    assert pin.state == 1 and rising_edges(pin) == 1
    indicators.show(Light.OFF)
    assert pin.state == 0
    assert indicators.light is Light.OFF


@pytest.mark.parametrize("light", [Light.FAULT, Light.BUSY])
def test_fault_and_busy_blink(factory: MockFactory, indicators: GpiozeroIndicators, light: Light) -> None:
    pin = factory.pin(LED_PIN)
    indicators.show(light)
    # on, then off again by itself: blinking
    assert wait_until(lambda: rising_edges(pin) >= 1 and pin.state == 0), "the LED did not blink"
    indicators.show(Light.READY)  # stops the blink thread and stays on
    assert pin.state == 1


def test_fault_blinks_slower_than_busy(factory: MockFactory, indicators: GpiozeroIndicators) -> None:
    """GIVEN the LED blinking WHEN its state changes are timed THEN a fault's on-phase is the longer.

    Compares the two rhythms with each other, not with a wall-clock limit.
    """
    pin = factory.pin(LED_PIN)

    def on_phases(light: Light) -> list[float]:
        pin.clear_states()
        indicators.show(light)
        wait_until(lambda: rising_edges(pin) >= 2, timeout_s=5)  # one whole on-phase, then on again
        indicators.show(Light.OFF)  # cuts the second on-phase short: leave that one out
        # each PinState's timestamp is the time since the previous change: an "off" entry timed the on-phase
        return [change.timestamp for change in pin.states[1:-1] if not change.state]

    busy, fault = on_phases(Light.BUSY), on_phases(Light.FAULT)
    assert busy and fault
    assert min(fault) > max(busy)


@pytest.mark.parametrize(("error", "beeps"), [(False, 1), (True, 2)])
def test_beep_once_or_twice_for_an_error(
    factory: MockFactory, indicators: GpiozeroIndicators, error: bool, beeps: int
) -> None:
    pin = factory.pin(BUZZER_PIN)
    indicators.beep(error=error)
    assert wait_until(lambda: rising_edges(pin) == beeps and pin.state == 0)
    time.sleep(0.4)  # and no more beeps follow
    assert rising_edges(pin) == beeps and pin.state == 0


def test_bad_led_pin_degrades_with_one_clear_log_line(
    factory: MockFactory, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="drivers.gpio.indicators"):
        ind = GpiozeroIndicators(99, BUZZER_PIN, pin_factory=factory)
        for light in (Light.READY, Light.FAULT, Light.OFF):
            ind.show(light)  # no-ops, no raise
        ind.beep()
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 1
    assert messages[0].startswith("status LED on GPIO99 unavailable: ")
    assert messages[0].endswith("; the kiosk runs without it")
    assert ind.led_available is False and ind.buzzer_available is True
    assert wait_until(lambda: rising_edges(factory.pin(BUZZER_PIN)) == 1)  # the buzzer still works
    ind.close()


def test_pin_already_in_use_degrades_that_feature(
    factory: MockFactory, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="drivers.gpio.indicators"):
        ind = GpiozeroIndicators(LED_PIN, LED_PIN, pin_factory=factory)
    assert ind.led_available is True and ind.buzzer_available is False
    assert "buzzer on GPIO17 unavailable" in caplog.text
    ind.show(Light.READY)
    assert factory.pin(LED_PIN).state == 1
    ind.close()


class _NoChipFactory(MockFactory):  # type: ignore[misc]
    """A factory on a machine without a GPIO chip: opening any pin fails with an OS error."""

    def pin(self, name: Any, pin_class: Any = None, **kwargs: Any) -> Any:
        raise OSError(2, "No such file or directory: '/dev/gpiochip0'")


def test_any_exception_from_the_factory_degrades(caplog: pytest.LogCaptureFixture) -> None:
    broken = _NoChipFactory()
    with caplog.at_level(logging.WARNING, logger="drivers.gpio.indicators"):
        ind = GpiozeroIndicators(LED_PIN, BUZZER_PIN, pin_factory=broken)
        ind.show(Light.BUSY)
        ind.beep(error=True)
        ind.close()
    assert "status LED on GPIO17 unavailable" in caplog.text
    assert "buzzer on GPIO27 unavailable" in caplog.text
    assert "/dev/gpiochip0" in caplog.text
    broken.close()


def test_pins_left_out_are_silent_no_ops(caplog: pytest.LogCaptureFixture, factory: MockFactory) -> None:
    with caplog.at_level(logging.WARNING):
        ind = GpiozeroIndicators(None, None, pin_factory=factory)
        ind.show(Light.READY)
        ind.beep()
        ind.close()
    assert caplog.records == []
    assert factory.pins == {}


def test_close_releases_the_pins(factory: MockFactory) -> None:
    ind = GpiozeroIndicators(LED_PIN, BUZZER_PIN, pin_factory=factory)
    ind.show(Light.FAULT)
    ind.close()
    LED(LED_PIN, pin_factory=factory).close()  # would raise GPIOPinInUse if still held


def test_open_indicators_disabled_gives_null() -> None:
    assert isinstance(open_indicators(GpioPins(enabled=False)), NullIndicators)


def test_open_indicators_mock_factory_drives_pins() -> None:
    ind = open_indicators(GpioPins(pin_factory="mock", status_led=5, buzzer=None))
    try:
        assert isinstance(ind, GpiozeroIndicators)
        ind.show(Light.READY)
        assert ind.led_available and not ind.buzzer_available
    finally:
        ind.close()


def test_open_indicators_without_the_library_degrades(caplog: pytest.LogCaptureFixture) -> None:
    if importlib.util.find_spec("lgpio") is not None:
        pytest.skip("lgpio is installed here")
    with caplog.at_level(logging.WARNING, logger="drivers.gpio.indicators"):
        ind = open_indicators(GpioPins(pin_factory="lgpio", status_led=LED_PIN, buzzer=BUZZER_PIN))
    ind.show(Light.READY)
    ind.close()
    assert "GPIO pin factory 'lgpio' unavailable" in caplog.text
