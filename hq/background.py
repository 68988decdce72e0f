"""HQ served from a thread of another program: the kiosk demo and the tests run a real HQ this way.

The socket is bound before uvicorn starts, so the port is known (and taken) at once; ``start``
returns when uvicorn reports it is serving, and ``stop`` waits for the thread, bounded.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any


class BackgroundServer:
    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0, name: str = "hq") -> None:
        import uvicorn

        # IPPROTO_TCP so asyncio sets TCP_NODELAY on each connection (see hq.serving._bind)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.host = host
        self.port: int = self._sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, host=host, port=self.port, log_level="warning"))
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self._sock]}, name=name, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout_s: float = 10.0) -> BackgroundServer:
        self.thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                self.stop()
                raise RuntimeError(f"HQ did not start on {self.url} within {timeout_s} s")
            time.sleep(0.02)
        return self

    def stop(self, timeout_s: float = 10.0) -> bool:
        """Ask uvicorn to finish and wait for its thread; False if it is still running after the wait."""
        self.server.should_exit = True
        if self.thread.is_alive():
            self.thread.join(timeout_s)
        self._sock.close()
        return not self.thread.is_alive()
