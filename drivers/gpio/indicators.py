"""The status LED and the buzzer on GPIO pins, through gpiozero.

Lights: ready = steady on, busy = fast blink, fault = slow blink, off. Beeps: one short beep, or two
for an error. Blinking and beeping run on gpiozero's background threads, so ``show`` and ``beep``
return at once and can be called from the UI thread.

A missing or broken pin (wrong number, already in use, no GPIO on this machine) must not stop the
kiosk from selling: that feature is logged once and becomes a no-op; the rest keeps working.
The hardware backend is chosen by ``pin_factory`` (MockFactory in tests, lgpio on a Pi), never at
import time.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from gpiozero import LED, Buzzer

from drivers.gpio.types import GpioPins, Light

log = logging.getLogger(__name__)

FAST_BLINK_S = 0.15  # busy: on and off this long
SLOW_BLINK_S = 0.8  # fault: slow enough to read as "something is wrong", not "working"
BEEP_S = 0.08
ERROR_BEEP_S = 0.2
ERROR_BEEP_GAP_S = 0.12


class _Feature:
    """One gpiozero output device, or nothing once it has failed (reported once)."""

    def __init__(self, label: str, pin: int | None, make: Any, pin_factory: Any) -> None:
        self.label = label
        self.pin = pin
        self.device: Any = None
        if pin is None:
            return  # left out of the settings on purpose: nothing to report
        try:
            self.device = make(pin, pin_factory=pin_factory)
        except (
            Exception
        ) as exc:  # GPIOZeroError, or whatever the pin factory raises (no lgpio, no /dev/gpiochip)
            self.fail(exc)

    def fail(self, exc: BaseException) -> None:
        log.warning("%s on GPIO%s unavailable: %s; the kiosk runs without it", self.label, self.pin, exc)
        device, self.device = self.device, None
        if device is not None:
            try:
                device.close()
            except Exception as close_exc:  # it already failed; releasing it is best effort
                log.debug("closing the failed %s: %s", self.label, close_exc)

    def run(self, action: str, **kwargs: Any) -> None:
        if self.device is None:
            return
        try:
            getattr(self.device, action)(**kwargs)
        except Exception as exc:  # a pin that worked at start and broke later degrades the same way
            self.fail(exc)

    def close(self) -> None:
        device, self.device = self.device, None
        if device is not None:
            try:
                device.close()
            except Exception as exc:
                log.debug("closing the %s: %s", self.label, exc)


class GpiozeroIndicators:
    """Indicators on a gpiozero LED and Buzzer; a pin that is ``None`` leaves that feature off."""

    def __init__(
        self,
        status_led_pin: int | None,
        buzzer_pin: int | None,
        pin_factory: Any = None,
        close_factory: bool = False,
    ) -> None:
        self._lock = threading.Lock()
        self._led = _Feature("status LED", status_led_pin, LED, pin_factory)
        self._buzzer = _Feature("buzzer", buzzer_pin, Buzzer, pin_factory)
        self._factory = pin_factory if close_factory else None
        self._light: Light | None = None

    @property
    def led_available(self) -> bool:
        return self._led.device is not None

    @property
    def buzzer_available(self) -> bool:
        return self._buzzer.device is not None

    @property
    def light(self) -> Light | None:
        """The light last asked for (None before the first ``show``)."""
        return self._light

    def show(self, light: Light) -> None:
        with self._lock:
            if light == self._light:
                return  # re-starting a blink would only jolt its rhythm
            self._light = light
            if light is Light.READY:
                self._led.run("on")
            elif light is Light.BUSY:
                self._led.run("blink", on_time=FAST_BLINK_S, off_time=FAST_BLINK_S, background=True)
            elif light is Light.FAULT:
                self._led.run("blink", on_time=SLOW_BLINK_S, off_time=SLOW_BLINK_S, background=True)
            else:
                self._led.run("off")

    def beep(self, error: bool = False) -> None:
        with self._lock:
            if error:
                self._buzzer.run(
                    "beep", on_time=ERROR_BEEP_S, off_time=ERROR_BEEP_GAP_S, n=2, background=True
                )
            else:
                self._buzzer.run("beep", on_time=BEEP_S, off_time=BEEP_S, n=1, background=True)

    def close(self) -> None:
        with self._lock:
            self._led.close()
            self._buzzer.close()
            factory, self._factory = self._factory, None
        if factory is not None:
            try:
                factory.close()
            except Exception as exc:
                log.debug("closing the GPIO pin factory: %s", exc)


class NullIndicators:
    """``gpio.enabled = false``: no LED, no buzzer, nothing to fail."""

    def show(self, light: Light) -> None:
        pass

    def beep(self, error: bool = False) -> None:
        pass

    def close(self) -> None:
        pass


def make_pin_factory(name: str) -> Any:
    """The gpiozero pin factory called ``name`` ("" = None: let gpiozero pick, lgpio on a Pi)."""
    if name == "":
        return None
    if name == "mock":
        from gpiozero.pins.mock import MockFactory, MockPWMPin

        return MockFactory(pin_class=MockPWMPin)
    if name == "lgpio":
        from gpiozero.pins.lgpio import LGPIOFactory

        return LGPIOFactory()
    if name == "rpigpio":
        from gpiozero.pins.rpigpio import RPiGPIOFactory

        return RPiGPIOFactory()
    if name == "pigpio":
        from gpiozero.pins.pigpio import PiGPIOFactory

        return PiGPIOFactory()
    if name == "native":
        from gpiozero.pins.native import NativeFactory

        return NativeFactory()
    raise ValueError(
        f"GPIO pin factory {name!r} is not known; use '', mock, lgpio, rpigpio, pigpio or native"
    )


def open_indicators(pins: GpioPins) -> GpiozeroIndicators | NullIndicators:
    """The status LED and buzzer ``pins`` name; never raises for missing hardware (see module docstring)."""
    if not pins.enabled:
        return NullIndicators()
    try:
        factory = make_pin_factory(pins.pin_factory)
    except Exception as exc:  # the library is missing, or this machine has no GPIO chip
        log.warning(
            "GPIO pin factory %r unavailable: %s; the kiosk runs without the status LED and buzzer",
            pins.pin_factory,
            exc,
        )
        return NullIndicators()
    return GpiozeroIndicators(pins.status_led, pins.buzzer, pin_factory=factory, close_factory=True)
