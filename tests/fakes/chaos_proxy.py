"""``ChaosProxy``: a bad network between a kiosk and HQ, as a TCP proxy on 127.0.0.1, for fault tests.

The kiosk's sync client talks HTTP/1.1 to the proxy; the proxy forwards each request to HQ and the
reply back, and on the way breaks some exchanges the way a shop's uplink breaks them. Each fault is
a different question for the sync code:

``drop``
    The request reaches the proxy and goes no further; the connection closes quietly (FIN). A
    mobile router that loses its uplink: HQ never saw the sale, the kiosk hears "connection aborted"
    and must keep the sale in its outbox and send it again.
``delay_request`` / ``delay_reply``
    The request (or HQ's answer) is held for ``plan.delay_s`` before it goes on. A slow or congested
    line: with a delay longer than the kiosk's timeout, the kiosk gives up on a sale HQ may
    already have stored (``delay_reply``) or may store later (``delay_request``).
``reset_before_forward``
    The connection is reset (RST, the kiosk sees ``ECONNRESET``) before the request goes to HQ:
    nothing happened at HQ, the kiosk must retry.
``reset_after_forward``
    The dangerous case. The request went to HQ and HQ answered (the proxy waits for the whole
    answer, so HQ has certainly acted), then the kiosk's connection is reset before a byte of the
    answer reaches it. HQ stored the sale; the kiosk believes it failed and sends it again. Only
    exactly-once handling at HQ (the event id) keeps the sale from being counted twice.
``half_reply_close`` / ``half_reply_reset``
    HQ acted and answered; the kiosk gets only the first half of the answer's bytes, then the
    connection closes (FIN) or resets (RST). Where the cut falls decides what the kiosk sees: in
    the body, a body shorter than its ``Content-Length`` (``requests.exceptions.ChunkedEncodingError``,
    ``http.client.IncompleteRead``); in the status line, ``requests.ConnectionError``; among the
    headers, after a FIN, *no error at all*: http.client stops reading headers at the end of the
    connection, so ``requests`` returns the status (a 200) with the headers cut short and a body
    read to the close (empty or partial). The kiosk must check that it got a whole
    acknowledgement it can parse, never trust the status alone.

``down()`` takes HQ off the network: new connections are reset as soon as they are accepted and
the open ones are cut, so the kiosk sees ``requests.ConnectionError`` on every call (a reset
stands in for a refused connection: the listening port stays the same, so ``up()`` cannot lose it
to another program). ``up()`` brings it back.

Faults come from a :class:`FaultPlan` (odds per fault) and a seed. Each decision takes exactly one
number from a generator seeded with ``seed``, so the n-th decision depends only on the seed, n and
the plan in force then: one client sending requests one after another sees the same faults in the
same order on every run (:func:`fault_sequence` predicts them), and any number of concurrent
clients together see exactly the fault counts of the first N decisions. A decision is made per
request (``FaultPlan.per_connection=False``, the default) or once per connection, for its first
request, and then kept for the connection's later requests.

:class:`ChaosStats` counts each fault when it really happened, before the client can notice it,
so a test that has seen a failure can assert the count at once, and HQ's own counters can be
checked against :meth:`ChaosStats.forwarded` (requests that reached HQ and were answered).

How: one accept thread, one thread per client connection, at most ``max_connections`` of them.
Each client request is read whole (Content-Length or chunked body), sent to HQ on a fresh upstream
connection, and HQ's reply read whole (Content-Length, chunked, or until HQ closes) before any
fault is applied to it: that is what lets ``reset_after_forward`` promise HQ acted. A fresh
upstream connection per request means HQ closing an idle connection can never turn into a fault
the plan did not choose; the client's own connection to the proxy is kept alive as HTTP/1.1 says.
Not supported: pipelining, ``Upgrade``/101, ``Expect: 100-continue`` waiting (interim 1xx replies
are relayed with the final reply). Only for tests: it trusts its peers and keeps messages in memory.
"""

from __future__ import annotations

import contextlib
import enum
import math
import random
import selectors
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

#: the longest message head (request or status line plus headers) the proxy reads
MAX_HEAD_BYTES = 64 * 1024


class Fault(enum.Enum):
    """What the proxy does with one request (see the module docstring for what each stands for)."""

    PASS = "pass"
    DROP = "drop"
    DELAY_REQUEST = "delay_request"
    DELAY_REPLY = "delay_reply"
    RESET_BEFORE_FORWARD = "reset_before_forward"
    RESET_AFTER_FORWARD = "reset_after_forward"
    HALF_REPLY_CLOSE = "half_reply_close"
    HALF_REPLY_RESET = "half_reply_reset"


#: after these the request reached HQ and HQ answered, whatever the client heard
FORWARDED: frozenset[Fault] = frozenset(
    {
        Fault.PASS,
        Fault.DELAY_REQUEST,
        Fault.DELAY_REPLY,
        Fault.RESET_AFTER_FORWARD,
        Fault.HALF_REPLY_CLOSE,
        Fault.HALF_REPLY_RESET,
    }
)

#: after these the client gets the whole reply (late, for the delays)
ANSWERED: frozenset[Fault] = frozenset({Fault.PASS, Fault.DELAY_REQUEST, Fault.DELAY_REPLY})


@dataclass(frozen=True)
class FaultPlan:
    """Odds of each fault per decision; what is left over passes untouched.

    ``odds`` maps faults (not ``PASS``) to probabilities that add up to at most 1. ``delay_s`` is
    how long the delay faults hold a message. ``per_connection`` makes one decision per connection
    instead of one per request.
    """

    odds: Mapping[Fault, float] = field(default_factory=dict)
    delay_s: float = 0.05
    per_connection: bool = False

    def __post_init__(self) -> None:
        checked: dict[Fault, float] = {}
        for fault, p in self.odds.items():
            if not isinstance(fault, Fault) or fault is Fault.PASS:
                raise ValueError(f"odds are given for faults other than PASS, got {fault!r}")
            if not (isinstance(p, int | float) and 0.0 <= p <= 1.0):
                raise ValueError(f"the odds of {fault.value} must be a number from 0 to 1, got {p!r}")
            checked[fault] = float(p)
        total = math.fsum(checked.values())
        if total > 1.0 + 1e-9:
            raise ValueError(f"the odds of all faults add up to {total}, more than 1: lower some of them")
        if not (isinstance(self.delay_s, int | float) and math.isfinite(self.delay_s) and self.delay_s >= 0):
            raise ValueError(f"delay_s must be a finite number of seconds >= 0, got {self.delay_s!r}")
        # a private copy in the enum's order: the caller's dict can change, the plan cannot
        object.__setattr__(self, "odds", {f: checked[f] for f in Fault if f in checked})

    @classmethod
    def every(cls, fault: Fault, *, delay_s: float = 0.05, per_connection: bool = False) -> FaultPlan:
        """A plan that does ``fault`` to every request (``PASS``: a plain proxy)."""
        odds: dict[Fault, float] = {} if fault is Fault.PASS else {fault: 1.0}
        return cls(odds, delay_s=delay_s, per_connection=per_connection)

    def choose(self, u: float) -> Fault:
        """The fault for a uniform number ``u`` in [0, 1): faults take slices of [0, 1) in enum order."""
        edge = 0.0
        for fault, p in self.odds.items():
            edge += p
            if u < edge:
                return fault
        return Fault.PASS


#: forward everything untouched
PASS_THROUGH = FaultPlan()


def fault_sequence(plan: FaultPlan, seed: int, n: int) -> list[Fault]:
    """The first ``n`` decisions a :class:`ChaosProxy` with this plan and seed makes."""
    rng = random.Random(seed)
    return [plan.choose(rng.random()) for _ in range(n)]


class ChaosStats:
    """What the proxy did, counted under one lock; every count moves before the client can notice.

    ``wait_for`` lets a test wait for a count without sleeping.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._decided: list[Fault] = []
        self._happened: Counter[Fault] = Counter()
        self._events: Counter[str] = Counter()

    # -- read by tests
    def count(self, fault: Fault) -> int:
        """How many times ``fault`` really happened (a decision cut short by ``down()`` does not count)."""
        with self._cond:
            return self._happened[fault]

    def decided(self) -> list[Fault]:
        """Every decision in the order it was made (for a per-connection plan: one per connection)."""
        with self._cond:
            return list(self._decided)

    def forwarded(self) -> int:
        """Requests that reached HQ and that HQ answered, whatever the client heard of it."""
        with self._cond:
            return sum(self._happened[f] for f in FORWARDED)

    def answered(self) -> int:
        """Requests whose whole reply reached the client."""
        with self._cond:
            return sum(self._happened[f] for f in ANSWERED)

    @property
    def connections(self) -> int:
        """Client connections accepted and served (not counting those refused while down)."""
        return self._event("connections")

    @property
    def refused_while_down(self) -> int:
        """Connections reset at once because HQ was down."""
        return self._event("refused_while_down")

    @property
    def cut_by_down(self) -> int:
        """Open connections that ``down()`` cut."""
        return self._event("cut_by_down")

    @property
    def turned_away(self) -> int:
        """Connections reset because ``max_connections`` were already open."""
        return self._event("turned_away")

    @property
    def upstream_failures(self) -> int:
        """Requests whose client was reset because HQ could not be reached or answered badly."""
        return self._event("upstream_failures")

    @property
    def bad_messages(self) -> int:
        """Client connections reset because their request was not HTTP/1.1 the proxy can frame."""
        return self._event("bad_messages")

    def snapshot(self) -> dict[str, int]:
        """Every count by name, for a failing test's message."""
        with self._cond:
            out = {f.value: self._happened[f] for f in Fault}
            out.update(self._events)
            return out

    def wait_for(self, predicate: Callable[[ChaosStats], bool], timeout: float) -> bool:
        """Wait until ``predicate(self)`` holds (checked at each change), at most ``timeout`` s."""
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self), timeout)

    # -- written by the proxy
    def _event(self, name: str) -> int:
        with self._cond:
            return self._events[name]

    def _note_decision(self, fault: Fault) -> None:
        with self._cond:
            self._decided.append(fault)
            self._cond.notify_all()

    def _note_fault(self, fault: Fault) -> None:
        with self._cond:
            self._happened[fault] += 1
            self._cond.notify_all()

    def _note_event(self, name: str) -> None:
        with self._cond:
            self._events[name] += 1
            self._cond.notify_all()


class _BadMessage(Exception):
    """A message the proxy cannot frame, or a peer that closed in the middle of one."""


@dataclass(frozen=True)
class _Message:
    raw: bytes
    method: str  # the request's method (for a reply: the method of the request it answers)
    close: bool  # the connection ends after this message


class _Reader:
    """Buffered reads from a blocking socket, for framing HTTP messages."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buf = bytearray()

    def _fill(self) -> bool:
        data = self._sock.recv(65536)
        self._buf += data
        return bool(data)

    def head(self) -> bytes | None:
        """A head up to and including its blank line; None if the peer closed before sending any byte."""
        while True:
            end = self._buf.find(b"\r\n\r\n")
            if end >= 0:
                return self._take(end + 4)
            if len(self._buf) > MAX_HEAD_BYTES:
                raise _BadMessage(f"a message head longer than {MAX_HEAD_BYTES} bytes")
            if not self._fill():
                if self._buf:
                    raise _BadMessage("the peer closed inside a message head")
                return None

    def line(self) -> bytes:
        while True:
            end = self._buf.find(b"\r\n")
            if end >= 0:
                return self._take(end + 2)
            if len(self._buf) > MAX_HEAD_BYTES:
                raise _BadMessage("a chunk line too long")
            if not self._fill():
                raise _BadMessage("the peer closed inside a chunked body")

    def exact(self, n: int) -> bytes:
        while len(self._buf) < n:
            if not self._fill():
                raise _BadMessage(f"the peer closed {n - len(self._buf)} bytes before the end of a body")
        return self._take(n)

    def rest(self) -> bytes:
        while self._fill():
            pass
        return self._take(len(self._buf))

    def _take(self, n: int) -> bytes:
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out


def _parse_head(raw: bytes) -> tuple[list[str], dict[str, str]]:
    lines = raw.decode("latin-1").split("\r\n")
    start = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise _BadMessage(f"a malformed header line {line[:60]!r}")
        key = name.lower()
        headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    return start, headers


def _tokens(value: str) -> set[str]:
    return {t.strip().lower() for t in value.split(",") if t.strip()}


def _read_body(reader: _Reader, headers: dict[str, str], until_close: bool) -> tuple[bytes, bool]:
    """The body framed by ``headers``, and whether it ran to the end of the connection."""
    if "transfer-encoding" in headers:
        codings = [t.strip().lower() for t in headers["transfer-encoding"].split(",")]
        if codings[-1] != "chunked":
            if until_close:
                return reader.rest(), True
            raise _BadMessage(f"a request body framed by {headers['transfer-encoding']!r}")
        parts: list[bytes] = []
        while True:
            size_line = reader.line()
            parts.append(size_line)
            try:
                size = int(size_line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise _BadMessage(f"a bad chunk size line {size_line[:40]!r}") from None
            if size == 0:
                break
            parts.append(reader.exact(size + 2))
        while True:  # trailers, up to the blank line
            trailer = reader.line()
            parts.append(trailer)
            if trailer == b"\r\n":
                return b"".join(parts), False
    if "content-length" in headers:
        values = _tokens(headers["content-length"])
        if len(values) != 1 or not next(iter(values)).isdigit():
            raise _BadMessage(f"a bad Content-Length {headers['content-length']!r}")
        return reader.exact(int(next(iter(values)))), False
    if until_close:
        return reader.rest(), True
    return b"", False


def _wants_close(version: str, headers: dict[str, str]) -> bool:
    connection = _tokens(headers.get("connection", ""))
    return "close" in connection or (version == "HTTP/1.0" and "keep-alive" not in connection)


def _read_request(reader: _Reader) -> _Message | None:
    head = reader.head()
    if head is None:
        return None
    start, headers = _parse_head(head)
    if len(start) != 3 or not start[2].startswith("HTTP/1."):
        raise _BadMessage(f"a request line the proxy does not speak: {' '.join(start)[:60]!r}")
    body, _ = _read_body(reader, headers, until_close=False)
    return _Message(head + body, start[0].upper(), _wants_close(start[2], headers))


def _read_reply(reader: _Reader, method: str) -> _Message:
    raw = b""
    while True:
        head = reader.head()
        if head is None:
            raise _BadMessage("the upstream closed without answering")
        start, headers = _parse_head(head)
        if len(start) < 2 or not start[0].startswith("HTTP/1.") or not start[1].isdigit():
            raise _BadMessage(f"a status line the proxy does not speak: {' '.join(start)[:60]!r}")
        status = int(start[1])
        raw += head
        if 100 <= status < 200 and status != 101:
            continue  # interim reply: the final one follows
        break
    if method == "HEAD" or status in (101, 204, 304) or 100 <= status < 200:
        body, to_close = b"", False
    else:
        body, to_close = _read_body(reader, headers, until_close=True)
    return _Message(raw + body, method, to_close or status == 101 or _wants_close(start[0], headers))


def _linger_zero(sock: socket.socket) -> None:
    """Make the next close send RST (the peer sees ECONNRESET) instead of FIN."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def _reset(sock: socket.socket) -> None:
    _linger_zero(sock)
    sock.close()


class _Connection:
    """One client connection and the upstream connection of its request in flight.

    Closing and aborting go through one lock, so ``abort`` (from ``down``/``stop``) never touches a
    file descriptor the connection's own thread has already closed and the system may have reused.
    """

    def __init__(self, client: socket.socket, number: int) -> None:
        self.client = client
        self.number = number
        self.aborted = threading.Event()
        self.thread: threading.Thread | None = None
        self._upstream: socket.socket | None = None
        self._closed = False
        self._lock = threading.Lock()

    def attach_upstream(self, sock: socket.socket) -> bool:
        with self._lock:
            if self.aborted.is_set():
                return False
            self._upstream = sock
            return True

    def detach_upstream(self) -> None:
        with self._lock:
            if self._upstream is not None:
                self._upstream.close()
                self._upstream = None

    def close_client(self, reset: bool) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if reset or self.aborted.is_set():
                _reset(self.client)
            else:
                self.client.close()

    def abort(self) -> None:
        """Wake the connection's thread wherever it blocks; its sockets end in a reset."""
        with self._lock:
            self.aborted.set()
            socks = [s for s in (None if self._closed else self.client, self._upstream) if s is not None]
            for sock in socks:
                _linger_zero(sock)
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


class ChaosProxy:
    """A TCP proxy on 127.0.0.1 in front of ``upstream_host:upstream_port`` that breaks exchanges.

    ``start()`` binds a free port (``port``, ``url``); ``stop(timeout)`` closes every socket and joins
    every thread, raising ``RuntimeError`` if one is still running after ``timeout``. Use it as a
    context manager. ``wait(seconds)`` is how the delay faults hold a message: by default real
    time, cut short when the connection is aborted; a test can pass one that records the call or
    blocks until the test lets it go (it must then let it go: ``down()`` and ``stop()`` cannot cut
    an injected wait short, and say so by raising when their ``timeout`` runs out).
    """

    def __init__(
        self,
        upstream_host: str,
        upstream_port: int,
        plan: FaultPlan = PASS_THROUGH,
        seed: int = 0,
        *,
        wait: Callable[[float], object] | None = None,
        max_connections: int = 64,
        upstream_timeout_s: float = 30.0,
    ) -> None:
        if max_connections < 1:
            raise ValueError(f"max_connections must be at least 1, got {max_connections}")
        self.stats = ChaosStats()
        self._upstream = (upstream_host, upstream_port)
        self._plan = plan
        self._rng = random.Random(seed)
        self._wait = wait
        self._max_connections = max_connections
        self._upstream_timeout_s = upstream_timeout_s
        self._lock = threading.Lock()  # guards plan, dice, down, the connection table and the lifecycle
        self._down = False
        self._started = False
        self._stopping = threading.Event()
        self._connections: dict[int, _Connection] = {}
        self._numbers = 0
        self._listener: socket.socket | None = None
        self._wake_r: socket.socket | None = None
        self._wake_w: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None

    # -- lifecycle
    def start(self) -> Self:
        with self._lock:
            if self._started:
                raise RuntimeError("this ChaosProxy was already started; make a new one")
            self._started = True
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)
        listener.setblocking(False)
        self._listener = listener
        self._wake_r, self._wake_w = socket.socketpair()
        self._accept_thread = threading.Thread(
            target=self._accept_loop, name="chaos-proxy-accept", daemon=True
        )
        self._accept_thread.start()
        return self

    @property
    def port(self) -> int:
        if self._listener is None:
            raise RuntimeError("the ChaosProxy has no port before start()")
        port: int = self._listener.getsockname()[1]
        return port

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``: give it to the kiosk as HQ's address."""
        return f"http://127.0.0.1:{self.port}"

    def stop(self, timeout: float = 5.0) -> None:
        """Close every socket and join every thread; ``RuntimeError`` names any still running after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._lock:
            if not self._started or self._stopping.is_set():
                return
            self._stopping.set()
            connections = list(self._connections.values())
        assert self._wake_w is not None
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")
        for connection in connections:
            connection.abort()
        threads = [c.thread for c in connections if c.thread is not None]
        if self._accept_thread is not None:
            threads.append(self._accept_thread)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        alive = [t.name for t in threads if t.is_alive()]
        if self._accept_thread is not None and not self._accept_thread.is_alive():
            for sock in (self._listener, self._wake_r, self._wake_w):
                if sock is not None:
                    sock.close()
        if alive:
            raise RuntimeError(f"ChaosProxy threads still running {timeout} s after stop(): {alive}")

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- control
    def set_plan(self, plan: FaultPlan) -> None:
        """Use ``plan`` from the next decision on (the seeded sequence of numbers goes on unbroken)."""
        with self._lock:
            self._plan = plan

    @property
    def plan(self) -> FaultPlan:
        with self._lock:
            return self._plan

    @property
    def is_down(self) -> bool:
        with self._lock:
            return self._down

    def down(self, timeout: float = 5.0) -> None:
        """HQ off the network: reset new connections at once, cut the open ones and wait until they end."""
        deadline = time.monotonic() + timeout
        with self._lock:
            self._down = True
            connections = list(self._connections.values())
        for connection in connections:
            self.stats._note_event("cut_by_down")
            connection.abort()
        for connection in connections:
            if connection.thread is not None:
                connection.thread.join(max(0.0, deadline - time.monotonic()))
        alive = [c.thread.name for c in connections if c.thread is not None and c.thread.is_alive()]
        if alive:
            raise RuntimeError(f"connections still open {timeout} s after down(): {alive}")

    def up(self) -> None:
        """HQ back: new connections are served again."""
        with self._lock:
            self._down = False

    # -- the threads
    def _accept_loop(self) -> None:
        assert self._listener is not None and self._wake_r is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self._listener, selectors.EVENT_READ)
            selector.register(self._wake_r, selectors.EVENT_READ)
            while not self._stopping.is_set():
                selector.select()
                if self._stopping.is_set():
                    break
                try:
                    client, _ = self._listener.accept()
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    if self._stopping.is_set():
                        break
                    continue  # e.g. the client gave up before we accepted it (ECONNABORTED)
                client.setblocking(True)
                self._admit(client)

    def _admit(self, client: socket.socket) -> None:
        with self._lock:
            if self._stopping.is_set():
                _reset(client)
                return
            if self._down:
                self.stats._note_event("refused_while_down")
                _reset(client)
                return
            if len(self._connections) >= self._max_connections:
                self.stats._note_event("turned_away")
                _reset(client)
                return
            self._numbers += 1
            connection = _Connection(client, self._numbers)
            connection.thread = threading.Thread(
                target=self._serve, args=(connection,), name=f"chaos-proxy-conn-{self._numbers}", daemon=True
            )
            self._connections[connection.number] = connection
            self.stats._note_event("connections")
            connection.thread.start()

    def _decide(self) -> tuple[Fault, FaultPlan]:
        with self._lock:
            plan = self._plan
            fault = plan.choose(self._rng.random())
            self.stats._note_decision(fault)  # under the same lock: decided() is in the order of the draws
            return fault, plan

    def _serve(self, connection: _Connection) -> None:
        reader = _Reader(connection.client)
        kept: tuple[Fault, FaultPlan] | None = None
        reset = False
        try:
            while not connection.aborted.is_set():
                request = _read_request(reader)
                if request is None:
                    break  # the client closed its keep-alive connection
                if kept is None or not kept[1].per_connection:
                    kept = self._decide()
                fault, plan = kept
                keep_alive, reset = self._exchange(connection, request, fault, plan)
                if not keep_alive:
                    break
        except _BadMessage:
            if not connection.aborted.is_set():
                self.stats._note_event("bad_messages")
            reset = True
        except OSError:
            reset = True  # the client went away, or down()/stop() cut the connection
        finally:
            connection.close_client(reset)
            with self._lock:
                self._connections.pop(connection.number, None)

    def _hold(self, connection: _Connection, seconds: float) -> None:
        if self._wait is not None:
            self._wait(seconds)
        else:
            connection.aborted.wait(seconds)

    def _exchange(
        self, connection: _Connection, request: _Message, fault: Fault, plan: FaultPlan
    ) -> tuple[bool, bool]:
        """Carry one request through ``fault``; returns (keep the connection, end it with a reset)."""
        if fault is Fault.DROP:
            self.stats._note_fault(fault)
            return False, False
        if fault is Fault.RESET_BEFORE_FORWARD:
            self.stats._note_fault(fault)
            return False, True
        if fault is Fault.DELAY_REQUEST:
            self._hold(connection, plan.delay_s)
        reply = self._forward(connection, request)
        if reply is None:
            if not connection.aborted.is_set():
                self.stats._note_event("upstream_failures")
            return False, True
        if fault is Fault.RESET_AFTER_FORWARD:
            self.stats._note_fault(fault)
            return False, True
        if fault in (Fault.HALF_REPLY_CLOSE, Fault.HALF_REPLY_RESET):
            self.stats._note_fault(fault)
            connection.client.sendall(reply.raw[: len(reply.raw) // 2])
            return False, fault is Fault.HALF_REPLY_RESET
        if fault is Fault.DELAY_REPLY:
            self._hold(connection, plan.delay_s)
            if connection.aborted.is_set():
                return False, True
        self.stats._note_fault(fault)
        connection.client.sendall(reply.raw)
        return not (request.close or reply.close), False

    def _forward(self, connection: _Connection, request: _Message) -> _Message | None:
        """HQ's whole reply to ``request`` on a fresh connection, or None if HQ could not give one."""
        try:
            upstream = socket.create_connection(self._upstream, timeout=self._upstream_timeout_s)
        except OSError:
            return None
        if not connection.attach_upstream(upstream):
            upstream.close()
            return None
        try:
            upstream.sendall(request.raw)
            return _read_reply(_Reader(upstream), request.method)
        except (OSError, _BadMessage):
            return None
        finally:
            connection.detach_upstream()
