"""Releases and staged rollouts at HQ: the database side of ``hq.ota``'s rules.

One rollout governs the fleet at a time: the newest one. While it runs, each kiosk in a started
stage is told to run its release and the others the release before it; once done, every kiosk runs
it; once aborted, every kiosk is told to run the previous release again. A new rollout may start
only when the newest is done or aborted.

The rollout is re-judged (``evaluate``) whenever something could change the answer: a kiosk's
report, a heartbeat that carries the agent's state, an assignment asked for (so a stage deadline
passes even when no kiosk reports), and a status read. Judging locks the rollout's row
(PostgreSQL ``FOR UPDATE``; SQLite's write lock serialises anyway), so two reports at once advance a
stage once.

Every admin change (release registered, rollout started, paused, resumed, aborted, check-now) and
every automatic pause, stage advance and finish is written to ``audit_event`` under the kiosk id
``@hq`` (which no kiosk can have), with the admin as ``actor`` (``admin:NAME`` for the admin API,
``cli:USER`` for the ``ota`` command, ``hq`` for HQ's own decisions).

Functions here run inside a connection (``hq.db.connected``) and open their own transactions.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import peewee

from hq import i18n, ota
from hq.i18n import Text
from hq.models import (
    AuditEvent,
    Device,
    OtaDeviceStatus,
    OtaOutcome,
    OtaRelease,
    OtaRollout,
    Store,
    database,
    utc_now,
    utc_text,
)
from hq.ota import Action, RolloutState, Target

log = logging.getLogger(__name__)

#: the ``kiosk_id`` of audit lines HQ writes about itself (``@`` is not allowed in a kiosk id)
HQ_AUDIT_SOURCE = "@hq"
#: the actor of HQ's own decisions (automatic pause, advance, finish)
HQ_ACTOR = "hq"
#: longest ``detail`` kept from a kiosk's report
MAX_DETAIL_CHARS = ota.MAX_DETAIL_CHARS
MAX_TARGET_CHARS = 128


class RolloutError(ValueError):
    """An admin request HQ refuses; ``text`` says why and what to do, in both languages."""

    def __init__(self, text: Text) -> None:
        super().__init__(text.en)
        self.text = text


class UnknownReleaseError(RolloutError, LookupError):
    pass


class NoRolloutError(RolloutError, LookupError):
    pass


class ReleaseExistsError(RolloutError):
    pass


class RolloutStateError(RolloutError):
    """The rollout is not in a state that allows the change (e.g. resuming an aborted one)."""


@dataclass(frozen=True, slots=True)
class ReleaseInfo:
    version: str
    channel: str
    target: str
    min_store_schema: int
    published_at: datetime
    published_by: str

    def as_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "channel": self.channel,
            "target": self.target,
            "min_store_schema": self.min_store_schema,
            "published_at": utc_text(self.published_at),
            "published_by": self.published_by,
        }


def _release_info(row: OtaRelease) -> ReleaseInfo:
    return ReleaseInfo(
        row.version, row.channel, row.target, row.min_store_schema, row.published_at, row.published_by
    )


def check_version(version: str) -> None:
    if not ota.VERSION_RE.fullmatch(version):
        raise RolloutError(i18n.OTA_BAD_VERSION.format(version=version[:70]))


def check_channel(channel: str) -> None:
    if not ota.CHANNEL_RE.fullmatch(channel):
        raise RolloutError(i18n.OTA_BAD_CHANNEL.format(channel=channel[:40]))


def _check_rate(rate: float) -> None:
    try:
        ota.check_failure_rate(rate)
    except ValueError:
        raise RolloutError(i18n.OTA_BAD_RATE.format(rate=rate)) from None


def _wrong_state(version: str, state: str, action: str, action_zh: str) -> RolloutStateError:
    return RolloutStateError(
        i18n.OTA_WRONG_STATE.format(version=version, state=str(state), action=action, action_zh=action_zh)
    )


def _audit(actor: str, action: str, detail: dict[str, Any], now: datetime) -> None:
    AuditEvent.create(
        kiosk_id=HQ_AUDIT_SOURCE,
        at=now,
        actor=actor[:64],
        action=action,
        detail=json.dumps(detail, ensure_ascii=False, sort_keys=True),
        received_at=now,
    )


def _check_release_fields(version: str, channel: str, target: str, min_store_schema: int) -> None:
    check_version(version)
    check_channel(channel)
    if not target or len(target) > MAX_TARGET_CHARS or "/" in target or not target.isprintable():
        raise RolloutError(i18n.OTA_BAD_TARGET.format(target=target[:140]))
    if not 0 <= min_store_schema <= 1_000_000:
        raise RolloutError(i18n.OTA_BAD_SCHEMA.format(schema=min_store_schema))


def register_release(
    version: str,
    channel: str,
    target: str,
    min_store_schema: int,
    by: str,
    now: datetime | None = None,
) -> ReleaseInfo:
    """Record that ``target`` (release ``version``) is published in ``channel``, so rollouts can name it.

    The TUF publish step calls this after signing; ``ota release register`` calls it for a target
    published some other way. Registering the same release again with the same target and schema
    changes nothing (so publishing can be retried); with a different one it is refused, because
    kiosks may already be running what the first registration named.
    """
    _check_release_fields(version, channel, target, min_store_schema)
    moment = now or utc_now()
    with database.atomic():
        held = OtaRelease.get_or_none(OtaRelease.version == version, OtaRelease.channel == channel)
        if held is not None:
            if (held.target, held.min_store_schema) == (target, min_store_schema):
                return _release_info(held)
            raise ReleaseExistsError(
                i18n.OTA_RELEASE_EXISTS.format(
                    version=version, channel=channel, target=held.target, schema=held.min_store_schema
                )
            )
        row = OtaRelease.create(
            version=version,
            channel=channel,
            target=target,
            min_store_schema=min_store_schema,
            published_at=moment,
            published_by=by[:64],
        )
        _audit(
            by,
            "ota.release.register",
            {"version": version, "channel": channel, "target": target, "min_store_schema": min_store_schema},
            moment,
        )
    log.info("%s registered release %s (%s) in channel %s", by, version, target, channel)
    return _release_info(row)


def list_releases() -> list[ReleaseInfo]:
    query = OtaRelease.select().order_by(OtaRelease.published_at, OtaRelease.id)
    return [_release_info(r) for r in query]


# --- rollouts -----------------------------------------------------------------------------------------


def _stages(row: OtaRollout) -> tuple[int, ...]:
    return tuple(int(s) for s in json.loads(row.stages))


def _target(release: OtaRelease | None) -> Target | None:
    return None if release is None else Target(release.version, release.target, release.channel)


def _governing(lock: bool = False) -> OtaRollout | None:
    query = OtaRollout.select().order_by(OtaRollout.id.desc()).limit(1)
    if lock and isinstance(database.obj, peewee.PostgresqlDatabase):
        query = query.for_update()
    found: OtaRollout | None = query.first()
    return found


def _find_release(version: str, channel: str | None) -> OtaRelease:
    query = OtaRelease.select().where(OtaRelease.version == version)
    if channel is not None:
        query = query.where(OtaRelease.channel == channel)
    found = list(query.order_by(OtaRelease.id))
    if not found:
        where = f" ({channel})" if channel else ""
        raise UnknownReleaseError(i18n.OTA_RELEASE_UNKNOWN.format(version=version, where=where))
    if len(found) > 1:
        channels = ", ".join(r.channel for r in found)
        raise RolloutError(i18n.OTA_RELEASE_CHANNELS.format(version=version, channels=channels))
    return found[0]


def _enrolled_kiosks() -> list[str]:
    """The kiosks a rollout counts: enrolled in a store and not revoked."""
    query = Device.select(Device.kiosk_id).where(Device.store.is_null(False), Device.revoked_at.is_null())
    return [d.kiosk_id for d in query]


def _outcomes(rollout_id: int) -> dict[str, str]:
    query = OtaOutcome.select(OtaOutcome, Device).join(Device).where(OtaOutcome.rollout == rollout_id)
    return {str(o.device.kiosk_id): str(o.state) for o in query}


@dataclass(frozen=True, slots=True)
class RolloutInfo:
    id: int
    version: str
    channel: str
    target: str
    previous_version: str | None
    stages: tuple[int, ...]
    max_failure_rate: float
    stage_deadline_s: int
    state: RolloutState
    current_stage: int
    stage_started_at: datetime
    reason: str
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str
    #: every stage's progress, cumulative (stage k counts every kiosk with a bucket below stages[k])
    progress: tuple[ota.StageProgress, ...]

    def as_json(self) -> dict[str, Any]:
        started = len(self.stages) if self.state is RolloutState.DONE else self.current_stage + 1
        return {
            "id": self.id,
            "version": self.version,
            "channel": self.channel,
            "target": self.target,
            "previous_version": self.previous_version,
            "stages": list(self.stages),
            "max_failure_rate": self.max_failure_rate,
            "stage_deadline_s": self.stage_deadline_s,
            "state": self.state.value,
            "current_stage": self.current_stage,
            "stage_started_at": utc_text(self.stage_started_at),
            "reason": self.reason,
            "created_at": utc_text(self.created_at),
            "created_by": self.created_by,
            "updated_at": utc_text(self.updated_at),
            "updated_by": self.updated_by,
            "progress": [
                {
                    "stage": p.stage,
                    "percent": p.percent,
                    "started": p.stage < started,
                    "kiosks": p.kiosks,
                    "healthy": p.healthy,
                    "failed": p.failed,
                    "pending": p.pending,
                    "failure_rate": p.failure_rate,
                }
                for p in self.progress
            ],
        }


def _rollout_info(row: OtaRollout, kiosks: list[str] | None = None) -> RolloutInfo:
    release = OtaRelease.get_by_id(row.release_id)
    previous = None if row.previous_release_id is None else OtaRelease.get_by_id(row.previous_release_id)
    stages = _stages(row)
    fleet = kiosks if kiosks is not None else _enrolled_kiosks()
    outcomes = _outcomes(row.id)
    return RolloutInfo(
        id=row.id,
        version=release.version,
        channel=release.channel,
        target=release.target,
        previous_version=None if previous is None else previous.version,
        stages=stages,
        max_failure_rate=row.max_failure_rate,
        stage_deadline_s=row.stage_deadline_s,
        state=RolloutState(row.state),
        current_stage=row.current_stage,
        stage_started_at=row.stage_started_at,
        reason=row.reason,
        created_at=row.created_at,
        created_by=row.created_by,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
        progress=tuple(ota.progress(k, stages, row.id, fleet, outcomes) for k in range(len(stages))),
    )


def start_rollout(
    version: str,
    stages: str | Iterable[int],
    max_failure_rate: float,
    by: str,
    channel: str | None = None,
    stage_deadline: timedelta = ota.DEFAULT_STAGE_DEADLINE,
    now: datetime | None = None,
) -> RolloutInfo:
    """Start rolling ``version`` out in ``stages``; stage 1 starts at once.

    The previous release (what an abort goes back to) is that of the newest rollout that finished.
    Refused while another rollout is running or paused: finish, or abort, that one first.
    """
    try:
        checked = ota.parse_stages(stages if isinstance(stages, str) else list(stages))
    except ota.StagesError as exc:
        raise RolloutError(i18n.OTA_BAD_STAGES.format(reason=str(exc))) from None
    _check_rate(max_failure_rate)
    seconds = int(stage_deadline.total_seconds())
    if not 60 <= seconds <= 90 * 86400:
        raise RolloutError(i18n.OTA_BAD_DEADLINE)
    moment = now or utc_now()
    with database.atomic():
        release = _find_release(version, channel)
        current = _governing(lock=True)
        if current is not None and current.state in (RolloutState.RUNNING, RolloutState.PAUSED):
            running = OtaRelease.get_by_id(current.release_id).version
            raise RolloutStateError(i18n.OTA_ROLLOUT_ACTIVE.format(version=running, state=current.state))
        done = (
            OtaRollout.select()
            .where(OtaRollout.state == RolloutState.DONE)
            .order_by(OtaRollout.id.desc())
            .first()
        )
        previous_id = None if done is None else done.release_id
        if previous_id == release.id:
            raise RolloutStateError(i18n.OTA_ALREADY_RUNS.format(version=version))
        row = OtaRollout.create(
            release=release.id,
            previous_release=previous_id,
            stages=json.dumps(list(checked)),
            max_failure_rate=max_failure_rate,
            stage_deadline_s=seconds,
            state=RolloutState.RUNNING,
            current_stage=0,
            stage_started_at=moment,
            created_at=moment,
            created_by=by[:64],
            updated_at=moment,
            updated_by=by[:64],
        )
        _audit(
            by,
            "ota.rollout.start",
            {
                "rollout": row.id,
                "version": release.version,
                "channel": release.channel,
                "stages": list(checked),
                "max_failure_rate": max_failure_rate,
                "stage_deadline_s": seconds,
            },
            moment,
        )
    log.warning("%s started rolling out %s in stages %s", by, version, list(checked))
    return _evaluate_and_read(moment)


def _rollout_of(version: str) -> OtaRollout:
    """The newest rollout of ``version``, locked; only the governing one may change."""
    current = _governing(lock=True)
    if current is None:
        raise NoRolloutError(i18n.OTA_NO_ROLLOUT)
    if OtaRelease.get_by_id(current.release_id).version != version:
        running = OtaRelease.get_by_id(current.release_id).version
        raise NoRolloutError(i18n.OTA_OTHER_ROLLOUT.format(current=running, version=version))
    return current


def _set_state(
    row: OtaRollout, state: RolloutState, reason: str, by: str, now: datetime, **more: Any
) -> None:
    OtaRollout.update(state=state, reason=reason, updated_at=now, updated_by=by[:64], **more).where(
        OtaRollout.id == row.id
    ).execute()


def pause_rollout(version: str, by: str, now: datetime | None = None) -> RolloutInfo:
    """Hold the rollout at its current stage: started stages keep the release, no stage starts."""
    moment = now or utc_now()
    with database.atomic():
        row = _rollout_of(version)
        if row.state != RolloutState.RUNNING:
            raise _wrong_state(version, row.state, "paused", "暂停")
        _set_state(row, RolloutState.PAUSED, f"paused by {by}", by, moment)
        _audit(by, "ota.rollout.pause", {"rollout": row.id, "version": version}, moment)
    log.warning("%s paused the rollout of %s", by, version)
    return _evaluate_and_read(moment)


def resume_rollout(
    version: str, by: str, max_failure_rate: float | None = None, now: datetime | None = None
) -> RolloutInfo:
    """Run a paused rollout again. Its current stage's clock starts over, and a new threshold may be
    given; if the stage's failures are still over the threshold it pauses again at once."""
    if max_failure_rate is not None:
        _check_rate(max_failure_rate)
    moment = now or utc_now()
    with database.atomic():
        row = _rollout_of(version)
        if row.state != RolloutState.PAUSED:
            raise _wrong_state(version, row.state, "resumed", "恢复")
        rate = row.max_failure_rate if max_failure_rate is None else max_failure_rate
        _set_state(row, RolloutState.RUNNING, "", by, moment, stage_started_at=moment, max_failure_rate=rate)
        _audit(
            by,
            "ota.rollout.resume",
            {"rollout": row.id, "version": version, "max_failure_rate": rate},
            moment,
        )
    log.warning("%s resumed the rollout of %s", by, version)
    return _evaluate_and_read(moment)


def abort_rollout(version: str, by: str, now: datetime | None = None) -> RolloutInfo:
    """Send every kiosk back to the previous release (or, with none, tell them nothing to install).
    A finished rollout may be aborted too: it is the fleet's way back."""
    moment = now or utc_now()
    with database.atomic():
        row = _rollout_of(version)
        if row.state == RolloutState.ABORTED:
            raise _wrong_state(version, row.state, "aborted again", "再次中止")
        _set_state(row, RolloutState.ABORTED, f"aborted by {by}", by, moment)
        _audit(by, "ota.rollout.abort", {"rollout": row.id, "version": version}, moment)
    log.warning("%s aborted the rollout of %s", by, version)
    return _evaluate_and_read(moment)


def check_now(
    by: str, store: str | None = None, kiosk_id: str | None = None, now: datetime | None = None
) -> int:
    """Ask kiosks (one, a store's, or all) to check for an update: each sync events answer carries a
    signed notice while the flag is set, and the next assignment answer delivers and clears it;
    returns how many. Unknown store or kiosk: RolloutError."""
    moment = now or utc_now()
    with database.atomic():
        query = Device.select(Device.id).where(Device.store.is_null(False), Device.revoked_at.is_null())
        if kiosk_id is not None:
            if Device.get_or_none(Device.kiosk_id == kiosk_id) is None:
                raise RolloutError(i18n.OTA_UNKNOWN_KIOSK.format(kiosk_id=kiosk_id[:64]))
            query = query.where(Device.kiosk_id == kiosk_id)
        if store is not None:
            found = Store.get_or_none(Store.code == store)
            if found is None:
                raise RolloutError(i18n.OTA_UNKNOWN_STORE.format(store=store[:64]))
            query = query.where(Device.store == found.id)
        ids = [d.id for d in query]
        for device_id in ids:
            _status_row(device_id)
        if ids:
            OtaDeviceStatus.update(check_now=True).where(OtaDeviceStatus.device.in_(ids)).execute()
        _audit(by, "ota.check_now", {"store": store, "kiosk_id": kiosk_id, "kiosks": len(ids)}, moment)
    return len(ids)


def check_now_pending(device_id: int) -> bool:
    """Whether an admin's check-now waits for this kiosk. Read only: the assignment answer clears it,
    so a kiosk whose sync answer (which carries the notice) was lost still gets it at its next poll."""
    row = OtaDeviceStatus.get_or_none(OtaDeviceStatus.device == device_id)
    return row is not None and bool(row.check_now)


# --- judging ------------------------------------------------------------------------------------------


def _judge(row: OtaRollout, now: datetime) -> None:
    """Advance, finish or pause a running rollout as ``hq.ota.decide`` says; stages that need no
    waiting (every kiosk reported, or no kiosk in them) are passed in one go."""
    stages = _stages(row)
    fleet = _enrolled_kiosks()
    outcomes = _outcomes(row.id)
    stage = row.current_stage
    started_at = row.stage_started_at
    deadline = timedelta(seconds=row.stage_deadline_s)
    for _ in range(len(stages)):
        p = ota.progress(stage, stages, row.id, fleet, outcomes)
        decision = ota.decide(p, stage == len(stages) - 1, row.max_failure_rate, started_at, now, deadline)
        if decision.action is Action.WAIT:
            break
        if decision.action is Action.PAUSE:
            _set_state(row, RolloutState.PAUSED, decision.reason, HQ_ACTOR, now, current_stage=stage)
            _audit(HQ_ACTOR, "ota.rollout.auto_pause", {"rollout": row.id, "reason": decision.reason}, now)
            log.warning("rollout %d paused: %s", row.id, decision.reason)
            return
        if decision.action is Action.DONE:
            _set_state(row, RolloutState.DONE, decision.reason, HQ_ACTOR, now, current_stage=stage)
            _audit(HQ_ACTOR, "ota.rollout.done", {"rollout": row.id, "reason": decision.reason}, now)
            log.warning("rollout %d done: %s", row.id, decision.reason)
            return
        stage += 1
        started_at = now
        OtaRollout.update(
            current_stage=stage, stage_started_at=now, updated_at=now, updated_by=HQ_ACTOR
        ).where(OtaRollout.id == row.id).execute()
        _audit(
            HQ_ACTOR,
            "ota.rollout.advance",
            {"rollout": row.id, "stage": stage, "percent": stages[stage], "reason": decision.reason},
            now,
        )
        log.info("rollout %d: stage %d (%d %%) starts: %s", row.id, stage + 1, stages[stage], decision.reason)


def evaluate(now: datetime | None = None) -> None:
    """Judge the governing rollout if it is running (see the module's docstring for when)."""
    moment = now or utc_now()
    with database.atomic():
        row = _governing(lock=True)
        if row is not None and row.state == RolloutState.RUNNING:
            _judge(row, moment)


def _evaluate_and_read(now: datetime) -> RolloutInfo:
    evaluate(now)
    row = _governing()
    assert row is not None
    return _rollout_info(row)


def current_rollout(now: datetime | None = None) -> RolloutInfo | None:
    """The governing rollout, judged as of ``now``; None before the first."""
    evaluate(now)
    row = _governing()
    return None if row is None else _rollout_info(row)


# --- what kiosks say and are told ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Assignment:
    version: str | None
    target: str | None
    channel: str | None
    rollout: int | None
    check_now: bool


def _status_row(device_id: int) -> OtaDeviceStatus:
    OtaDeviceStatus.insert(device=device_id).on_conflict_ignore().execute()
    row: OtaDeviceStatus = OtaDeviceStatus.get_by_id(device_id)
    return row


def assignment(device_id: int, kiosk_id: str, now: datetime | None = None) -> Assignment:
    """What the kiosk should run now, and whether an admin asked it to check at once. The check-now
    flag is cleared in the same transaction, so it is delivered once."""
    moment = now or utc_now()
    evaluate(moment)
    with database.atomic():
        row = _governing()
        target: Target | None = None
        rollout_id = None
        if row is not None:
            rollout_id = row.id
            release = _target(OtaRelease.get_by_id(row.release_id))
            assert release is not None
            previous = (
                None
                if row.previous_release_id is None
                else _target(OtaRelease.get_by_id(row.previous_release_id))
            )
            target = ota.assigned(
                kiosk_id, row.id, RolloutState(row.state), _stages(row), row.current_stage, release, previous
            )
        flagged = (
            OtaDeviceStatus.update(check_now=False)
            .where(OtaDeviceStatus.device == device_id, OtaDeviceStatus.check_now == True)  # noqa: E712
            .execute()
        )
    return Assignment(
        version=None if target is None else target.version,
        target=None if target is None else target.target,
        channel=None if target is None else target.channel,
        rollout=rollout_id,
        check_now=bool(flagged),
    )


def record_report(
    device_id: int, version: str, state: str, detail: str, at: datetime, now: datetime | None = None
) -> bool:
    """Keep a kiosk's update state (unless a newer one is held: heartbeats can arrive late) and, for
    a final state of the governing rollout's release, its outcome; then judge the rollout. Returns
    whether the report counted as an outcome of the rollout."""
    if state not in ota.REPORT_STATES:
        raise ValueError(f"unknown update state {state!r}")
    detail = detail[:MAX_DETAIL_CHARS]
    counted = False
    with database.atomic():
        held = _status_row(device_id)
        if held.updated_at is None or held.updated_at <= at:
            OtaDeviceStatus.update(version=version, state=state, detail=detail, updated_at=at).where(
                OtaDeviceStatus.device == device_id
            ).execute()
        row = _governing(lock=True)
        if (
            row is not None
            and state in ota.FINAL_STATES
            and row.state in (RolloutState.RUNNING, RolloutState.PAUSED)
            and OtaRelease.get_by_id(row.release_id).version == version
        ):
            counted = True
            outcome = OtaOutcome.get_or_none(OtaOutcome.rollout == row.id, OtaOutcome.device == device_id)
            if outcome is None:
                OtaOutcome.insert(
                    rollout=row.id, device=device_id, state=state, detail=detail, at=at
                ).on_conflict(
                    conflict_target=[OtaOutcome.rollout, OtaOutcome.device],
                    update={OtaOutcome.state: state, OtaOutcome.detail: detail, OtaOutcome.at: at},
                ).execute()
            elif outcome.at <= at:
                OtaOutcome.update(state=state, detail=detail, at=at).where(
                    OtaOutcome.id == outcome.id
                ).execute()
    evaluate(now)
    return counted


# --- status -------------------------------------------------------------------------------------------


def status(now: datetime | None = None) -> dict[str, Any]:
    """Each kiosk's update state and the governing rollout's progress per stage: what ``ota status
    --json`` prints and ``GET /api/v1/admin/ota/status`` answers."""
    moment = now or utc_now()
    rollout = current_rollout(moment)
    query = (
        Device.select(Device, Store, OtaDeviceStatus)
        .join(Store, peewee.JOIN.LEFT_OUTER)
        .switch(Device)
        .join(OtaDeviceStatus, peewee.JOIN.LEFT_OUTER, on=(OtaDeviceStatus.device == Device.id))
        .order_by(Store.code, Device.kiosk_id)
    )
    outcomes = _outcomes(rollout.id) if rollout is not None else {}
    kiosks = []
    for d in query:
        st = getattr(d, "otadevicestatus", None)
        in_rollout = None
        stage = None
        if rollout is not None:
            stage = ota.stage_of(ota.bucket(d.kiosk_id, rollout.id), rollout.stages)
            in_rollout = d.store is not None and d.revoked_at is None
        kiosks.append(
            {
                "kiosk_id": d.kiosk_id,
                "store": d.store.code if d.store is not None else None,
                "revoked": d.revoked_at is not None,
                "app_version": d.app_version,
                "version": st.version if st is not None else None,
                "state": st.state if st is not None else None,
                "detail": st.detail if st is not None else "",
                "reported_at": utc_text(st.updated_at) if st is not None and st.updated_at else None,
                "check_now": bool(st.check_now) if st is not None else False,
                "stage": stage if in_rollout else None,
                "outcome": outcomes.get(d.kiosk_id),
            }
        )
    return {
        "generated_at": utc_text(moment),
        "rollout": None if rollout is None else rollout.as_json(),
        "kiosks": kiosks,
    }
