"""HQ's listening sockets say they are TCP, so asyncio turns Nagle off on every connection.

asyncio sets TCP_NODELAY only on sockets whose ``proto`` is IPPROTO_TCP; a socket made with the
default proto 0 kept Nagle on, and every answer after the first on a kept-alive connection (all a
kiosk's sync requests) waited about 40 ms for the client's delayed ACK.
"""

from __future__ import annotations

import asyncio
import socket

from hq.background import BackgroundServer
from hq.serving import _bind


def _accepted_nodelay(listener: socket.socket) -> int:
    """TCP_NODELAY on the transport asyncio makes for a connection accepted on ``listener``."""
    listener.listen()
    port = listener.getsockname()[1]
    seen: list[int] = []

    async def main() -> None:
        accepted = asyncio.Event()

        def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            sock = writer.get_extra_info("socket")
            seen.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()
            accepted.set()

        server = await asyncio.start_server(on_connect, sock=listener)
        _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await asyncio.wait_for(accepted.wait(), 30)
        writer.close()
        server.close()
        await server.wait_closed()

    asyncio.run(main())
    return seen[0]


def test_hq_serve_socket_gets_nodelay_connections() -> None:
    sock = _bind("127.0.0.1", 0)
    assert sock.proto == socket.IPPROTO_TCP
    assert _accepted_nodelay(sock) != 0


def test_background_server_socket_gets_nodelay_connections() -> None:
    server = BackgroundServer(app=None, port=0)
    sock = server._sock
    assert sock.proto == socket.IPPROTO_TCP
    assert _accepted_nodelay(sock) != 0
