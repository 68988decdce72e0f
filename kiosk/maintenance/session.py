"""``MaintenanceLock``: who may enter maintenance mode, and when it locks again.

Three ways in: a staff PIN (``pins``), a staff badge signed by HQ (``badges``), and the key switch,
which by [maintenance] key_switch is ignored ("off"), unlocks by itself ("alone", with the role
``key_role``), or must be on for a PIN to unlock ("with_pin"). Every attempt is refused while a
payment is in flight, and while the attempt limiter (``attempts``) makes the kiosk wait. A session
locks itself after ``idle_lock_s`` without ``touch()``, checked whenever ``current()`` is asked.

Every unlock, failed attempt, lockout, auto-lock and lock is audited (and so reaches HQ); a lockout
is audited as ``maintenance.lockout``, HQ's alert. Never a PIN, nor a badge's text, in the audit or
the log. Thread-safe: the screen and the key switch's thread both call in.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from kiosk.maintenance import pins
from kiosk.maintenance.attempts import AttemptLimiter, LimiterConfig
from kiosk.maintenance.badges import DEFAULT_SKEW_S, BadgeError, verify_badge
from kiosk.maintenance.port import UnlockStore
from kiosk.maintenance.roles import Role

log = logging.getLogger(__name__)

ACTOR = "maintenance"


class KeySwitchMode(enum.StrEnum):
    OFF = "off"
    ALONE = "alone"
    WITH_PIN = "with_pin"


@dataclass(frozen=True, slots=True)
class MaintenanceConfig:
    key_switch: KeySwitchMode = KeySwitchMode.OFF
    #: the role a session opened by the key switch alone has
    key_role: Role = Role.MANAGER
    idle_lock_s: float = 120.0
    limiter: LimiterConfig = field(default_factory=LimiterConfig)
    badge_skew_s: float = DEFAULT_SKEW_S


@dataclass(frozen=True, slots=True)
class StaffSession:
    #: None for a session the key switch opened
    staff_id: int | None
    name: str
    role: Role
    since: datetime


class Refusal(enum.StrEnum):
    WRONG_PIN = "wrong_pin"
    BAD_BADGE = "bad_badge"
    WAIT = "wait"  # back-off or lockout: ``wait_s`` says how long
    LOCKED_OUT = "locked_out"
    PAYMENT_IN_FLIGHT = "payment_in_flight"
    KEY_REQUIRED = "key_required"  # key_switch "with_pin" and the key is off


@dataclass(frozen=True, slots=True)
class UnlockResult:
    session: StaffSession | None
    refusal: Refusal | None = None
    #: seconds before the next attempt is checked (after a refusal for back-off or lockout)
    wait_s: float = 0.0
    #: for a refused badge, why (``badges.BadgeRefusal`` value, or "unknown_staff", "replay")
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.session is not None


class MaintenanceLock:
    def __init__(
        self,
        config: MaintenanceConfig,
        store: UnlockStore,
        clock: Callable[[], float],
        payment_in_flight: Callable[[], bool],
    ) -> None:
        """``clock`` is wall-clock Unix seconds (badges expire by it, lockouts outlast a reboot)."""
        self.config = config
        self._store = store
        self._clock = clock
        self._payment_in_flight = payment_in_flight
        self._limiter = AttemptLimiter(config.limiter, store, clock)
        self._lock = threading.RLock()
        #: one unlock attempt at a time (held while a PIN's hashes are checked, outside ``_lock``)
        self._attempt = threading.Lock()
        self._session: StaffSession | None = None
        self._last_activity = 0.0
        self._key_on = False

    # --- reading ------------------------------------------------------------------------------------

    def current(self) -> StaffSession | None:
        """The session now, or None; a session idle for ``idle_lock_s`` is locked here first."""
        with self._lock:
            if self._session is not None and self._clock() - self._last_activity >= self.config.idle_lock_s:
                who = self._session
                self._session = None
                self._audit("maintenance.auto_lock", f"{_who(who)} idle {self.config.idle_lock_s:g}s")
            return self._session

    def lockouts(self) -> int:
        """Lockouts since staff last unlocked: the heartbeat reports it to HQ as an alert."""
        with self._lock:
            return self._limiter.state.lockouts

    def wait_s(self) -> float:
        """Seconds before an attempt will be checked (for the screen's countdown)."""
        with self._lock:
            return self._limiter.wait_s()

    # --- unlocking ----------------------------------------------------------------------------------

    def unlock_pin(self, pin: str) -> UnlockResult:
        """Check one PIN. The argon2 hashes (a few hundred ms each on a Pi) are checked outside the
        state lock, so ``current()`` (asked every UI tick) never waits for them; attempts
        themselves are one at a time, so a burst of PINs cannot slip past the limiter."""
        with self._attempt:
            with self._lock:
                refused = self._precheck("pin")
                if refused is not None:
                    return refused
                if self.config.key_switch is KeySwitchMode.WITH_PIN and not self._key_on:
                    self._audit("maintenance.refused", "pin without the key switch")
                    return UnlockResult(None, Refusal.KEY_REQUIRED)
                accounts = self._store.active_staff()
            account = pins.find_staff(accounts, pin)
            with self._lock:
                if self._payment_in_flight():
                    # a customer began paying while the hashes were checked: they come first
                    self._audit("maintenance.refused", "pin: payment in flight")
                    return UnlockResult(None, Refusal.PAYMENT_IN_FLIGHT)
                if account is None:
                    return self._failed(Refusal.WRONG_PIN, "pin", "wrong PIN")
                return self._open(StaffSession(account.id, account.name, account.role, self._now()), "pin")

    def unlock_badge(self, text: str) -> UnlockResult:
        with self._lock:
            refused = self._precheck("badge")
            if refused is not None:
                return refused
            try:
                claims = verify_badge(
                    text, self._store.badge_public_key(), self._clock(), self.config.badge_skew_s
                )
            except BadgeError as exc:
                return self._failed(Refusal.BAD_BADGE, "badge", exc.reason.value)
            account = next((a for a in self._store.active_staff() if a.id == claims.staff_id), None)
            if account is None or account.role.value != claims.role:
                # disabled since, not for this store, or the role changed: the badge is void
                return self._failed(Refusal.BAD_BADGE, "badge", f"unknown_staff {claims.staff_id}")
            if not self._store.use_badge_nonce(claims.nonce, claims.expires_at):
                return self._failed(Refusal.BAD_BADGE, "badge", f"replay staff {claims.staff_id}")
            return self._open(StaffSession(account.id, account.name, account.role, self._now()), "badge")

    def key_switch(self, on: bool) -> UnlockResult | None:
        """The key switch turned. "alone": on opens a session, off locks it. Otherwise it is audited
        and remembered ("with_pin" needs it on for a PIN); off always ends a key-opened session."""
        with self._lock:
            self._key_on = on
            self._audit("maintenance.key_switch", "on" if on else "off")
            if not on:
                if self._session is not None and (
                    self._session.staff_id is None or self.config.key_switch is KeySwitchMode.WITH_PIN
                ):
                    self._end("maintenance.lock", "key switch off")
                return None
            if self.config.key_switch is not KeySwitchMode.ALONE:
                return None
            if self._payment_in_flight():
                self._audit("maintenance.refused", "key: payment in flight")
                return UnlockResult(None, Refusal.PAYMENT_IN_FLIGHT)
            return self._open(StaffSession(None, "key switch", self.config.key_role, self._now()), "key")

    def touch(self) -> None:
        """Staff did something: the idle timer starts again (an expired session stays locked)."""
        with self._lock:
            if self.current() is not None:
                self._last_activity = self._clock()

    def lock(self) -> None:
        """Staff leave maintenance mode."""
        with self._lock:
            if self._session is not None:
                self._end("maintenance.lock", "by staff")

    # --- inside -------------------------------------------------------------------------------------

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    def _precheck(self, way: str) -> UnlockResult | None:
        if self._payment_in_flight():
            self._audit("maintenance.refused", f"{way}: payment in flight")
            return UnlockResult(None, Refusal.PAYMENT_IN_FLIGHT)
        wait = self._limiter.wait_s()
        if wait > 0:
            # not checked, not counted, not audited one by one: the failure that began it was
            refusal = Refusal.LOCKED_OUT if self._limiter.locked_out() else Refusal.WAIT
            return UnlockResult(None, refusal, wait)
        return None

    def _failed(self, refusal: Refusal, way: str, why: str) -> UnlockResult:
        failure = self._limiter.failed()
        self._audit(
            "maintenance.unlock_failed", f"{way}: {why}; failure {failure.failures}, wait {failure.wait_s:g}s"
        )
        if failure.locked_out:
            self._audit(
                "maintenance.lockout",
                f"{failure.failures} failed unlocks; locked {failure.wait_s:g}s "
                f"(lockout {self._limiter.state.lockouts} since the last unlock)",
            )
            log.warning("maintenance unlock locked out after %d failures", failure.failures)
        return UnlockResult(None, refusal, failure.wait_s, why)

    def _open(self, session: StaffSession, way: str) -> UnlockResult:
        self._limiter.succeeded()
        self._session = session
        self._last_activity = self._clock()
        self._audit("maintenance.unlock", f"{_who(session)} by {way}", actor=_actor(session))
        return UnlockResult(session)

    def _end(self, action: str, why: str) -> None:
        who = self._session
        self._session = None
        if who is not None:
            self._audit(action, f"{_who(who)} {why}", actor=_actor(who))

    def _audit(self, action: str, detail: str, actor: str = ACTOR) -> None:
        try:
            self._store.audit(actor, action, detail)
        except Exception:
            # a full disk must not keep staff out or in; the log still says it
            log.exception("maintenance audit not recorded: %s %s", action, detail)


def _actor(session: StaffSession) -> str:
    return f"staff:{session.staff_id}" if session.staff_id is not None else "key_switch"


def _who(session: StaffSession) -> str:
    return f"{session.name} ({session.role.value})"
