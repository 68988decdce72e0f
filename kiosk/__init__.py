"""The self-checkout kiosk: pure checkout logic in ``core``, adapters around it, wiring in ``bootstrap``."""

__version__ = "0.1.0"
