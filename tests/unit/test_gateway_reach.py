"""The gateway watch hands every probe's answer on, and a probe that breaks counts as "no answer"
instead of stopping the watch (kiosk.payments.reach)."""

from __future__ import annotations

import pytest

from kiosk.payments.reach import GatewayWatch, HttpGatewayProbe


class Answers:
    """A probe at the network edge that answers from a list; ``None`` makes it raise."""

    def __init__(self, *answers: bool | None) -> None:
        self.answers = list(answers)

    def reachable(self) -> bool:
        answer = self.answers.pop(0)
        if answer is None:
            raise RuntimeError("the probe's own bug")
        return answer


def test_each_answer_is_handed_on_and_a_broken_probe_counts_as_no_answer() -> None:
    seen: list[bool] = []
    watch = GatewayWatch(Answers(True, None, False, True), seen.append, interval_s=30.0)
    assert [watch.probe_once() for _ in range(4)] == [True, False, False, True]
    assert seen == [True, False, False, True]


def test_a_listener_that_breaks_does_not_stop_the_watch() -> None:
    def broken(ok: bool) -> None:
        raise RuntimeError("listener bug")

    watch = GatewayWatch(Answers(True, False), broken, interval_s=30.0)
    assert watch.probe_once() is True
    assert watch.probe_once() is False


def test_a_closed_port_on_loopback_is_unreachable() -> None:
    # port 9 (discard) is not served in the test environment: the connection is refused at once
    assert HttpGatewayProbe(["http://127.0.0.1:9"], timeout_s=1.0).reachable() is False


def test_the_watch_and_the_probe_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="at least one"):
        HttpGatewayProbe([])
    with pytest.raises(ValueError, match="interval_s"):
        GatewayWatch(Answers(), lambda ok: None, interval_s=0)
