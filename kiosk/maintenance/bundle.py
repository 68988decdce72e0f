"""The support bundle: one .tar.gz that tells support what happened, with every secret removed.

It holds the kiosk's recent logs, its effective settings, the doctor's report, the recent audit
events and a summary of the outbox, plus the app and OS versions. Every text in it passes through
``kiosk_common.masking.scrub_secrets`` with the kiosk's own secrets named (the HQ signing secret from
the credentials file, the WeChat Pay API key, the payment-code key, the contents of the private-key
files), so a secret is removed even where no pattern would know it; the settings lose their secret
values by name before that. The bundle is written 0600 to a folder the caller names (a USB stick), or
uploaded to HQ (``kiosk.maintenance.upload``).

The store is read read-only with plain SQLite, and the doctor runs in a child process
(``kiosk doctor --json``), so making a bundle never disturbs the running kiosk's store or devices.
"""

from __future__ import annotations

import io
import json
import platform
import sqlite3
import subprocess
import sys
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kiosk.maintenance.backup import free_name
from kiosk.settings import SECRET_KEYS, Settings
from kiosk_common.files import write_new_private
from kiosk_common.masking import REMOVED, scrub_secrets

#: how much of the journal goes in
LOG_LINES = 5000
#: recent audit rows in the bundle
EVENT_ROWS = 500
DOCTOR_TIMEOUT_S = 120.0
#: setting names whose values are secret wherever they appear (besides SECRET_KEYS)
_SECRET_NAME_PARTS = ("secret", "password", "token", "api_key", "private_key")


@dataclass(frozen=True, slots=True)
class BundleSources:
    """Where each part comes from; a test (or the kiosk) passes its own readers."""

    settings: Settings
    app_version: str
    #: the recent kiosk log as text
    logs: Callable[[], str]
    #: the doctor's report as text (JSON)
    doctor: Callable[[], str]


# --- gathering ------------------------------------------------------------------------------------


def known_secrets(settings: Settings) -> tuple[str, ...]:
    """The secret values this kiosk holds, as they could appear in text: each is removed wherever
    it appears in the bundle, in any case. A file that cannot be read adds nothing (and nothing of
    it can leak either)."""
    found: list[str] = []
    if settings.payments.wechat.api_key:
        found.append(settings.payments.wechat.api_key)
    try:
        data = json.loads(settings.hq_credentials_path.read_text("utf-8"))
        if isinstance(data, dict) and isinstance(data.get("secret"), str):
            found.append(data["secret"])
    except (OSError, ValueError):
        pass
    key = settings.store_path.with_name(settings.store_path.name + ".key")
    for path in (
        key,
        Path(settings.payments.wechat.key_file) if settings.payments.wechat.key_file else None,
        Path(settings.payments.alipay.app_private_key_file)
        if settings.payments.alipay.app_private_key_file
        else None,
    ):
        if path is None:
            continue
        try:
            raw = path.read_bytes()
        except OSError:
            continue
        found.append(raw.hex())
        text = raw.decode("utf-8", "replace")
        found += [
            line.strip() for line in text.splitlines() if len(line.strip()) >= 16 and "-----" not in line
        ]
    return tuple(found)


def redacted_settings(settings: Settings) -> dict[str, Any]:
    """The effective settings with every secret value replaced by ``[removed]`` (paths stay)."""
    data: dict[str, Any] = settings.model_dump(mode="json")
    for keys in SECRET_KEYS:
        node: Any = data
        for k in keys[:-1]:
            node = node.get(k, {}) if isinstance(node, dict) else {}
        if isinstance(node, dict) and node.get(keys[-1]):
            node[keys[-1]] = REMOVED

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if isinstance(v, str) and v and any(p in k.lower() for p in _SECRET_NAME_PARTS):
                    if not k.lower().endswith("_file"):
                        node[k] = REMOVED
                else:
                    walk(v)

    walk(data)
    return data


def recent_events(store: Path, limit: int = EVENT_ROWS) -> list[dict[str, str]]:
    """The newest audit rows, read-only (``at`` UTC, actor, action, detail)."""
    con = _read_only(store)
    try:
        rows = con.execute(
            "SELECT at, actor, action, detail FROM audit_log ORDER BY id DESC LIMIT ?", (limit,)
        ).fetchall()
    finally:
        con.close()
    return [{"at": str(a), "actor": str(b), "action": str(c), "detail": str(d)} for a, b, c, d in rows]


def outbox_summary(store: Path) -> dict[str, Any]:
    """How many events of each kind wait, went, or were parked; the oldest waiting; parked reasons."""
    con = _read_only(store)
    try:
        by = con.execute("SELECT kind, state, COUNT(*) FROM outbox GROUP BY kind, state").fetchall()
        oldest = con.execute("SELECT MIN(created_at) FROM outbox WHERE state = 'pending'").fetchone()[0]
        parked = con.execute(
            "SELECT kind, parked_reason FROM outbox WHERE state = 'parked' ORDER BY id DESC LIMIT 20"
        ).fetchall()
    finally:
        con.close()
    return {
        "counts": [{"kind": k, "state": s, "count": n} for k, s, n in by],
        "oldest_pending_at": oldest,
        "parked": [{"kind": k, "reason": r} for k, r in parked],
    }


def _read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30.0)


def os_version() -> str:
    """The OS as /etc/os-release names it, and the kernel."""
    pretty = ""
    try:
        for line in Path("/etc/os-release").read_text("utf-8").splitlines():
            if line.startswith("PRETTY_NAME="):
                pretty = line.partition("=")[2].strip().strip('"')
    except OSError:
        pass
    return f"{pretty or platform.system()} (kernel {platform.release()})"


def journal_logs(unit: str = "kiosk", lines: int = LOG_LINES) -> str:
    """The unit's recent journal; a sentence instead when the journal cannot be read here."""
    try:
        done = subprocess.run(
            ["journalctl", "-u", unit, "-n", str(lines), "--no-pager", "-o", "short-iso-precise"],
            capture_output=True,
            text=True,
            timeout=60.0,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"(the journal could not be read: {type(exc).__name__})\n"
    if done.returncode != 0:
        return f"(journalctl exited {done.returncode}: {done.stderr.strip()[:200]})\n"
    return done.stdout


def doctor_in_child(config: Path | None) -> Callable[[], str]:
    """``kiosk doctor --json`` in a child process: it opens the store and devices itself, which in
    the kiosk's own process would disturb the running kiosk."""

    def run() -> str:
        argv = [sys.executable, "-m", "kiosk", "doctor", "--json"]
        if config is not None:
            argv += ["--config", str(config)]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=DOCTOR_TIMEOUT_S, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return json.dumps({"error": f"kiosk doctor did not finish: {type(exc).__name__}"})
        return done.stdout or json.dumps({"error": done.stderr.strip()[-500:]})

    return run


# --- the bundle -----------------------------------------------------------------------------------


def bundle_files(sources: BundleSources, now: datetime) -> dict[str, str]:
    """Each file of the bundle, name -> text, every text scrubbed of secrets."""
    s = sources.settings
    secrets = known_secrets(s)

    def guarded(read: Callable[[], Any]) -> Any:
        try:
            return read()
        except Exception as exc:  # a bundle is for when things are broken: say what failed, go on
            return {"error": f"{type(exc).__name__}: {str(exc)[:300]}"}

    store = s.store_path
    raw = {
        "README.txt": (
            f"Support bundle of kiosk {s.kiosk.id}, made {now.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}.\n"
            "Secrets (keys, PINs, payment codes, tokens, phone numbers) are removed from every file.\n"
        ),
        "versions.json": json.dumps(
            {"app": sources.app_version, "os": os_version(), "python": platform.python_version()}, indent=2
        ),
        "config.json": json.dumps(redacted_settings(s), ensure_ascii=False, indent=2),
        "doctor.json": str(guarded(sources.doctor)),
        "events.json": json.dumps(guarded(lambda: recent_events(store)), ensure_ascii=False, indent=2),
        "outbox.json": json.dumps(guarded(lambda: outbox_summary(store)), ensure_ascii=False, indent=2),
        "logs.txt": str(guarded(sources.logs)),
    }
    return {name: scrub_secrets(text, secrets) for name, text in raw.items()}


def build_bundle(sources: BundleSources, now: datetime | None = None) -> bytes:
    """The bundle as .tar.gz bytes (files under ``<kiosk>-support-<time>/``)."""
    at = now or datetime.now(UTC)
    top = f"{sources.settings.kiosk.id}-support-{at.astimezone(UTC):%Y%m%dT%H%M%SZ}"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, text in bundle_files(sources, at).items():
            data = text.encode("utf-8")
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size, info.mode, info.mtime = len(data), 0o600, int(at.timestamp())
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def write_bundle(data: bytes, folder: Path, kiosk_id: str, now: datetime | None = None) -> Path:
    """Write the bundle 0600 into ``folder`` under a new name (never over a file); its path."""
    at = now or datetime.now(UTC)
    if not folder.is_dir():
        from kiosk.maintenance.backup import localized_error

        raise localized_error("backup.no_folder", path=folder)
    path = free_name(folder, f"{kiosk_id}-support-{at.astimezone(UTC):%Y%m%dT%H%M%SZ}.tar.gz")
    write_new_private(path, data)
    return path
