"""The update agent's decisions, with no I/O: ``transition(state, event) -> (state, effects)``.

The agent (``ota.agent``) feeds in what happened (HQ's assignment, a download's result, the kiosk's
answer to HOLD, the health file or its deadline) and runs the effects this returns, in order. Keeping
every rule here means each one is a table-driven unit test:

- never install a version older than, or equal to, the running one; the one exception is HQ's
  abort, which assigns exactly the release in ``previous``: the agent switches back to that slot
  without downloading anything;
- a bundle whose ``min_store_schema`` is below the kiosk store's schema is refused (it would not
  know the store it has to open);
- a release that failed its health check on this kiosk is not tried again; a newer one is.

Phases (reported to HQ by the same names, docs/ota.md): idle -> downloading -> downloaded ->
installed -> waiting_idle -> switched -> healthy | failed -> rolled_back.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from packaging.version import InvalidVersion, Version


class Phase(enum.StrEnum):
    IDLE = "idle"
    DOWNLOADING = "downloading"
    DOWNLOADED = "downloaded"
    INSTALLED = "installed"
    WAITING_IDLE = "waiting_idle"
    SWITCHED = "switched"
    HEALTHY = "healthy"
    FAILED = "failed"
    ROLLED_BACK = "rolled_back"


#: phases in which the agent waits for HQ to assign something new
RESTING = frozenset({Phase.IDLE, Phase.HEALTHY, Phase.ROLLED_BACK, Phase.FAILED})


@dataclass(frozen=True, slots=True)
class AgentState:
    phase: Phase = Phase.IDLE
    #: the release ``current`` names, and the one ``previous`` names
    running: str | None = None
    previous: str | None = None
    #: the release being brought in (or switched back to, when ``abort``)
    target: str | None = None
    target_name: str | None = None
    #: switching back to ``previous`` on HQ's abort: nothing to download or install
    abort: bool = False
    #: releases that failed their health check here: never tried again
    failed: tuple[str, ...] = ()
    detail: str = ""


# --- events: what happened ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Started:
    """The agent started: what the slots say now, and whether ``target`` has its health file."""

    running: str | None
    previous: str | None
    target_healthy: bool = False


@dataclass(frozen=True, slots=True)
class Assigned:
    """HQ's assignment: the version this kiosk should run (None: nothing to do)."""

    version: str | None
    target_name: str | None = None


@dataclass(frozen=True, slots=True)
class Downloaded:
    version: str
    min_store_schema: int
    #: the lowest schema a release must know to use this kiosk's store (``ota.agent.store_needs``):
    #: the store's own schema, or lower when it was migrated only additively since
    store_schema: int


@dataclass(frozen=True, slots=True)
class DownloadFailed:
    detail: str


@dataclass(frozen=True, slots=True)
class Installed:
    version: str


@dataclass(frozen=True, slots=True)
class InstallFailed:
    detail: str


@dataclass(frozen=True, slots=True)
class IdleAnswered:
    """The kiosk's answer to HOLD: ``held`` (idle, and now refusing new sales) or busy."""

    held: bool


@dataclass(frozen=True, slots=True)
class SwitchFailed:
    detail: str


@dataclass(frozen=True, slots=True)
class HealthReported:
    version: str


@dataclass(frozen=True, slots=True)
class HealthTimedOut:
    detail: str


@dataclass(frozen=True, slots=True)
class RolledBack:
    running: str
    previous: str | None


Event = (
    Started
    | Assigned
    | Downloaded
    | DownloadFailed
    | Installed
    | InstallFailed
    | IdleAnswered
    | SwitchFailed
    | HealthReported
    | HealthTimedOut
    | RolledBack
)


# --- effects: what the agent does next ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Report:
    version: str
    state: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Download:
    version: str
    target_name: str


@dataclass(frozen=True, slots=True)
class Install:
    version: str


@dataclass(frozen=True, slots=True)
class AskIdle:
    """Ask the kiosk to HOLD; ``later`` waits the retry interval first."""

    later: bool = False


@dataclass(frozen=True, slots=True)
class ReleaseHold:
    pass


@dataclass(frozen=True, slots=True)
class Switch:
    version: str


@dataclass(frozen=True, slots=True)
class RestartKiosk:
    pass


@dataclass(frozen=True, slots=True)
class AwaitHealth:
    version: str


@dataclass(frozen=True, slots=True)
class Rollback:
    version: str
    detail: str


@dataclass(frozen=True, slots=True)
class Confirm:
    """The release is healthy: clear the pending switch and prune old slots."""

    version: str


Effect = (
    Report
    | Download
    | Install
    | AskIdle
    | ReleaseHold
    | Switch
    | RestartKiosk
    | AwaitHealth
    | Rollback
    | Confirm
)
Step = tuple[AgentState, tuple[Effect, ...]]


def newer(a: str, b: str | None) -> bool:
    """Is release ``a`` newer than ``b`` (anything is newer than nothing)?"""
    if b is None:
        return True
    try:
        return Version(a) > Version(b)
    except InvalidVersion:
        return False


def _same(a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return a is b
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b


def transition(state: AgentState, event: Event) -> Step:
    """One step of the agent. An event that does not fit the phase changes nothing.

    The agent runs the effects in order; an effect that has a result (a download, an install, the
    kiosk's answer, a failed switch, the health wait, a rollback) is fed back as the next event and
    ends its batch, so such effects come last, or (``Switch``) report only failure.
    """
    if isinstance(event, Started):
        return _started(state, event)
    if isinstance(event, Assigned):
        return _assigned(state, event)
    phase = state.phase
    target = state.target or ""
    if isinstance(event, Downloaded) and phase is Phase.DOWNLOADING and event.version == target:
        if event.min_store_schema < event.store_schema:
            detail = (
                f"release {target} knows store schema {event.min_store_schema}, "
                f"this kiosk's store needs a release that knows schema {event.store_schema} or later: "
                "not installed"
            )
            return _rest(state, Phase.IDLE, detail, failed=True), (Report(target, "failed", detail),)
        return replace(state, phase=Phase.DOWNLOADED, detail=""), (
            Report(target, "downloaded"),
            Install(target),
        )
    if isinstance(event, DownloadFailed) and phase is Phase.DOWNLOADING:
        return _rest(state, Phase.IDLE, event.detail), (Report(target, "failed", event.detail),)
    if isinstance(event, Installed) and phase is Phase.DOWNLOADED and event.version == target:
        return replace(state, phase=Phase.INSTALLED), (Report(target, "installed"), AskIdle())
    if isinstance(event, InstallFailed) and phase is Phase.DOWNLOADED:
        return _rest(state, Phase.IDLE, event.detail), (Report(target, "failed", event.detail),)
    if isinstance(event, IdleAnswered) and phase in (Phase.INSTALLED, Phase.WAITING_IDLE):
        if event.held:
            switched = replace(state, phase=Phase.SWITCHED, previous=state.running, running=target, detail="")
            return switched, (Switch(target), Report(target, "switched"), RestartKiosk(), AwaitHealth(target))
        if phase is Phase.INSTALLED:
            return replace(state, phase=Phase.WAITING_IDLE), (
                Report(target, "waiting_idle"),
                AskIdle(later=True),
            )
        return state, (AskIdle(later=True),)
    if isinstance(event, SwitchFailed) and phase is Phase.SWITCHED:
        back = replace(state, running=state.previous, previous=None)
        return _rest(back, Phase.IDLE, event.detail), (ReleaseHold(), Report(target, "failed", event.detail))
    if isinstance(event, HealthReported) and phase is Phase.SWITCHED and event.version == target:
        healthy = replace(state, phase=Phase.HEALTHY, target=None, target_name=None, abort=False, detail="")
        return healthy, (Confirm(target), Report(target, "healthy"))
    if isinstance(event, HealthTimedOut) and phase is Phase.SWITCHED:
        failed = replace(state, phase=Phase.FAILED, detail=event.detail, failed=_add(state.failed, target))
        return failed, (Report(target, "failed", event.detail), Rollback(target, event.detail))
    if isinstance(event, RolledBack) and phase is Phase.FAILED:
        back = replace(state, phase=Phase.ROLLED_BACK, running=event.running, previous=event.previous)
        return back, (RestartKiosk(), Report(target, "rolled_back", state.detail))
    return state, ()


def _started(state: AgentState, event: Started) -> Step:
    """Pick up where the agent stopped: a step cut short is done again from HQ's next assignment;
    a switch is followed to its end (the boot check may already have rolled it back)."""
    s = replace(state, running=event.running, previous=event.previous)
    target = s.target or ""
    if s.phase in (Phase.DOWNLOADING, Phase.DOWNLOADED, Phase.INSTALLED, Phase.WAITING_IDLE):
        # a hold the agent asked for before it stopped is given back: the next poll asks again
        return _rest(s, Phase.IDLE, "the agent restarted; the update starts again"), (ReleaseHold(),)
    if s.phase is Phase.SWITCHED:
        if _same(event.running, target):
            if event.target_healthy:
                return transition(s, HealthReported(target))
            return s, (RestartKiosk(), AwaitHealth(target))
        detail = f"release {target} was rolled back by the boot check"
        back = replace(s, phase=Phase.ROLLED_BACK, detail=detail, failed=_add(s.failed, target))
        return back, (Report(target, "rolled_back", detail),)
    if s.phase is Phase.FAILED:
        if _same(event.running, target):
            return s, (Rollback(target, s.detail),)
        back = replace(s, phase=Phase.ROLLED_BACK)
        return back, (Report(target, "rolled_back", s.detail),)
    return s, ()


def _assigned(state: AgentState, event: Assigned) -> Step:
    version = event.version
    if state.phase not in RESTING and state.phase is not Phase.WAITING_IDLE:
        return state, ()  # busy with a step; the agent asks HQ again when it is done
    if state.phase is Phase.WAITING_IDLE:
        if version is None or _same(version, state.target):
            return state, ()
        # HQ changed its mind while the kiosk was busy: give the hold back and decide afresh
        fresh = _rest(state, Phase.IDLE, "")
        step_state, effects = _assigned(fresh, event)
        return step_state, (ReleaseHold(), *effects)
    if version is None or _same(version, state.running):
        return state, ()
    if _same(version, state.previous) and not newer(version, state.running):
        # HQ's abort: back to the slot that is still installed, no download
        back = replace(
            state, phase=Phase.INSTALLED, target=state.previous, target_name=event.target_name, abort=True
        )
        return back, (Report(version, "installed", "switching back to the previous release"), AskIdle())
    if not newer(version, state.running):
        detail = f"HQ assigned {version}, not newer than the running {state.running}: ignored"
        return replace(state, detail=detail), ()
    if any(_same(version, f) for f in state.failed):
        detail = f"release {version} failed on this kiosk before: waiting for a newer one"
        return replace(state, detail=detail), ()
    if not event.target_name:
        return replace(state, detail=f"HQ assigned {version} without a target name: ignored"), ()
    going = replace(
        state, phase=Phase.DOWNLOADING, target=version, target_name=event.target_name, abort=False, detail=""
    )
    return going, (Report(version, "downloading"), Download(version, event.target_name))


def _rest(state: AgentState, phase: Phase, detail: str, *, failed: bool = False) -> AgentState:
    """Back to waiting for HQ, forgetting the target (a failed one is remembered in ``failed``)."""
    gone = state.failed if not failed or state.target is None else _add(state.failed, state.target)
    return replace(state, phase=phase, target=None, target_name=None, abort=False, detail=detail, failed=gone)


def _add(versions: tuple[str, ...], version: str) -> tuple[str, ...]:
    return versions if version in versions else (*versions, version)
