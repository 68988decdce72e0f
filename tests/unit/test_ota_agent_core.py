"""Every transition of the update agent's state machine (ota.agent_core), as a table."""

from __future__ import annotations

import pytest

from ota.agent_core import (
    AgentState,
    AskIdle,
    Assigned,
    AwaitHealth,
    Confirm,
    Download,
    Downloaded,
    DownloadFailed,
    HealthReported,
    HealthTimedOut,
    IdleAnswered,
    Install,
    Installed,
    InstallFailed,
    Phase,
    ReleaseHold,
    Report,
    RestartKiosk,
    Rollback,
    RolledBack,
    Started,
    Switch,
    SwitchFailed,
    newer,
    transition,
)

RUNNING = AgentState(Phase.HEALTHY, running="1.0.0", previous="0.9.0")
DOWNLOADING = AgentState(
    Phase.DOWNLOADING, running="1.0.0", previous="0.9.0", target="1.1.0", target_name="kiosk-1.1.0.tar"
)
DOWNLOADED = AgentState(
    Phase.DOWNLOADED, running="1.0.0", previous="0.9.0", target="1.1.0", target_name="kiosk-1.1.0.tar"
)
INSTALLED = AgentState(
    Phase.INSTALLED, running="1.0.0", previous="0.9.0", target="1.1.0", target_name="kiosk-1.1.0.tar"
)
WAITING = AgentState(
    Phase.WAITING_IDLE, running="1.0.0", previous="0.9.0", target="1.1.0", target_name="kiosk-1.1.0.tar"
)
SWITCHED = AgentState(
    Phase.SWITCHED, running="1.1.0", previous="1.0.0", target="1.1.0", target_name="kiosk-1.1.0.tar"
)
FAILED = AgentState(
    Phase.FAILED, running="1.1.0", previous="1.0.0", target="1.1.0", failed=("1.1.0",), detail="no health"
)

CASES = [
    # (name, state, event, phase after, effects)
    (
        "new release",
        RUNNING,
        Assigned("1.1.0", "kiosk-1.1.0.tar"),
        Phase.DOWNLOADING,
        (Report("1.1.0", "downloading"), Download("1.1.0", "kiosk-1.1.0.tar")),
    ),
    (
        "first release on a bare kiosk",
        AgentState(),
        Assigned("1.0.0", "kiosk-1.0.0.tar"),
        Phase.DOWNLOADING,
        (Report("1.0.0", "downloading"), Download("1.0.0", "kiosk-1.0.0.tar")),
    ),
    ("nothing assigned", RUNNING, Assigned(None), Phase.HEALTHY, ()),
    ("the running release", RUNNING, Assigned("1.0.0", "kiosk-1.0.0.tar"), Phase.HEALTHY, ()),
    ("older, not previous", RUNNING, Assigned("0.8.0", "kiosk-0.8.0.tar"), Phase.HEALTHY, ()),
    (
        "HQ's abort: back to previous",
        RUNNING,
        Assigned("0.9.0", "kiosk-0.9.0.tar"),
        Phase.INSTALLED,
        (Report("0.9.0", "installed", "switching back to the previous release"), AskIdle()),
    ),
    (
        "a release that failed here",
        RUNNING.__class__(Phase.ROLLED_BACK, running="1.0.0", failed=("1.1.0",)),
        Assigned("1.1.0", "kiosk-1.1.0.tar"),
        Phase.ROLLED_BACK,
        (),
    ),
    (
        "newer than the failed one",
        RUNNING.__class__(Phase.ROLLED_BACK, running="1.0.0", failed=("1.1.0",)),
        Assigned("1.2.0", "kiosk-1.2.0.tar"),
        Phase.DOWNLOADING,
        (Report("1.2.0", "downloading"), Download("1.2.0", "kiosk-1.2.0.tar")),
    ),
    ("no target name", RUNNING, Assigned("1.1.0", None), Phase.HEALTHY, ()),
    ("busy downloading: ignored", DOWNLOADING, Assigned("1.2.0", "kiosk-1.2.0.tar"), Phase.DOWNLOADING, ()),
    ("waiting, same assignment", WAITING, Assigned("1.1.0", "kiosk-1.1.0.tar"), Phase.WAITING_IDLE, ()),
    (
        "waiting, HQ moved on",
        WAITING,
        Assigned("1.2.0", "kiosk-1.2.0.tar"),
        Phase.DOWNLOADING,
        (ReleaseHold(), Report("1.2.0", "downloading"), Download("1.2.0", "kiosk-1.2.0.tar")),
    ),
    (
        "downloaded",
        DOWNLOADING,
        Downloaded("1.1.0", 6, 6),
        Phase.DOWNLOADED,
        (Report("1.1.0", "downloaded"), Install("1.1.0")),
    ),
    (
        "store newer than the release knows",
        DOWNLOADING,
        Downloaded("1.1.0", 5, 6),
        Phase.IDLE,
        (
            Report(
                "1.1.0",
                "failed",
                "release 1.1.0 knows store schema 5, this kiosk's store needs a release that knows schema 6 "
                "or later: not installed",
            ),
        ),
    ),
    (
        "download failed",
        DOWNLOADING,
        DownloadFailed("tampered"),
        Phase.IDLE,
        (Report("1.1.0", "failed", "tampered"),),
    ),
    ("installed", DOWNLOADED, Installed("1.1.0"), Phase.INSTALLED, (Report("1.1.0", "installed"), AskIdle())),
    ("install failed", DOWNLOADED, InstallFailed("pip"), Phase.IDLE, (Report("1.1.0", "failed", "pip"),)),
    (
        "kiosk busy",
        INSTALLED,
        IdleAnswered(held=False),
        Phase.WAITING_IDLE,
        (Report("1.1.0", "waiting_idle"), AskIdle(later=True)),
    ),
    ("still busy", WAITING, IdleAnswered(held=False), Phase.WAITING_IDLE, (AskIdle(later=True),)),
    (
        "held at once",
        INSTALLED,
        IdleAnswered(held=True),
        Phase.SWITCHED,
        (Switch("1.1.0"), Report("1.1.0", "switched"), RestartKiosk(), AwaitHealth("1.1.0")),
    ),
    (
        "held after waiting",
        WAITING,
        IdleAnswered(held=True),
        Phase.SWITCHED,
        (Switch("1.1.0"), Report("1.1.0", "switched"), RestartKiosk(), AwaitHealth("1.1.0")),
    ),
    (
        "switch failed",
        SWITCHED,
        SwitchFailed("disk"),
        Phase.IDLE,
        (ReleaseHold(), Report("1.1.0", "failed", "disk")),
    ),
    (
        "healthy",
        SWITCHED,
        HealthReported("1.1.0"),
        Phase.HEALTHY,
        (Confirm("1.1.0"), Report("1.1.0", "healthy")),
    ),
    (
        "no health in time",
        SWITCHED,
        HealthTimedOut("late"),
        Phase.FAILED,
        (Report("1.1.0", "failed", "late"), Rollback("1.1.0", "late")),
    ),
    (
        "rolled back",
        FAILED,
        RolledBack("1.0.0", "0.9.0"),
        Phase.ROLLED_BACK,
        (RestartKiosk(), Report("1.1.0", "rolled_back", "no health")),
    ),
    # restarts of the agent
    ("restart mid-download", DOWNLOADING, Started("1.0.0", "0.9.0"), Phase.IDLE, (ReleaseHold(),)),
    ("restart while waiting", WAITING, Started("1.0.0", "0.9.0"), Phase.IDLE, (ReleaseHold(),)),
    (
        "restart after switch, not yet healthy",
        SWITCHED,
        Started("1.1.0", "1.0.0"),
        Phase.SWITCHED,
        (RestartKiosk(), AwaitHealth("1.1.0")),
    ),
    (
        "restart after switch, healthy",
        SWITCHED,
        Started("1.1.0", "1.0.0", target_healthy=True),
        Phase.HEALTHY,
        (Confirm("1.1.0"), Report("1.1.0", "healthy")),
    ),
    (
        "restart: the boot check rolled back",
        SWITCHED,
        Started("1.0.0", "0.9.0"),
        Phase.ROLLED_BACK,
        (Report("1.1.0", "rolled_back", "release 1.1.0 was rolled back by the boot check"),),
    ),
    (
        "restart mid-rollback",
        FAILED,
        Started("1.1.0", "1.0.0"),
        Phase.FAILED,
        (Rollback("1.1.0", "no health"),),
    ),
    (
        "restart after rollback done",
        FAILED,
        Started("1.0.0", "0.9.0"),
        Phase.ROLLED_BACK,
        (Report("1.1.0", "rolled_back", "no health"),),
    ),
    ("restart when resting", RUNNING, Started("1.0.0", "0.9.0"), Phase.HEALTHY, ()),
    # events that do not fit the phase change nothing
    ("late download result", RUNNING, Downloaded("1.1.0", 6, 6), Phase.HEALTHY, ()),
    ("another version's download", DOWNLOADING, Downloaded("1.2.0", 6, 6), Phase.DOWNLOADING, ()),
    ("stray health", RUNNING, HealthReported("1.0.0"), Phase.HEALTHY, ()),
    ("stray idle answer", RUNNING, IdleAnswered(held=True), Phase.HEALTHY, ()),
]


@pytest.mark.parametrize(
    ("state", "event", "phase", "effects"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_transition(state: AgentState, event: object, phase: Phase, effects: tuple[object, ...]) -> None:
    after, got = transition(state, event)  # type: ignore[arg-type]
    assert after.phase is phase
    assert got == effects


def test_a_release_that_fails_health_is_remembered_and_not_retried() -> None:
    state, _ = transition(SWITCHED, HealthTimedOut("late"))
    state, _ = transition(state, RolledBack("1.0.0", "0.9.0"))
    assert state.failed == ("1.1.0",) and state.running == "1.0.0"
    again, effects = transition(state, Assigned("1.1.0", "kiosk-1.1.0.tar"))
    assert effects == () and "failed on this kiosk" in again.detail


def test_the_switch_moves_running_and_previous() -> None:
    state, _ = transition(INSTALLED, IdleAnswered(held=True))
    assert (state.running, state.previous) == ("1.1.0", "1.0.0")
    healthy, _ = transition(state, HealthReported("1.1.0"))
    assert healthy.target is None and healthy.running == "1.1.0"


def test_the_abort_path_switches_to_the_previous_slot_without_a_download() -> None:
    state, _ = transition(RUNNING, Assigned("0.9.0", "kiosk-0.9.0.tar"))
    assert state.abort and state.target == "0.9.0"
    switched, effects = transition(state, IdleAnswered(held=True))
    assert effects[0] == Switch("0.9.0")
    assert not any(isinstance(e, (Download, Install)) for e in effects)
    assert (switched.running, switched.previous) == ("0.9.0", "1.0.0")


def test_a_schema_refusal_is_not_retried() -> None:
    state, _ = transition(DOWNLOADING, Downloaded("1.1.0", 5, 6))
    assert "1.1.0" in state.failed
    assert transition(state, Assigned("1.1.0", "kiosk-1.1.0.tar"))[1] == ()


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("1.1.0", "1.0.0", True),
        ("1.0.0", "1.0.0", False),
        ("1.0.0", "1.1.0", False),
        ("1.0", None, True),
        ("1.10.0", "1.9.0", True),
        ("1.0.0rc1", "1.0.0", False),
        ("nonsense", "1.0", False),
    ],
)
def test_newer(a: str, b: str | None, expected: bool) -> None:
    assert newer(a, b) is expected


def test_the_agents_phases_are_the_states_hq_and_it_screens_know() -> None:
    """HQ's report API, the heartbeat and IT's update screen read kiosk_common.ota_states."""
    from kiosk_common.ota_states import AGENT_PHASES, REPORT_STATES

    assert {p.value for p in Phase} == AGENT_PHASES
    assert set(REPORT_STATES) == AGENT_PHASES - {"idle"}
