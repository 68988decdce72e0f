"""The kiosk's log set-up: debug logging must not become a dump of the store's secrets."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from kiosk.logs import setup_logging


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root, peewee = logging.getLogger(), logging.getLogger("peewee")
    saved = (root.handlers[:], root.level, peewee.level)
    yield
    root.handlers[:], root.level = saved[0], saved[1]
    peewee.setLevel(saved[2])


def test_debug_logging_leaves_out_peewees_queries_and_their_parameters(restore_logging: None) -> None:
    setup_logging("DEBUG")
    stream = io.StringIO()
    logging.getLogger().handlers[0].setStream(stream)  # type: ignore[attr-defined]
    logging.getLogger("peewee").debug(
        ('UPDATE "staff" SET "pin_hash" = ?', ["$argon2id$v=19$m=65536$salt$hash"])
    )
    logging.getLogger("kiosk.test").debug("a debug line of our own")
    assert "pin_hash" not in stream.getvalue()
    assert "a debug line of our own" in stream.getvalue()
