"""Logging set-up: one handler on the root logger, with payment codes masked in every record."""

from __future__ import annotations

import logging

from kiosk_common.masking import MaskingFilter


def setup_logging(level: str = "INFO") -> None:
    """Log to stderr (the journal) at ``level``, payment codes masked.

    peewee stays at INFO whatever ``level`` says: at DEBUG it logs every query with its
    parameters, and the store's queries carry staff PIN hashes and the kiosk's HQ secret.
    """
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(MaskingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("peewee").setLevel(logging.INFO)
