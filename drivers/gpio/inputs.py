"""The kiosk's other pins: the maintenance key switch, the paper-low sensor, the printer's busy line, a relay.

Inputs are switches to GND with the Pi's internal pull-up (closed = active), debounced by gpiozero;
the printer's busy (DTR) line is active high, as printers drive it. Changes are reported through
callbacks (``on_key_switch(bool)``, ``on_paper_low(bool)``, ``on_printer_busy(bool)``) that run on
gpiozero's thread: whoever wires them (bootstrap) hands them to the UI thread. The relay (printer
power or a gate) is an active-high output.

As for the LED and buzzer: a pin that is left out (None) is off without a word; a pin that cannot be
opened is logged once with its number and the reason, and only that feature is missing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from gpiozero import Button, DigitalInputDevice, OutputDevice

from drivers.gpio.indicators import make_pin_factory
from drivers.gpio.types import GpioPins

log = logging.getLogger(__name__)

BOUNCE_S = 0.05  # a key switch or a paper lever chatters for a few milliseconds

Listener = Callable[[bool], None]


def _open(label: str, pin: int | None, make: Callable[[], Any]) -> Any:
    if pin is None:
        return None
    try:
        return make()
    except Exception as exc:  # GPIOZeroError, or what the pin factory raises on this machine
        log.warning("%s on GPIO%s unavailable: %s; the kiosk runs without it", label, pin, exc)
        return None


class GpiozeroInputs:
    """The key switch, the paper-low sensor and the printer's busy line; each may be absent."""

    def __init__(
        self,
        maintenance_key: int | None,
        paper_low_sensor: int | None,
        printer_busy: int | None = None,
        pin_factory: Any = None,
        close_factory: bool = False,
    ) -> None:
        self.on_key_switch: Listener | None = None
        self.on_paper_low: Listener | None = None
        self.on_printer_busy: Listener | None = None
        self._lock = threading.Lock()
        self._key = _open(
            "maintenance key switch",
            maintenance_key,
            lambda: Button(maintenance_key, pull_up=True, bounce_time=BOUNCE_S, pin_factory=pin_factory),
        )
        self._paper = _open(
            "paper-low sensor",
            paper_low_sensor,
            lambda: Button(paper_low_sensor, pull_up=True, bounce_time=BOUNCE_S, pin_factory=pin_factory),
        )
        self._busy = _open(
            "printer busy line",
            printer_busy,
            lambda: DigitalInputDevice(printer_busy, pull_up=False, pin_factory=pin_factory),
        )
        for device, name in ((self._key, "key"), (self._paper, "paper"), (self._busy, "busy")):
            if device is not None:
                device.when_activated = self._handler(name, True)
                device.when_deactivated = self._handler(name, False)
        self._factory = pin_factory if close_factory else None

    def _handler(self, name: str, value: bool) -> Callable[[], None]:
        def handle() -> None:
            listener = {
                "key": self.on_key_switch,
                "paper": self.on_paper_low,
                "busy": self.on_printer_busy,
            }[name]
            log.info("GPIO input %s is now %s", name, "on" if value else "off")
            if listener is None:
                return
            try:
                listener(value)
            except Exception:  # a listener's bug must not kill gpiozero's event thread
                log.exception("GPIO %s listener failed", name)

        return handle

    @staticmethod
    def _read(device: Any) -> bool | None:
        if device is None:
            return None
        try:
            return bool(device.is_active)
        except Exception as exc:
            log.warning("reading a GPIO input failed: %s", exc)
            return None

    @property
    def key_switch_on(self) -> bool | None:
        """True while the maintenance key is turned; None when there is no key switch."""
        return self._read(self._key)

    @property
    def paper_low(self) -> bool | None:
        return self._read(self._paper)

    @property
    def printer_busy(self) -> bool | None:
        """True while the printer holds its busy line (its buffer is full, or it is offline)."""
        return self._read(self._busy)

    def close(self) -> None:
        with self._lock:
            devices = (self._key, self._paper, self._busy)
            self._key = self._paper = self._busy = None
            factory, self._factory = self._factory, None
        for device in devices:
            if device is not None:
                try:
                    device.close()
                except Exception as exc:
                    log.debug("closing a GPIO input: %s", exc)
        if factory is not None:
            try:
                factory.close()
            except Exception as exc:
                log.debug("closing the GPIO pin factory: %s", exc)


class GpiozeroRelay:
    """An active-high relay output; off at start. Without a pin every call is a no-op."""

    def __init__(self, pin: int | None, pin_factory: Any = None) -> None:
        self.pin = pin
        self._device = _open(
            "relay",
            pin,
            lambda: OutputDevice(pin, active_high=True, initial_value=False, pin_factory=pin_factory),
        )

    @property
    def available(self) -> bool:
        return self._device is not None

    @property
    def is_on(self) -> bool | None:
        return None if self._device is None else bool(self._device.value)

    def set(self, on: bool) -> None:
        if self._device is None:
            return
        try:
            self._device.on() if on else self._device.off()
        except Exception as exc:  # a pin that broke later degrades like one that never opened
            log.warning("relay on GPIO%s failed: %s; the kiosk runs without it", self.pin, exc)
            self._device = None

    def close(self) -> None:
        device, self._device = self._device, None
        if device is not None:
            try:
                device.close()
            except Exception as exc:
                log.debug("closing the relay: %s", exc)


def open_inputs(pins: GpioPins, pin_factory: Any = None) -> GpiozeroInputs | None:
    """The inputs ``pins`` name (None when GPIO is off); never raises for missing hardware.

    ``pin_factory``: share one factory with the indicators; by default one is made from
    ``pins.pin_factory`` and closed with the inputs.
    """
    if not pins.enabled:
        return None
    close_factory = False
    if pin_factory is None:
        try:
            pin_factory = make_pin_factory(pins.pin_factory)
        except Exception as exc:
            log.warning(
                "GPIO pin factory %r unavailable: %s; the kiosk runs without the key switch and sensors",
                pins.pin_factory,
                exc,
            )
            return None
        close_factory = pin_factory is not None
    return GpiozeroInputs(
        pins.maintenance_key,
        pins.paper_low_sensor,
        pins.printer_busy,
        pin_factory=pin_factory,
        close_factory=close_factory,
    )
