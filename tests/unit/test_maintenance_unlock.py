"""Maintenance unlock, pure: PIN hashes, badges (signature, expiry, replay, tampering), the attempt
limiter's back-off and lockout on a fake clock (and its state across a restart), and the session's
auto-lock, key switch and refusal while a payment is in flight."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from datetime import datetime

import pytest
from argon2 import PasswordHasher
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hq.staff import check_pin, pin_hasher, public_key_b64, sign_badge, weak_pin
from kiosk.maintenance import pins
from kiosk.maintenance.attempts import AttemptLimiter, LimiterConfig
from kiosk.maintenance.badges import BadgeError, BadgeRefusal, verify_badge
from kiosk.maintenance.port import StaffAccount
from kiosk.maintenance.roles import Role
from kiosk.maintenance.session import (
    KeySwitchMode,
    MaintenanceConfig,
    MaintenanceLock,
    Refusal,
)

T0 = 1_800_000_000.0
#: cheap argon2id for tests; the kiosk verifies with whatever parameters the hash names
_FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


class Store:
    """The UnlockStore port in memory."""

    def __init__(self, staff: list[StaffAccount], key: str = "") -> None:
        self.staff = staff
        self.key = key
        self.nonces: set[str] = set()
        self.limiter: str | None = None
        self.audits: list[tuple[str, str, str]] = []

    def active_staff(self) -> list[StaffAccount]:
        return list(self.staff)

    def badge_public_key(self) -> str:
        return self.key

    def use_badge_nonce(self, nonce: str, expires_at: datetime) -> bool:
        if nonce in self.nonces:
            return False
        self.nonces.add(nonce)
        return True

    def load_limiter(self) -> str | None:
        return self.limiter

    def save_limiter(self, state: str) -> None:
        self.limiter = state

    def audit(self, actor: str, action: str, detail: str = "") -> None:
        self.audits.append((actor, action, detail))

    def actions(self) -> list[str]:
        return [a for _, a, _ in self.audits]


ANA = StaffAccount(1, "ana", Role.MANAGER, _FAST.hash("135790"))
BOB = StaffAccount(2, "bob", Role.CASHIER, _FAST.hash("246813"))


# --- PINs ------------------------------------------------------------------------------------------


def test_a_pin_matches_only_its_own_argon2_hash() -> None:
    made = pin_hasher().hash("135790")  # HQ's parameters
    assert made.startswith("$argon2id$")
    assert pins.pin_matches(made, "135790")
    assert not pins.pin_matches(made, "135791")
    assert not pins.pin_matches("not a hash", "135790")
    assert pins.find_staff([ANA, BOB], "246813") == BOB
    assert pins.find_staff([ANA, BOB], "000001") is None
    assert pins.find_staff([ANA, BOB], "1357") is None  # too short: no hash is even tried


def test_hq_refuses_short_and_trivial_pins() -> None:
    for bad in ("12345", "123456", "000000", "987654", "111111111", "12a456", "１２３４５６"):
        with pytest.raises(ValueError):
            check_pin(bad)
    check_pin("135790")
    assert weak_pin("654321") and not weak_pin("120398")


# --- badges ----------------------------------------------------------------------------------------

KEY = Ed25519PrivateKey.generate()
PUB = public_key_b64(KEY)


def badge(
    staff_id: int = 1, role: str = "manager", issued: float = T0, ttl: float = 600, nonce: str = "a" * 32
) -> str:
    return sign_badge(KEY, staff_id, role, int(issued), int(issued + ttl), nonce)


def test_a_badge_signed_by_hq_verifies_until_it_expires() -> None:
    claims = verify_badge(badge(), PUB, T0 + 10)
    assert (claims.staff_id, claims.role, claims.nonce) == (1, "manager", "a" * 32)
    with pytest.raises(BadgeError) as expired:
        verify_badge(badge(), PUB, T0 + 600)
    assert expired.value.reason is BadgeRefusal.EXPIRED
    with pytest.raises(BadgeError) as early:
        verify_badge(badge(issued=T0 + 3600), PUB, T0)
    assert early.value.reason is BadgeRefusal.NOT_YET


def test_a_badge_signed_by_another_key_or_tampered_with_is_refused() -> None:
    other = sign_badge(Ed25519PrivateKey.generate(), 1, "manager", int(T0), int(T0 + 600), "b" * 32)
    with pytest.raises(BadgeError) as wrong_key:
        verify_badge(other, PUB, T0)
    assert wrong_key.value.reason is BadgeRefusal.SIGNATURE
    prefix, body, sig = badge(role="cashier").split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["role"] = "it"  # a cashier makes themself IT
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    with pytest.raises(BadgeError) as tampered:
        verify_badge(f"{prefix}.{forged}.{sig}", PUB, T0)
    assert tampered.value.reason is BadgeRefusal.SIGNATURE
    for junk in ("", "KB1", "KB2.a.b", "KB1.!!.??", "KB1." + "A" * 600 + ".x"):
        with pytest.raises(BadgeError) as bad:
            verify_badge(junk, PUB, T0)
        assert bad.value.reason is BadgeRefusal.MALFORMED
    with pytest.raises(BadgeError) as no_key:
        verify_badge(badge(), "", T0)
    assert no_key.value.reason is BadgeRefusal.NO_KEY


def test_a_badge_unlocks_once_and_its_replay_is_refused() -> None:
    store = Store([ANA, BOB], PUB)
    clock = Clock()
    lock = MaintenanceLock(MaintenanceConfig(), store, clock, lambda: False)
    first = lock.unlock_badge(badge())
    assert first.ok and first.session is not None and first.session.name == "ana"
    lock.lock()
    again = lock.unlock_badge(badge())
    assert not again.ok and again.refusal is Refusal.BAD_BADGE and again.detail.startswith("replay")
    # a badge whose role no longer matches the account (or for a disabled account) is void
    wrong_role = lock.unlock_badge(badge(staff_id=2, role="manager", nonce="c" * 32))
    assert wrong_role.refusal is Refusal.BAD_BADGE
    gone = lock.unlock_badge(badge(staff_id=9, nonce="d" * 32))
    assert gone.refusal is Refusal.BAD_BADGE
    assert store.actions().count("maintenance.unlock_failed") == 3


# --- the attempt limiter ---------------------------------------------------------------------------


def test_backoff_starts_at_the_fifth_failure_doubles_and_locks_out_at_the_tenth() -> None:
    clock = Clock()
    store = Store([])
    limiter = AttemptLimiter(LimiterConfig(5, 10, base_delay_s=2.0, lockout_s=600.0), store, clock)
    for n in range(1, 5):
        f = limiter.failed()
        assert (f.failures, f.wait_s, f.locked_out) == (n, 0.0, False)
        assert limiter.wait_s() == 0
    waits = []
    for _ in range(5, 10):
        f = limiter.failed()
        waits.append(f.wait_s)
        assert limiter.wait_s() == f.wait_s and not f.locked_out
        clock.now += f.wait_s - 0.5
        assert limiter.wait_s() == 0.5  # still waiting half a second before the end
        clock.now += 0.5
        assert limiter.wait_s() == 0
    assert waits == [2.0, 4.0, 8.0, 16.0, 32.0]
    tenth = limiter.failed()
    assert tenth.locked_out and tenth.wait_s == 600.0 and limiter.locked_out()
    clock.now += 600
    assert limiter.wait_s() == 0
    eleventh = limiter.failed()  # after a lockout, one more failure locks out again
    assert eleventh.locked_out and limiter.state.lockouts == 2
    limiter.succeeded()
    assert limiter.state.failures == 0 and limiter.state.lockouts == 0 and limiter.wait_s() == 0


def test_the_limiter_state_outlasts_a_restart() -> None:
    clock = Clock()
    store = Store([])
    config = LimiterConfig(5, 10, base_delay_s=1.0, lockout_s=300.0)
    limiter = AttemptLimiter(config, store, clock)
    for _ in range(10):
        clock.now += limiter.wait_s()
        limiter.failed()
    assert limiter.locked_out()
    again = AttemptLimiter(config, store, clock)  # the kiosk rebooted
    assert again.locked_out() and again.wait_s() == 300.0 and again.state.lockouts == 1
    store.limiter = "{not json"
    broken = AttemptLimiter(config, store, clock)
    assert broken.locked_out()  # unreadable state locks, never opens


def test_limits_are_checked() -> None:
    with pytest.raises(ValueError):
        LimiterConfig(backoff_from=11, lockout_after=10)


# --- the session -----------------------------------------------------------------------------------


def make_lock(
    store: Store, clock: Clock, paying: list[bool] | None = None, **config: object
) -> MaintenanceLock:
    flag = paying if paying is not None else [False]
    return MaintenanceLock(MaintenanceConfig(**config), store, clock, lambda: flag[0])  # type: ignore[arg-type]


def test_a_pin_unlocks_with_its_role_and_the_session_locks_itself_when_idle() -> None:
    store, clock = Store([ANA, BOB]), Clock()
    lock = make_lock(store, clock, idle_lock_s=120.0)
    result = lock.unlock_pin("246813")
    assert result.ok and result.session is not None
    assert (result.session.staff_id, result.session.name, result.session.role) == (2, "bob", Role.CASHIER)
    clock.now += 100
    lock.touch()
    clock.now += 119
    assert lock.current() is not None
    clock.now += 1
    assert lock.current() is None
    assert store.actions() == ["maintenance.unlock", "maintenance.auto_lock"]
    assert all("246813" not in detail for _, _, detail in store.audits)
    lock.touch()  # touching a locked kiosk does not bring the session back
    assert lock.current() is None


def test_no_entry_while_a_payment_is_in_flight() -> None:
    store, clock = Store([ANA], PUB), Clock()
    paying = [True]
    lock = make_lock(store, clock, paying, key_switch=KeySwitchMode.ALONE)
    assert lock.unlock_pin("135790").refusal is Refusal.PAYMENT_IN_FLIGHT
    assert lock.unlock_badge(badge()).refusal is Refusal.PAYMENT_IN_FLIGHT
    key = lock.key_switch(True)
    assert key is not None and key.refusal is Refusal.PAYMENT_IN_FLIGHT
    assert lock.current() is None and lock._limiter.state.failures == 0  # refusals are not failures
    paying[0] = False
    assert lock.unlock_pin("135790").ok


def test_wrong_pins_back_off_then_lock_out_and_audit_the_lockout() -> None:
    store, clock = Store([ANA]), Clock()
    lock = make_lock(store, clock)
    results = [lock.unlock_pin("999990") for _ in range(4)]
    assert [r.refusal for r in results] == [Refusal.WRONG_PIN] * 4
    fifth = lock.unlock_pin("999990")
    assert fifth.refusal is Refusal.WRONG_PIN and fifth.wait_s == 5.0
    waiting = lock.unlock_pin("135790")  # even the right PIN waits: it is not checked
    assert waiting.refusal is Refusal.WAIT and waiting.wait_s == 5.0
    for _ in range(5):
        clock.now += lock.wait_s()
        last = lock.unlock_pin("999990")
    assert last.wait_s == 900.0
    assert lock.unlock_pin("135790").refusal is Refusal.LOCKED_OUT
    assert store.actions().count("maintenance.lockout") == 1
    assert lock.lockouts() == 1
    clock.now += 900
    assert lock.unlock_pin("135790").ok
    assert lock.lockouts() == 0


def test_key_switch_alone_opens_and_closes_a_session() -> None:
    store, clock = Store([ANA]), Clock()
    lock = make_lock(store, clock, key_switch=KeySwitchMode.ALONE, key_role=Role.IT)
    opened = lock.key_switch(True)
    assert opened is not None and opened.session is not None
    assert (opened.session.staff_id, opened.session.role) == (None, Role.IT)
    lock.key_switch(False)
    assert lock.current() is None
    assert store.actions()[-1] == "maintenance.lock"


def test_key_switch_with_pin_needs_both() -> None:
    store, clock = Store([ANA]), Clock()
    lock = make_lock(store, clock, key_switch=KeySwitchMode.WITH_PIN)
    assert lock.unlock_pin("135790").refusal is Refusal.KEY_REQUIRED
    assert lock.key_switch(True) is None and lock.current() is None
    assert lock.unlock_pin("135790").ok
    lock.key_switch(False)
    assert lock.current() is None


def test_key_switch_off_is_only_audited() -> None:
    store, clock = Store([ANA]), Clock()
    lock = make_lock(store, clock)
    assert lock.key_switch(True) is None and lock.current() is None
    assert store.actions() == ["maintenance.key_switch"]
    assert lock.unlock_pin("135790").ok
    lock.lock()
    assert lock.current() is None and store.actions()[-1] == "maintenance.lock"


def test_the_heartbeat_carries_lockouts_only_when_there_are_some() -> None:
    from kiosk.sync.heartbeat import Readings, heartbeat_body

    def body(lockouts: int) -> dict[str, object]:
        return heartbeat_body(
            Readings(None, "ok", 1, None),
            at=datetime(2026, 12, 2),
            app_version="1",
            outbox_depth=0,
            parked=0,
            catalog_version=1,
            clock_offset_s=0.0,
            maintenance_lockouts=lockouts,
        )

    assert "maintenance_lockouts" not in body(0)  # an HQ that predates the field takes it
    assert body(2)["maintenance_lockouts"] == 2


class _SlowAccounts(list[StaffAccount]):
    """Staff accounts whose checking takes as long as a test says: iteration waits for ``go``,
    the stand-in for argon2's few hundred milliseconds per hash on a Pi."""

    def __init__(self, accounts: list[StaffAccount]) -> None:
        super().__init__(accounts)
        self.checking = threading.Event()
        self.go = threading.Event()

    def __iter__(self) -> Iterator[StaffAccount]:
        self.checking.set()
        self.go.wait(10)  # bounds a failing test only
        return super().__iter__()


def test_the_session_can_be_read_while_a_pin_is_being_checked() -> None:
    """The UI asks ``current()`` every tick: it must not wait for a PIN's hashes."""
    accounts = _SlowAccounts([ANA])
    store, clock = Store([]), Clock()
    store.active_staff = lambda: accounts  # type: ignore[method-assign]
    lock = make_lock(store, clock)
    results: list[object] = []
    attempt = threading.Thread(target=lambda: results.append(lock.unlock_pin("135790")))
    attempt.start()
    assert accounts.checking.wait(10)
    read: list[object] = []
    reader = threading.Thread(target=lambda: read.append(lock.current()))
    reader.start()
    reader.join(5)  # bounds a failing test only: the read must not wait for the hashes
    read_while_checking = not reader.is_alive()
    accounts.go.set()
    attempt.join(10)
    reader.join(10)
    assert read_while_checking
    assert read == [None]
    assert len(results) == 1 and getattr(results[0], "ok", False)


def test_a_payment_that_began_while_the_pin_was_checked_wins() -> None:
    accounts = _SlowAccounts([ANA])
    store, clock = Store([]), Clock()
    store.active_staff = lambda: accounts  # type: ignore[method-assign]
    paying = [False]
    lock = make_lock(store, clock, paying)
    results: list[object] = []
    attempt = threading.Thread(target=lambda: results.append(lock.unlock_pin("135790")))
    attempt.start()
    assert accounts.checking.wait(10)
    paying[0] = True  # a customer pressed pay meanwhile
    accounts.go.set()
    attempt.join(10)
    assert [getattr(r, "refusal", None) for r in results] == [Refusal.PAYMENT_IN_FLIGHT]
    assert lock.current() is None
