"""The OTA agent waits for what it needs (its trusted TUF root, the kiosk's enrolment) in one process
instead of exiting for systemd to start it again: ``ota.cli.edges_when_set_up``."""

from __future__ import annotations

from typing import cast

from ota.cli import SETUP_RETRY_S, Edges, edges_when_set_up
from ota.edges import EdgeError

READY = cast(Edges, object())


def test_it_looks_again_until_the_kiosk_is_set_up_and_says_each_reason_once() -> None:
    reasons = iter(["not enrolled", "not enrolled", "no trusted TUF root", None])
    waits: list[float] = []
    said: list[str] = []

    def build() -> Edges:
        reason = next(reasons)
        if reason is not None:
            raise EdgeError(reason)
        return READY

    def wait(seconds: float) -> bool:
        waits.append(seconds)
        return False

    assert edges_when_set_up(build, wait, said.append) is READY
    assert waits == [SETUP_RETRY_S] * 3
    assert [text.split(" (", 1)[0] for text in said] == ["not enrolled", "no trusted TUF root"]
    assert all(
        text.endswith(f"(the agent waits: it looks again every {SETUP_RETRY_S:.0f} s)") for text in said
    )


def test_a_stop_while_waiting_ends_it_without_edges() -> None:
    def build() -> Edges:
        raise EdgeError("not enrolled")

    stops = iter([False, True])
    assert edges_when_set_up(build, lambda _s: next(stops), lambda _t: None) is None
