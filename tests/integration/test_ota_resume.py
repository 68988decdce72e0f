"""A target download that breaks off halfway resumes with an HTTP Range, and is verified whole.

The server is a small static one on 127.0.0.1 over the repository folder (what a mirror would be),
because it must drop the first connection mid-body on purpose, which HQ never does.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ota import keys as keyfiles
from ota.repo import Repository
from ota.updater import PARTIAL, Refused, TufUpdater, Unreachable, trust_root

NAME = "kiosk-2.0.0.tar"
SIZE = 600_000


@dataclass
class Mirror:
    root: Path
    #: bytes of the target's body sent before the connection is cut, on the first request only
    cut_after: int | None = None
    ranges: list[str | None] = field(default_factory=list)


def _handler(mirror: Mirror) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            kind, _, name = self.path.lstrip("/").partition("/")
            path = mirror.root / kind / name
            if kind not in ("metadata", "targets") or "/" in name or not path.is_file():
                self.send_error(404)
                return
            data = path.read_bytes()
            if kind == "targets":
                mirror.ranges.append(self.headers.get("Range"))
            start = 0
            wanted = self.headers.get("Range")
            if kind == "targets" and wanted and wanted.startswith("bytes=") and wanted.endswith("-"):
                start = int(wanted[6:-1])
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            self.send_header("Content-Length", str(len(data) - start))
            self.end_headers()
            if kind == "targets" and mirror.cut_after is not None:
                self.wfile.write(data[start : start + mirror.cut_after])
                self.wfile.flush()
                mirror.cut_after = None
                self.close_connection = True
                return
            self.wfile.write(data[start:])

    return Handler


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[tuple[Mirror, str]]:
    keys = tmp_path / "keys"
    keyfiles.init_keys(keys)
    repo = Repository.create(tmp_path / "tuf", [keys])
    source = tmp_path / "bundle.tar"
    source.write_bytes(os.urandom(SIZE))
    repo.add_target(source, NAME, {"version": "2.0.0", "min_store_schema": 6, "channels": ["stable"]}, [keys])
    state = Mirror(repo.path)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, name="test-mirror", daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def _updater(tmp_path: Path, url: str, root: bytes) -> TufUpdater:
    meta = tmp_path / "client" / "metadata"
    if not (meta / "root.json").exists():
        trust_root(meta, root)
    return TufUpdater(meta, f"{url}/metadata", f"{url}/targets", tmp_path / "client" / "downloads")


def test_a_broken_download_resumes_with_range_and_is_verified(
    mirror: tuple[Mirror, str], tmp_path: Path
) -> None:
    state, url = mirror
    root = (state.root / "metadata" / "1.root.json").read_bytes()
    state.cut_after = SIZE // 2
    with pytest.raises(Unreachable):
        _updater(tmp_path, url, root).download(NAME)
    part = tmp_path / "client" / "downloads" / PARTIAL
    (partial,) = part.iterdir()
    kept = partial.stat().st_size
    assert 0 < kept <= SIZE // 2
    path = _updater(tmp_path, url, root).download(NAME)
    assert state.ranges == [None, f"bytes={kept}-"]
    (served,) = (state.root / "targets").glob(f"*.{NAME}")
    assert path.read_bytes() == served.read_bytes()
    assert not any(part.iterdir())


def test_a_resumed_download_with_poisoned_bytes_is_refused_and_started_over(
    mirror: tuple[Mirror, str], tmp_path: Path
) -> None:
    """GIVEN a partial file whose bytes are not the release's (disk damage, an attacker)
    WHEN the rest is resumed THEN the whole fails the hash check, the partial is dropped,
    and the next attempt downloads from the start and succeeds."""
    state, url = mirror
    root = (state.root / "metadata" / "1.root.json").read_bytes()
    (served,) = (state.root / "targets").glob(f"*.{NAME}")
    part = tmp_path / "client" / "downloads" / PARTIAL
    part.mkdir(parents=True)
    (part / f"{served.name}.part").write_bytes(b"\0" * 1000)
    with pytest.raises(Refused) as caught:
        _updater(tmp_path, url, root).download(NAME)
    assert caught.value.reason == "mismatch"
    assert not any(part.iterdir())
    path = _updater(tmp_path, url, root).download(NAME)
    assert path.read_bytes() == served.read_bytes()
    assert state.ranges == ["bytes=1000-", None]
