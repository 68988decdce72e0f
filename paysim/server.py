"""A local payment gateway for tests, the demo and commissioning, on loopback HTTP.

It plays the customer's side of a charge (see :mod:`paysim.bank` for which code digits
give which outcome) and keeps a ledger of every charge and reversal, so a test can assert that a
customer was charged exactly once. It is built on the standard library so a kiosk image can run it
without the HQ server's web stack.

Besides the protocol endpoints it answers two of its own:

``GET /healthz``    ``{"ok": true}``
``GET /v1/ledger``  ``{"entries": [...], "charged_fen": n, "reversed_fen": n, "refunded_fen": n, "net_fen": n}``
``POST /v1/admin/next``  ``{"outcome": "insufficient_funds"}``: play that outcome for the next new pay;
``{"refund": "drop"}``: make the next refund, then lose its answer

It binds only loopback addresses unless told ``allow_remote=True``: a simulator that says "paid" to
anything on the shop's network is an invitation to walk out with the goods.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from paysim.alipay import AlipayProtocol, SimAlipayConfig
from paysim.bank import OUTCOMES, REFUND_OUTCOMES, SimulatedBank
from paysim.credentials import SimCredentials
from paysim.protocol import SimProtocol, SimReply, SimRequest, json_error, json_reply
from paysim.wechat import SimWechatConfig, WechatProtocol

log = logging.getLogger("paysim.server")

MAX_BODY_BYTES = 64 * 1024
MAX_LATENCY_S = 60.0
#: a client that opens a connection and sends nothing is dropped after this long
CLIENT_SOCKET_TIMEOUT_S = 15.0


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and loopback IP literals; names are not resolved (no DNS on a kiosk)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Port 0 asks the OS for a free port; reusing addresses lets `paysim` restart at once.
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], family: socket.AddressFamily, sim: GatewaySimulator) -> None:
        self.address_family = family
        self.sim = sim
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hung up mid-answer (it timed out) is normal here; never print tracebacks.
        log.debug("connection from %s ended with an error", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "kiosk-paysim/1"
    timeout = CLIENT_SOCKET_TIMEOUT_S

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        # Request lines carry no codes (they travel in bodies); keep them out of the way at debug level.
        log.debug("%s %s", self.address_string(), format % args)

    def _serve(self, method: str) -> None:
        try:
            reply = self._answer(method)
        except Exception:
            log.exception("simulator failed on %s %s", method, self.path)
            reply = json_error(500, "the simulator failed on this request; see its log")
        self._write(reply)

    def _answer(self, method: str) -> SimReply:
        path = self.path.split("?", 1)[0]
        length_text = self.headers.get("Content-Length", "0")
        # ASCII digits only: "²" is a digit to str.isdigit() but not to int()
        if not (length_text.isascii() and length_text.isdigit()):
            return json_error(400, "Content-Length must be a whole number of bytes", "content-length")
        digits = length_text.lstrip("0") or "0"
        # compare lengths first: int() refuses strings of more than 4300 digits
        if len(digits) > len(str(MAX_BODY_BYTES)) or int(digits) > MAX_BODY_BYTES:
            return json_error(413, f"the body is larger than {MAX_BODY_BYTES} bytes", "body")
        length = int(digits)
        try:
            body = self.rfile.read(length) if length else b""
        except OSError:  # the client stalled (socket timeout) or hung up mid-body
            body = b""
        if len(body) != length:
            return json_error(400, "the body is shorter than its Content-Length; send the whole body", "body")
        request = SimRequest(
            method=method,
            path=path,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        sim = self.server.sim
        if path == "/healthz":
            return json_reply(200, {"ok": True})
        if path == "/v1/ledger":
            if method != "GET":
                return json_error(405, f"{path} takes GET, not {method}")
            return sim.ledger_reply()
        if path == "/v1/admin/next":
            return sim.admin_next(method, body)
        sim.wait_latency()
        for protocol in sim.protocols:
            reply = protocol.handle(request, sim.bank)
            if reply is not None:
                return reply
        return json_error(404, f"no such endpoint: {method} {path}")

    def _write(self, reply: SimReply) -> None:
        if reply.drop:
            # Play a network that loses the answer: the charge is recorded, the caller hears nothing.
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        if reply.delay_s > 0:
            self.server.sim.wait(reply.delay_s)
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
        except OSError:
            log.debug("client went away before the answer to %s", self.path)


class GatewaySimulator:
    """The simulator's HTTP server; ``start()`` it (or use ``with``), read ``.url``, ``stop()`` it.

    ``latency_s`` delays every protocol answer, to play a slow network or gateway. It speaks the
    WeChat Pay and Alipay protocols it is given credentials for (``wechat``, ``alipay``, or
    :meth:`with_credentials`); ``protocols`` adds others (tests).
    ``clock`` is for the password delay only (monotonic seconds).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        latency_s: float = 0.0,
        *,
        password_delay_s: float = 2.0,
        allow_remote: bool = False,
        protocols: Sequence[SimProtocol] | None = None,
        clock: Callable[[], float] = time.monotonic,
        wechat: SimWechatConfig | None = None,
        alipay: SimAlipayConfig | None = None,
        slow_s: float = 1.0,
    ) -> None:
        if not allow_remote and not is_loopback_host(host):
            raise ValueError(
                f"host {host!r} is not a loopback address; the simulator says 'paid' to whoever asks, "
                "so bind 127.0.0.1 (or pass allow_remote=True / --allow-remote on a closed test network)"
            )
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"port must be from 0 (any free port) to 65535, got {port!r}")
        if not 0 <= latency_s <= MAX_LATENCY_S:
            raise ValueError(f"latency_s must be from 0 to {MAX_LATENCY_S:g} seconds, got {latency_s!r}")
        self.host = host
        self.port = port
        self.latency_s = latency_s
        self.bank = SimulatedBank(password_delay_s=password_delay_s, clock=clock)
        if not 0 <= slow_s <= MAX_LATENCY_S:
            raise ValueError(f"slow_s must be from 0 to {MAX_LATENCY_S:g} seconds, got {slow_s!r}")
        self.bank.slow_s = slow_s
        chosen: list[SimProtocol] = list(protocols or ())
        if wechat is not None:
            chosen.append(WechatProtocol(wechat))
        if alipay is not None:
            chosen.append(AlipayProtocol(alipay))
        if not chosen:
            raise ValueError(
                "the simulator speaks WeChat Pay v2 and Alipay: give it their credentials "
                "(GatewaySimulator.with_credentials, or paysim --make-credentials DIR then --credentials DIR)"
            )
        self.protocols: tuple[SimProtocol, ...] = tuple(chosen)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    @classmethod
    def with_credentials(cls, creds: SimCredentials, **kwargs: Any) -> GatewaySimulator:
        """A simulator speaking both channels with the keys in ``creds`` (see ``paysim.credentials``)."""
        return cls(wechat=creds.wechat_sim(), alipay=creds.alipay_sim(), **kwargs)

    @property
    def url(self) -> str:
        """``http://host:port`` of the running server (IPv6 hosts in brackets)."""
        if self._server is None:
            raise RuntimeError("the simulator is not running; call start() first")
        shown = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{shown}:{self._server.server_port}"

    def start(self) -> GatewaySimulator:
        """Bind and serve in a background thread; raises OSError when the port is taken."""
        if self._server is not None:
            raise RuntimeError("the simulator is already running")
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        self._stopping.clear()
        self._server = _Server((self.host, self.port), family, self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="paysim-http", daemon=True
        )
        self._thread.start()
        log.info("payment simulator listening on %s", self.url)
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop serving and close the socket, waiting at most ``timeout_s`` for the server thread."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._stopping.set()  # wakes handlers sleeping in the simulated latency
        # shutdown() blocks until serve_forever notices; run it aside so this wait stays bounded.
        threading.Thread(target=server.shutdown, name="paysim-shutdown", daemon=True).start()
        thread.join(timeout_s)
        if thread.is_alive():
            log.warning("payment simulator thread did not stop within %.1f s", timeout_s)
        server.server_close()
        self._server = self._thread = None

    def __enter__(self) -> GatewaySimulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # --- used by the request handler ------------------------------------------------------------

    def wait_latency(self) -> None:
        if self.latency_s > 0:
            self._stopping.wait(self.latency_s)

    def wait(self, seconds: float) -> None:
        self._stopping.wait(seconds)

    def admin_next(self, method: str, body: bytes) -> SimReply:
        """``POST /v1/admin/next {"outcome": ...}``: script the next new pay's outcome;
        ``{"refund": "drop"}`` the next refund call's (made, then its answer lost)."""
        if method != "POST":
            return json_error(405, f"/v1/admin/next takes POST, not {method}")
        try:
            data = json.loads(body.decode("utf-8"))
            if isinstance(data, dict) and "refund" in data and "outcome" not in data:
                try:
                    self.bank.script_next_refund(str(data["refund"]))
                except ValueError:
                    return json_error(
                        400, f'send {{"refund": ...}} with one of {", ".join(REFUND_OUTCOMES)}', "refund"
                    )
                return json_reply(200, {"next_refund": data["refund"]})
            outcome = data["outcome"] if isinstance(data, dict) else None
            self.bank.script_next(str(outcome))
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            return json_error(400, f'send {{"outcome": ...}} with one of {", ".join(OUTCOMES)}', "outcome")
        return json_reply(200, {"next": outcome})

    def ledger_reply(self) -> SimReply:
        entries = self.bank.ledger()
        charged = sum(e.amount_fen for e in entries if e.kind == "charge")
        reversed_ = sum(e.amount_fen for e in entries if e.kind == "reversal")
        refunded = sum(e.amount_fen for e in entries if e.kind == "refund")
        return json_reply(
            200,
            {
                "entries": [e.as_json() for e in entries],
                "charged_fen": charged,
                "reversed_fen": reversed_,
                "refunded_fen": refunded,
                "net_fen": charged - reversed_ - refunded,
            },
        )
