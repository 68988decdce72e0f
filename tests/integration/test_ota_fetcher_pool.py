"""A refused or abandoned download never hands its connection back to the pool with body unread.

urllib3 keeps connections alive; a response released with its body still in the socket leaves
that body for the next request on the connection to read as its status line (``BadStatusLine``),
and the request is only saved by urllib3's retry. The server counts every request it answers, so
a request sent twice (once on the poisoned connection, once on the retry) shows.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from tuf.api import exceptions

from ota.updater import ResumingFetcher

BODY = b"x" * 4096


def _handler(seen: Counter[str]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as HQ behind uvicorn

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            seen[self.path] += 1
            if self.path.startswith("/missing"):
                body = b"not found: " + b"." * 2000
                self.send_response(404)
            else:
                body = BODY
                self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


@pytest.fixture
def server() -> Iterator[tuple[str, Counter[str]]]:
    seen: Counter[str] = Counter()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(seen))
    thread = threading.Thread(target=httpd.serve_forever, name="test-keepalive", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", seen
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


def test_a_404_leaves_the_connection_clean_for_the_next_request(server: tuple[str, Counter[str]]) -> None:
    base, seen = server
    fetcher = ResumingFetcher()
    with pytest.raises(exceptions.DownloadHTTPError):
        b"".join(fetcher.fetch(f"{base}/missing/timestamp.json"))
    assert b"".join(fetcher.fetch(f"{base}/metadata/timestamp.json")) == BODY
    assert seen["/metadata/timestamp.json"] == 1, "the request was sent twice: the first read a stale body"


def test_a_download_cut_short_by_its_limit_leaves_the_connection_clean(
    server: tuple[str, Counter[str]], tmp_path: Path
) -> None:
    base, seen = server
    fetcher = ResumingFetcher(partial_dir=tmp_path, resume_under=f"{base}/targets/")
    with (
        pytest.raises(exceptions.DownloadLengthMismatchError),
        fetcher.download_file(f"{base}/targets/a.tar", 100),
    ):
        pass
    assert b"".join(fetcher.fetch(f"{base}/metadata/snapshot.json")) == BODY
    assert seen["/metadata/snapshot.json"] == 1, "the request was sent twice: the first read a stale body"
