"""GpiozeroIndicators on gpiozero's MockFactory: real gpiozero devices, fake pins.

Blinks and beeps run on gpiozero's own threads. A test waits for the pin changes it expects (the pin
wakes it), or for the beep's thread to end; "nothing more happens" is checked once the thread that
could make it happen is gone, or was never started. Waits are bounded only to end a failing test.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from gpiozero import LED
from gpiozero.pins.mock import MockFactory, MockPWMPin
from gpiozero.threads import GPIOThread

from drivers.gpio.indicators import (
    FAST_BLINK_S,
    SLOW_BLINK_S,
    GpiozeroIndicators,
    NullIndicators,
    open_indicators,
)
from drivers.gpio.types import GpioPins, Light

LED_PIN, BUZZER_PIN = 17, 27
BOUND_S = 10.0


class RecordingPin(MockPWMPin):  # type: ignore[misc]
    """gpiozero's mock pin, which also wakes a waiting test at every change of state."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.changed = threading.Condition()
        super().__init__(*args, **kwargs)

    def _change_state(self, value: Any) -> bool:
        with self.changed:
            result: bool = super()._change_state(value)
            self.changed.notify_all()
        return result


def wait_pin(pin: RecordingPin, check: Callable[[], bool]) -> bool:
    with pin.changed:
        return pin.changed.wait_for(check, timeout=BOUND_S)


def gpio_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if isinstance(t, GPIOThread)}


def run_to_end(action: Callable[[], None]) -> None:
    """Do ``action`` and wait for every gpiozero thread it started (a beep) to finish."""
    before = gpio_threads()
    action()
    for thread in gpio_threads() - before:
        thread.join(BOUND_S)  # gpiozero raises ZombieThread if it is still running then


@pytest.fixture
def factory() -> Iterator[MockFactory]:
    mock = MockFactory(pin_class=RecordingPin)
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


def test_ready_is_steady_on_and_off_is_off(factory: MockFactory, indicators: GpiozeroIndicators) -> None:
    pin = factory.pin(LED_PIN)
    before = gpio_threads()
    indicators.show(Light.READY)
    assert pin.state == 1
    assert gpio_threads() - before == set()  # no blink thread: nothing will switch it off
    assert rising_edges(pin) == 1
    indicators.show(Light.OFF)
    assert pin.state == 0
    assert indicators.light is Light.OFF


@pytest.mark.parametrize("light", [Light.FAULT, Light.BUSY])
def test_fault_and_busy_blink(factory: MockFactory, indicators: GpiozeroIndicators, light: Light) -> None:
    pin = factory.pin(LED_PIN)
    indicators.show(light)
    # on, then off again by itself: blinking
    assert wait_pin(pin, lambda: rising_edges(pin) >= 1 and pin.state == 0), "the LED did not blink"
    indicators.show(Light.READY)  # stops the blink thread and stays on
    assert pin.state == 1


def test_fault_blinks_slower_than_busy(factory: MockFactory, indicators: GpiozeroIndicators) -> None:
    """GIVEN the LED blinking WHEN its on-phases are timed by the pin THEN each lasts at least the
    rhythm asked of gpiozero, and a fault's rhythm is the slower.

    gpiozero's blink waits at least ``on_time`` before switching off, so the measured phases give
    lower bounds that hold on any machine; a busy machine can only make them longer, so which of the
    two is slower is read from the rhythm the driver asked for, never from a measured upper bound.
    """
    pin = factory.pin(LED_PIN)
    led = indicators._led.device
    assert led is not None
    asked: list[float] = []
    blink = led.blink

    def recording_blink(*args: object, **kwargs: float) -> None:
        asked.append(kwargs["on_time"])
        blink(*args, **kwargs)

    led.blink = recording_blink

    def on_phases(light: Light, count: int) -> list[float]:
        pin.clear_states()
        indicators.show(light)

        def offs() -> int:
            return sum(1 for change in pin.states[1:] if not change.state)

        assert wait_pin(pin, lambda: offs() >= count), f"{light} did not blink {count} times"
        indicators.show(Light.OFF)
        # each PinState's timestamp is the time since the previous change: an "off" entry timed an on-phase
        return [change.timestamp for change in pin.states[1:] if not change.state][:count]

    busy, fault = on_phases(Light.BUSY, 3), on_phases(Light.FAULT, 1)
    assert min(busy) >= FAST_BLINK_S - 0.01
    assert min(fault) >= SLOW_BLINK_S - 0.01
    assert asked == [FAST_BLINK_S, SLOW_BLINK_S] and FAST_BLINK_S < SLOW_BLINK_S


@pytest.mark.parametrize(("error", "beeps"), [(False, 1), (True, 2)])
def test_beep_once_or_twice_for_an_error(
    factory: MockFactory, indicators: GpiozeroIndicators, error: bool, beeps: int
) -> None:
    pin = factory.pin(BUZZER_PIN)
    run_to_end(lambda: indicators.beep(error=error))
    # the beep's thread has ended: these are all the beeps there will be
    assert rising_edges(pin) == beeps and pin.state == 0


def test_bad_led_pin_degrades_with_one_clear_log_line(
    factory: MockFactory, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="drivers.gpio.indicators"):
        ind = GpiozeroIndicators(99, BUZZER_PIN, pin_factory=factory)
        for light in (Light.READY, Light.FAULT, Light.OFF):
            ind.show(light)  # no-ops, no raise
        run_to_end(ind.beep)
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 1
    assert messages[0].startswith("status LED on GPIO99 unavailable: ")
    assert messages[0].endswith("; the kiosk runs without it")
    assert ind.led_available is False and ind.buzzer_available is True
    assert rising_edges(factory.pin(BUZZER_PIN)) == 1  # the buzzer still works
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
