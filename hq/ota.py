"""Staged rollouts, the pure part: which kiosk is in which stage, and when a stage may end.

Nothing here reads a database or a clock; ``hq.rollouts`` feeds it rows and the time, so every rule
can be tested on its own (tests/unit/test_hq_ota.py) and the same rule serves the kiosk API, the
admin API and the ``ota`` command.

Rules (docs/ota.md, "Staged rollouts at HQ"):

- A kiosk's *bucket* is 0-99, from SHA-256 of the rollout id and the kiosk id. It never changes for
  one rollout, and a new rollout draws the fleet again, so the same kiosks are not always first.
- Stages are cumulative percentages, e.g. ``[1, 10, 50, 100]``: stage ``k`` covers every kiosk whose
  bucket is below ``stages[k]``. While stage ``k`` runs, those kiosks are told to run the release.
- The failure rate of a stage is (failed + rolled back) / (kiosks of the stage that reported a
  final state: healthy, failed or rolled back). It is judged only once ``MIN_SAMPLE`` kiosks (or
  every kiosk of a smaller stage) reported a final state: one early failure in a stage of forty
  does not stop a rollout, but it stops one of two.
- A stage ends when every kiosk in it reported a final state, or when its deadline passed with
  enough reports to judge; either way only with the rate at or under the threshold. A rate over the
  threshold pauses the rollout, as does a deadline that passes with too few reports; the reason is
  kept and shown.
- Abort: every kiosk is told to run the previous release again.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from kiosk_common import ota_states

#: what the agent reports, in the order an update goes through them (docs/ota.md)
REPORT_STATES = ota_states.REPORT_STATES
ReportState = Literal[
    "downloading", "downloaded", "installed", "waiting_idle", "switched", "healthy", "failed", "rolled_back"
]
#: states after which nothing more happens to that release on that kiosk
FINAL_STATES = frozenset(("healthy", "failed", "rolled_back"))
#: final states that count against the release
FAILED_STATES = frozenset(("failed", "rolled_back"))
#: final reports needed before a stage's failure rate is judged (fewer in a stage that has fewer kiosks)
MIN_SAMPLE = 3
#: how long a stage waits for its last kiosks (switched off, offline) before it is judged on what came
DEFAULT_STAGE_DEADLINE = timedelta(hours=24)
BUCKETS = 100
#: a release version: PEP 440 as written by people (digits, letters, '.', '+', '-', '!')
VERSION_RE = re.compile(r"^[0-9][0-9A-Za-z.+!-]{0,63}$")
#: a channel name: letters, digits, '.', '_' or '-'
CHANNEL_RE = re.compile(r"^[A-Za-z0-9._-]{1,32}$")
#: longest ``detail`` a report may carry
MAX_DETAIL_CHARS = 500


class RolloutState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    ABORTED = "aborted"
    DONE = "done"


class StagesError(ValueError):
    """Stages that cannot describe a rollout; the message says what to write instead."""


def parse_stages(text: str | Sequence[int]) -> tuple[int, ...]:
    """``"1,10,50,100"`` (or a list) as checked stages: 1-100, strictly rising, ending at 100."""
    if isinstance(text, str):
        parts = [p.strip() for p in text.split(",")]
        if not all(p.isascii() and p.isdigit() for p in parts):
            raise StagesError(f"stages {text!r} are not whole numbers separated by commas, e.g. 1,10,50,100")
        values = tuple(int(p) for p in parts)
    else:
        values = tuple(text)
    if not values or len(values) > BUCKETS:
        raise StagesError("give 1 to 100 stages, e.g. 1,10,50,100")
    if any(not 1 <= v <= BUCKETS for v in values):
        raise StagesError(f"every stage is a percentage of the fleet from 1 to 100; got {list(values)}")
    if any(b <= a for a, b in itertools.pairwise(values)):
        raise StagesError(f"stages must rise, each larger than the one before; got {list(values)}")
    if values[-1] != BUCKETS:
        raise StagesError(f"the last stage must be 100 (the whole fleet); got {list(values)}")
    return values


def check_failure_rate(rate: float) -> float:
    """A threshold from 0 to 1 (0.05 = 5 %); raises ValueError with the fix otherwise."""
    if not 0.0 <= rate <= 1.0 or rate != rate:
        raise ValueError(f"the failure rate is a fraction from 0 to 1 (0.05 for 5 %), not {rate}")
    return rate


def bucket(kiosk_id: str, rollout_id: int) -> int:
    """The kiosk's place 0-99 in this rollout: stable for the pair, spread evenly over kiosks."""
    digest = hashlib.sha256(f"kiosk-ota-rollout:{rollout_id}:{kiosk_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def stage_of(bucket_: int, stages: Sequence[int]) -> int:
    """The first stage that covers the bucket (every bucket is in the last stage, 100)."""
    for index, limit in enumerate(stages):
        if bucket_ < limit:
            return index
    raise ValueError(f"bucket {bucket_} is outside 0-99 or the stages {list(stages)} do not end at 100")


def in_stage(kiosk_id: str, rollout_id: int, stages: Sequence[int], stage: int) -> bool:
    """Whether the kiosk is among those stage ``stage`` (and so every later stage) covers."""
    return bucket(kiosk_id, rollout_id) < stages[stage]


def members(kiosk_ids: Iterable[str], rollout_id: int, stages: Sequence[int], stage: int) -> list[str]:
    return sorted(k for k in kiosk_ids if in_stage(k, rollout_id, stages, stage))


@dataclass(frozen=True, slots=True)
class StageProgress:
    """How the kiosks of one (cumulative) stage stand with the release."""

    stage: int
    percent: int
    kiosks: int
    healthy: int
    failed: int

    @property
    def reported(self) -> int:
        return self.healthy + self.failed

    @property
    def pending(self) -> int:
        return self.kiosks - self.reported

    @property
    def sample_needed(self) -> int:
        return min(MIN_SAMPLE, self.kiosks)

    @property
    def judged(self) -> bool:
        """Enough final reports to take the failure rate seriously."""
        return self.reported >= self.sample_needed

    @property
    def failure_rate(self) -> float | None:
        """Failed or rolled back over reported a final state; None before anything final came."""
        return None if self.reported == 0 else self.failed / self.reported


def progress(
    stage: int,
    stages: Sequence[int],
    rollout_id: int,
    kiosk_ids: Iterable[str],
    outcomes: Mapping[str, str],
) -> StageProgress:
    """Count the kiosks of ``stage`` and their final outcomes (``outcomes``: kiosk id -> final state
    for this rollout's release; other kiosks and other states are not counted)."""
    inside = members(kiosk_ids, rollout_id, stages, stage)
    healthy = sum(1 for k in inside if outcomes.get(k) == "healthy")
    failed = sum(1 for k in inside if outcomes.get(k) in FAILED_STATES)
    return StageProgress(stage, stages[stage], len(inside), healthy, failed)


class Action(StrEnum):
    WAIT = "wait"
    ADVANCE = "advance"
    DONE = "done"
    PAUSE = "pause"


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    #: why, in English, for the pause reason, logs and the audit trail
    reason: str


def _percent(rate: float) -> str:
    return f"{rate * 100:.1f} %"


def decide(
    now_progress: StageProgress,
    last_stage: bool,
    max_failure_rate: float,
    stage_started_at: datetime,
    now: datetime,
    deadline: timedelta = DEFAULT_STAGE_DEADLINE,
) -> Decision:
    """What a running rollout does next, from its current stage's progress.

    Pause when the judged failure rate is over the threshold; advance (or finish, after the last
    stage) when every kiosk reported a final state, or the deadline passed with enough reports, at
    or under the threshold; pause when the deadline passed with too few; otherwise wait.
    """
    p = now_progress
    rate = p.failure_rate
    if p.judged and rate is not None and rate > max_failure_rate:
        return Decision(
            Action.PAUSE,
            f"stage {p.stage + 1} ({p.percent} %): {p.failed} of {p.reported} kiosks failed or rolled "
            f"back ({_percent(rate)}), over the limit of {_percent(max_failure_rate)}",
        )
    step = Action.DONE if last_stage else Action.ADVANCE
    shown_rate = _percent(rate) if rate is not None else "none reported"
    if p.pending == 0:
        return Decision(
            step,
            f"stage {p.stage + 1} ({p.percent} %): all {p.kiosks} kiosks reported, failure rate {shown_rate}",
        )
    if now - stage_started_at >= deadline:
        if p.judged:
            return Decision(
                step,
                f"stage {p.stage + 1} ({p.percent} %): deadline passed with {p.reported} of {p.kiosks} "
                f"kiosks reported, failure rate {shown_rate}",
            )
        return Decision(
            Action.PAUSE,
            f"stage {p.stage + 1} ({p.percent} %): only {p.reported} of {p.kiosks} kiosks reported a final "
            f"state within {deadline}; at least {p.sample_needed} are needed to judge the release",
        )
    return Decision(Action.WAIT, f"stage {p.stage + 1}: waiting for {p.pending} of {p.kiosks} kiosks")


@dataclass(frozen=True, slots=True)
class Target:
    """A release a kiosk is told to run."""

    version: str
    target: str
    channel: str


def assigned(
    kiosk_id: str,
    rollout_id: int,
    state: RolloutState,
    stages: Sequence[int],
    current_stage: int,
    release: Target,
    previous: Target | None,
) -> Target | None:
    """What this kiosk should run under this rollout: the release once its stage has started (and the
    rollout was not aborted), else the previous release (None: HQ has nothing to say)."""
    if state is RolloutState.ABORTED:
        return previous
    if state is RolloutState.DONE or in_stage(kiosk_id, rollout_id, stages, current_stage):
        return release
    return previous


class ReportIn(BaseModel):
    """The agent's state for one release: the body of ``POST /api/v1/ota/report`` and the heartbeat's
    optional ``ota`` field (docs/ota.md). ``detail`` is one short line or a few (no other control
    characters), for a failure's reason."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    version: StrictStr = Field(pattern=VERSION_RE.pattern, description="the release the state is about")
    state: ReportState
    detail: StrictStr = Field(
        "",
        max_length=MAX_DETAIL_CHARS,
        pattern=r"^[^\x00-\x08\x0b-\x1f\x7f]*$",
        description="why, for a failure (at most 500 characters)",
    )
