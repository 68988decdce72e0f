"""The staged-rollout rules (hq.ota) on their own: buckets, stages, failure rates, the advance rule."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hq import ota
from hq.ota import Action, RolloutState, StageProgress, Target

kiosk_ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-._", min_size=1, max_size=64)
rollout_ids = st.integers(min_value=1, max_value=10**9)


@st.composite
def stage_lists(draw: st.DrawFn) -> tuple[int, ...]:
    inner = draw(st.sets(st.integers(min_value=1, max_value=99), max_size=8))
    return (*sorted(inner), 100)


@given(kiosk_ids, rollout_ids)
def test_a_bucket_is_stable_and_in_range(kiosk_id: str, rollout_id: int) -> None:
    first = ota.bucket(kiosk_id, rollout_id)
    assert 0 <= first < 100
    assert ota.bucket(kiosk_id, rollout_id) == first


@given(kiosk_ids, rollout_ids, stage_lists())
def test_once_a_kiosk_is_in_a_stage_it_stays_in_every_later_one(
    kiosk_id: str, rollout_id: int, stages: tuple[int, ...]
) -> None:
    inside = [ota.in_stage(kiosk_id, rollout_id, stages, k) for k in range(len(stages))]
    first = inside.index(True)  # the last stage (100) covers everyone
    assert all(inside[first:]) and not any(inside[:first])
    assert ota.stage_of(ota.bucket(kiosk_id, rollout_id), stages) == first


def test_buckets_spread_evenly_and_each_rollout_draws_again() -> None:
    fleet = [f"kiosk-{n:05d}" for n in range(20_000)]
    counts = Counter(ota.bucket(k, 7) for k in fleet)
    assert set(counts) == set(range(100))
    # 200 expected per bucket; 5 standard deviations (~70) either side
    assert min(counts.values()) > 130 and max(counts.values()) < 270
    first_percent = {k for k in fleet if ota.bucket(k, 7) < 1}
    assert 130 < len(first_percent) < 270
    again = {k for k in fleet if ota.bucket(k, 8) < 1}
    assert len(first_percent & again) < len(first_percent) // 4


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("1,10,50", "last stage must be 100"),
        ("10,5,100", "must rise"),
        ("0,100", "from 1 to 100"),
        ("1,,100", "whole numbers"),
        ("", "whole numbers"),
        ("1;100", "whole numbers"),
    ],
)
def test_bad_stages_are_refused_with_the_fix(text: str, why: str) -> None:
    with pytest.raises(ota.StagesError, match=why):
        ota.parse_stages(text)


def test_good_stages_parse() -> None:
    assert ota.parse_stages(" 1, 10,50 ,100") == (1, 10, 50, 100)
    assert ota.parse_stages("100") == (100,)


@pytest.mark.parametrize("rate", [-0.1, 1.5, float("nan")])
def test_a_failure_rate_outside_0_to_1_is_refused(rate: float) -> None:
    with pytest.raises(ValueError, match="fraction from 0 to 1"):
        ota.check_failure_rate(rate)


def test_progress_counts_only_the_stage_and_final_states() -> None:
    stages = (50, 100)
    fleet = [f"k{n}" for n in range(40)]
    first = ota.members(fleet, 3, stages, 0)
    outsider = next(k for k in fleet if k not in first)
    outcomes = {first[0]: "healthy", first[1]: "failed", first[2]: "rolled_back", outsider: "failed"}
    p = ota.progress(0, stages, 3, fleet, outcomes)
    assert (p.kiosks, p.healthy, p.failed, p.reported) == (len(first), 1, 2, 3)
    assert p.failure_rate == pytest.approx(2 / 3)
    whole = ota.progress(1, stages, 3, fleet, outcomes)
    assert (whole.kiosks, whole.failed) == (40, 3)


T0 = datetime(2026, 12, 1, 8, 0)


def _p(kiosks: int, healthy: int, failed: int, stage: int = 0) -> StageProgress:
    return StageProgress(stage, 10, kiosks, healthy, failed)


def test_a_stage_advances_when_every_kiosk_reported_under_the_threshold() -> None:
    d = ota.decide(_p(10, 10, 0), False, 0.1, T0, T0 + timedelta(minutes=5))
    assert d.action is Action.ADVANCE and "all 10 kiosks reported" in d.reason
    assert ota.decide(_p(10, 10, 0), True, 0.1, T0, T0).action is Action.DONE
    # exactly at the threshold still advances (over it pauses)
    assert ota.decide(_p(10, 9, 1), False, 0.1, T0, T0).action is Action.ADVANCE


def test_a_stage_waits_for_its_kiosks_until_the_deadline() -> None:
    d = ota.decide(_p(10, 6, 0), False, 0.1, T0, T0 + timedelta(hours=23))
    assert d.action is Action.WAIT and "4 of 10" in d.reason
    late = ota.decide(_p(10, 6, 0), False, 0.1, T0, T0 + ota.DEFAULT_STAGE_DEADLINE)
    assert late.action is Action.ADVANCE and "deadline passed with 6 of 10" in late.reason


def test_a_failure_rate_over_the_threshold_pauses_and_says_why() -> None:
    d = ota.decide(_p(20, 2, 2), False, 0.25, T0, T0)
    assert d.action is Action.PAUSE
    assert "2 of 4 kiosks failed or rolled back (50.0 %), over the limit of 25.0 %" in d.reason


def test_the_rate_is_judged_only_on_the_minimum_sample() -> None:
    # one failure among the first two reports of a 40-kiosk stage is not yet a verdict
    assert ota.decide(_p(40, 1, 1), False, 0.1, T0, T0).action is Action.WAIT
    assert ota.decide(_p(40, 2, 1), False, 0.1, T0, T0).action is Action.PAUSE
    # a stage of one kiosk is judged on that one
    assert ota.decide(_p(1, 0, 1), False, 0.1, T0, T0).action is Action.PAUSE


def test_a_deadline_with_too_few_reports_pauses() -> None:
    d = ota.decide(_p(10, 2, 0), False, 0.1, T0, T0 + timedelta(hours=25))
    assert d.action is Action.PAUSE and f"at least {ota.MIN_SAMPLE} are needed" in d.reason


def test_an_empty_stage_passes_at_once() -> None:
    assert ota.decide(_p(0, 0, 0), False, 0.0, T0, T0).action is Action.ADVANCE


NEW = Target("1.3.0", "kiosk-1.3.0.tar", "stable")
OLD = Target("1.2.0", "kiosk-1.2.0.tar", "stable")


def test_assignment_follows_the_stage_and_abort_sends_everyone_back() -> None:
    stages = (10, 100)
    fleet = [f"k{n}" for n in range(200)]
    early = set(ota.members(fleet, 5, stages, 0))
    running = {k: ota.assigned(k, 5, RolloutState.RUNNING, stages, 0, NEW, OLD) for k in fleet}
    assert {k for k, t in running.items() if t == NEW} == early
    assert all(t == OLD for k, t in running.items() if k not in early)
    paused = {k: ota.assigned(k, 5, RolloutState.PAUSED, stages, 0, NEW, OLD) for k in fleet}
    assert paused == running
    assert all(ota.assigned(k, 5, RolloutState.DONE, stages, 0, NEW, OLD) == NEW for k in fleet)
    assert all(ota.assigned(k, 5, RolloutState.ABORTED, stages, 1, NEW, OLD) == OLD for k in fleet)
    assert ota.assigned("k1", 5, RolloutState.ABORTED, stages, 1, NEW, None) is None
