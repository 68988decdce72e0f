"""Logging set-up with a last line of defence: long digit runs (payment codes) are masked in every record.

Code paths mask codes themselves (``kiosk.core.codes.mask``); this filter catches the one that forgot,
so a payment code never reaches a log file in full.
"""

from __future__ import annotations

import logging
import re

from kiosk.core.codes import mask

_DIGIT_RUN = re.compile(r"(?<!\d)\d{16,24}(?!\d)")


class MaskingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = _DIGIT_RUN.sub(lambda m: mask(m.group(0)), message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def setup_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(MaskingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
