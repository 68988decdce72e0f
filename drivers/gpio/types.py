"""What the GPIO drivers take in: the light to show, and which pins do what.

A driver imports nothing from ``kiosk`` or ``hq``: ``kiosk.bootstrap`` turns the ``[gpio]`` settings
into a ``GpioPins``, and ``kiosk.ports`` re-exports ``Light`` so the app keeps its one vocabulary.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

#: the gpiozero pin factories a kiosk may name ("" lets gpiozero choose: lgpio on a Pi)
PIN_FACTORIES = ("", "mock", "lgpio", "rpigpio", "pigpio", "native")


class Light(enum.StrEnum):
    READY = "ready"
    BUSY = "busy"
    FAULT = "fault"
    OFF = "off"


@dataclass(frozen=True, slots=True)
class GpioPins:
    """Which BCM pin does what; ``None`` leaves that feature out. ``enabled = False`` means no GPIO at all.

    Checked here as well as in the settings, because a driver may be opened by a tool or a test that
    never read a settings file.
    """

    enabled: bool = True
    pin_factory: str = ""
    status_led: int | None = None
    buzzer: int | None = None
    maintenance_key: int | None = None
    paper_low_sensor: int | None = None
    printer_busy: int | None = None
    relay: int | None = None

    def __post_init__(self) -> None:
        if self.pin_factory not in PIN_FACTORIES:
            allowed = ", ".join(repr(f) for f in PIN_FACTORIES)
            raise ValueError(f"GPIO pin factory {self.pin_factory!r} is not known; use one of {allowed}")
        for name in ("status_led", "buzzer", "maintenance_key", "paper_low_sensor", "printer_busy", "relay"):
            pin = getattr(self, name)
            if pin is not None and (isinstance(pin, bool) or not isinstance(pin, int) or pin < 0):
                raise ValueError(f"GPIO {name} = {pin!r} is not a pin number; give a BCM number such as 17")
