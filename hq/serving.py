"""``hq serve``: HQ in one process, or in several uvicorn worker processes sharing one port.

With one worker (the default) the app is built here and served in this process. With more, this
process becomes uvicorn's supervisor: it checks everything first (builds the app once, which opens
the database, applies the migrations and makes HQ's identity file, so workers never race to
migrate and a bad setting fails here with the usual message), binds the port, then starts N worker
processes. Each worker rebuilds the app from the very settings this process resolved (``--config``,
``--db``, ``HQ_*`` variables and all), read from a 0600 file in a private 0700 folder that also
holds the workers' Prometheus counters (``hq.metrics``); the folder is removed when HQ stops.
SIGTERM or Ctrl-C stops the workers, each finishing the requests it has, then this process.

SQLite works with several workers (each request opens its own connection; writers take turns on
the lock), but a fleet belongs on PostgreSQL.
"""

from __future__ import annotations

import logging
import logging.config
import os
import shutil
import signal
import socket
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from hq import i18n
from hq.cli_common import EXIT_FAILED, EXIT_OK
from hq.cli_common import say as _say
from hq.logs import logging_config
from hq.metrics import MULTIPROC_ENV
from hq.settings import HqSettings, redact_url

if TYPE_CHECKING:
    from fastapi import FastAPI

log = logging.getLogger(__name__)

#: names the file a worker process reads its settings from
SETTINGS_FILE_ENV = "HQ_SERVE_SETTINGS_FILE"


def build_app(settings: HqSettings) -> FastAPI:
    """The HQ app for ``settings``: the one place both serving modes (and every worker) build it."""
    from hq.app import create_app

    app = create_app(settings.database.url, settings.auth, webhooks=settings.webhooks)
    app.state.receipts = settings.receipts
    return app


def worker_app() -> FastAPI:
    """uvicorn's app factory in each worker process (``hq.serving:worker_app``)."""
    path = os.environ.get(SETTINGS_FILE_ENV)
    if not path:
        raise RuntimeError(f"{SETTINGS_FILE_ENV} is not set: worker processes are started by `hq serve`")
    settings = HqSettings.model_validate_json(Path(path).read_text(encoding="utf-8"))
    return build_app(settings)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio turns Nagle off (TCP_NODELAY) only on sockets that say they are TCP,
    # and with Nagle on, every answer after the first on a kept-alive connection waits ~40 ms for
    # the client's delayed ACK
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


@contextmanager
def _private_folder() -> Iterator[Path]:
    """A 0700 folder for the workers' settings and counters, removed afterwards whatever happens."""
    folder = Path(tempfile.mkdtemp(prefix="hq-serve-"))
    try:
        os.chmod(folder, 0o700)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _stopped(signum: int, frame: object) -> None:
    """End with 0: uvicorn has stopped gracefully when it raises the signal again (or had not
    started serving yet, when there was nothing to finish)."""
    raise SystemExit(EXIT_OK)


def serve(settings: HqSettings) -> int:
    """Run HQ until SIGTERM or Ctrl-C. Raises ``hq.db.DatabaseOpenError`` for the CLI to report."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    server = settings.server
    log_config = logging_config(server.log_format)
    logging.config.dictConfig(log_config)
    app = build_app(settings)  # opens and migrates the database once, before any worker starts
    try:
        sock = _bind(server.host, server.port)
    except OSError as exc:
        _say(i18n.CANNOT_LISTEN.format(host=server.host, port=server.port, reason=exc.strerror or exc))
        return EXIT_FAILED
    bound_port = sock.getsockname()[1]
    shown_host = f"[{server.host.strip('[]')}]" if sock.family == socket.AF_INET6 else server.host
    url = f"http://{shown_host}:{bound_port}"
    _say(i18n.LISTENING.format(url=url, db=redact_url(settings.database.url)), sys.stdout)
    try:
        if server.workers == 1:
            config = uvicorn.Config(app, host=server.host, port=bound_port, log_config=log_config)
            # uvicorn stops gracefully on SIGTERM/SIGINT, then raises the signal again for the
            # handler it found; this one ends the process there with 0, as with several workers
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, _stopped)
            uvicorn.Server(config).run(sockets=[sock])
            return EXIT_OK
        del app  # each worker builds its own
        if settings.database.url.startswith("sqlite"):
            _say(i18n.WORKERS_SQLITE.format(workers=server.workers))
        with _private_folder() as folder:
            counters = folder / "metrics"
            counters.mkdir(mode=0o700)
            settings_file = folder / "settings.json"
            _write_private(settings_file, settings.model_dump_json())
            env = {SETTINGS_FILE_ENV: str(settings_file), MULTIPROC_ENV: str(counters)}
            with _environment(env):
                config = uvicorn.Config(
                    "hq.serving:worker_app",
                    factory=True,
                    host=server.host,
                    port=bound_port,
                    workers=server.workers,
                    log_config=log_config,
                )
                Multiprocess(config, sockets=[sock]).run()
        return EXIT_OK
    finally:
        sock.close()


def openapi_text() -> str:
    """HQ's OpenAPI document as committed in docs/hq-openapi.json: indented JSON, one final newline.

    The app is built on a throwaway SQLite database and identity file, which are removed again: the
    document depends on the code only, never on settings or data.
    """
    import json

    from hq.models import database

    previous = database.obj
    with tempfile.TemporaryDirectory(prefix="hq-openapi-") as folder:
        url = "sqlite:///" + str(Path(folder, "hq.sqlite3")).lstrip("/")
        settings = HqSettings.model_validate(
            {"database": {"url": url}, "auth": {"identity_file": str(Path(folder, "hq-identity.key"))}}
        )
        try:
            document = build_app(settings).openapi()
        finally:
            if database.obj is not None:
                database.obj.close()
            database.initialize(previous)
            from hq import db as hq_db

            hq_db._bound_url.clear()
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def write_openapi(out: Path | None) -> int:
    """``hq openapi [--out FILE]``: print the document, or write it to FILE (0600, replaced whole)."""
    text = openapi_text()
    if out is None:
        sys.stdout.write(text)
        return EXIT_OK
    partial = out.with_name(f".{out.name}.partial")
    try:
        partial.unlink(missing_ok=True)
        _write_private(partial, text)
        os.replace(partial, out)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        _say(i18n.OPENAPI_UNWRITABLE.format(path=out, reason=exc.strerror or exc))
        return EXIT_FAILED
    _say(i18n.OPENAPI_WRITTEN.format(path=out))
    return EXIT_OK
