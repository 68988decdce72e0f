"""Logging set-up: one handler on the root logger, with payment codes masked in every record."""

from __future__ import annotations

import logging

from kiosk_common.masking import MaskingFilter


def setup_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(MaskingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
