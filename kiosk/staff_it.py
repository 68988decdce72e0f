"""IT's maintenance actions on the real kiosk: settings, network, logs, software version, support
bundle, backup, restore, SSH and exit to desktop, answered as the staff menu shows them (``ActionAnswer``).

Everything here reuses the services the command line uses (``kiosk.maintenance.bundle``,
``backup``, ``upload`` and the diagnostics' network, HQ and gateway checks); the parsing and
formatting is pure, in ``kiosk.maintenance.it_info``. Each action writes one audit row like the
other staff actions (actor ``staff:<id>``, the action's name, a JSON detail with before and after).

A restore cannot replace the store under the running kiosk, so it is STAGED: the chosen backup is
verified and checked against the sales HQ has not acknowledged, copied into the data folder with a
pending-restore marker, and the kiosk stops; a backup at HQ is first downloaded into a scratch folder
in the data folder and checked against HQ's listing and its manifest (``kiosk.maintenance.upload``),
then goes the same way. At the next start :func:`apply_staged_restore` runs
``restore_store`` before the store is opened (the current store is kept aside, never deleted).

SSH is turned on the way a restore gets its file: IT picks a key file on a mounted USB stick (only
one the kiosk listed), every line is checked (``kiosk.maintenance.ssh_keys``) and the fingerprints
shown; turning on writes the checked keys and the request file with its time limit, which the
image's ``kiosk-ssh`` (root) applies. Turning off writes ``off`` and removes the keys file, the
kiosk's own. The audit row names the keys by fingerprint, never the key. ``kiosk-ssh`` lets in only
keys on IT's list (``[maintenance] ssh_allow_list``, root's, readable by all), so the kiosk reads
that list too: without it (or when it cannot be read) the SSH screen says so up front and turning on
is refused; a file none of whose keys is on it is refused before anything is written; only the
listed keys of a file are written, and the screen names the ones left out. The screen calls SSH on
only when the request is in force AND sshd runs: ``kiosk-ssh`` may still refuse (a list only root
may change, the firewall, sshd itself), and then only its journal said why.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import platform
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from kiosk import __version__
from kiosk.i18n import t
from kiosk.maintenance import it_info, ssh_keys
from kiosk.maintenance.backup import (
    MANIFEST_SUFFIX,
    BackupError,
    backup_store,
    localized_error,
    loss_if_restored,
    read_manifest,
    restore_store,
    verify_backup,
)
from kiosk.maintenance.bundle import (
    BundleSources,
    build_bundle,
    known_secrets,
    redacted_settings,
    write_bundle,
)
from kiosk.maintenance.roles import Action
from kiosk.maintenance.upload import HqBackup, fetch_hq_backup, list_hq_backups
from kiosk.ota_link import STATE_FILE, ota_dir, request_check_now
from kiosk.settings import Settings
from kiosk.sync.credentials import CredentialsError
from kiosk.sync.hq_client import HttpHqClient
from kiosk.ui.controller_api import ActionAnswer, ActionArg, ActionItem
from kiosk_common.masking import scrub_secrets

log = logging.getLogger(__name__)

#: the pending-restore marker and the staged copy, in the data folder
PENDING_MARKER = "restore-pending.json"
FAILED_MARKER = "restore-failed.json"
STAGED_DIR = "restore-staged"
#: where a backup from HQ is downloaded and verified before it is staged (emptied after)
DOWNLOAD_DIR = "restore-download"
#: the destination key of HQ; a USB stick's is "usb:" + its mount point
HQ_DESTINATION = "hq"
USB_PREFIX = "usb:"
#: the key of a backup at HQ in the restore list: "hq:" + HQ's name for it
HQ_PREFIX = "hq:"
#: files on a USB stick's top folder offered as SSH keys
SSH_KEY_NAMES = ("authorized_keys", "authorized_keys.txt")
SSH_KEY_SUFFIX = ".pub"
#: after turning SSH on, how long to wait for ``kiosk-ssh`` to start sshd (it is started by a path
#: unit and usually runs within a second or two), and how often to look
SSH_START_WAIT_S = 10.0
SSH_POLL_S = 0.5
#: what ``ssh_active`` says when it cannot tell (no systemd: a development machine)
SSHD_UNKNOWN = "unknown"


class Check(Protocol):
    """One diagnostics verdict (``kiosk.maintenance.diagnostics.Result``)."""

    @property
    def name(self) -> str: ...

    @property
    def failed(self) -> bool: ...

    def label(self, lang: str) -> str: ...

    def text(self, lang: str) -> str: ...


class Checks(Protocol):
    """The diagnostics checks IT's network and software screens reuse."""

    def network(self) -> Check: ...

    def hq(self) -> Check: ...

    def gateway(self) -> Check: ...


def _read(path: str) -> str:
    try:
        return Path(path).read_text("utf-8", "replace")
    except OSError:
        return ""


def _ip_addresses() -> str:
    """``ip -o address``, or (without the ``ip`` tool) the interface names alone."""
    try:
        done = subprocess.run(
            ["ip", "-o", "address"], capture_output=True, text=True, timeout=10.0, check=False
        )
        if done.returncode == 0:
            return done.stdout
    except (OSError, subprocess.TimeoutExpired):
        pass
    return "\n".join(f"{i}: {name} link ?" for i, name in socket.if_nameindex())


@dataclass(slots=True)
class SystemReaders:
    """Where IT's screens read the system; a test passes its own (a fake mount table, a fake log)."""

    mounts: Callable[[], str] = lambda: _read("/proc/self/mounts")
    routes: Callable[[], str] = lambda: _read("/proc/net/route")
    resolv: Callable[[], str] = lambda: _read("/etc/resolv.conf")
    addresses: Callable[[], str] = _ip_addresses
    #: the kiosk's recent log, so many lines (the journal of the kiosk unit)
    logs: Callable[[int], str] | None = None
    #: whether sshd runs now (``systemctl is-active ssh.service``: active, inactive, ...)
    ssh_active: Callable[[], str] = lambda: _ssh_active()
    #: the wall clock (UTC), for SSH's time limit
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    #: waiting between looks at sshd after turning SSH on
    sleep: Callable[[float], None] = time.sleep


def _ssh_active() -> str:
    """``systemctl is-active ssh.service`` (any user may ask), or "unknown" without systemd."""
    try:
        done = subprocess.run(
            ["systemctl", "is-active", "ssh.service"],
            capture_output=True,
            text=True,
            timeout=10.0,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return SSHD_UNKNOWN
    return done.stdout.strip()[:20] or SSHD_UNKNOWN


def _sshd_runs(state: str) -> bool:
    """Whether the screen may call SSH on: sshd active, or no way to tell (no systemd), where the
    request is all there is to go by."""
    return state in ("active", SSHD_UNKNOWN)


class ItConsole:
    """IT's actions; ``run`` answers one, never raising for a staff mistake or a missing stick."""

    def __init__(
        self,
        settings: Settings,
        audit: Callable[[str, str, str], None],
        language: Callable[[], str],
        checks: Checks,
        hq_client: Callable[[], HttpHqClient],
        bundle_sources: Callable[[], BundleSources],
        readers: SystemReaders | None = None,
    ) -> None:
        self.settings = settings
        self._audit_row = audit
        self._language = language
        self.checks = checks
        self.hq_client = hq_client
        self.bundle_sources = bundle_sources
        self.readers = readers or SystemReaders()

    def _t(self, key: str, **fields: object) -> str:
        return t(key, self._language(), **fields)

    def _audit(self, actor: str, action: Action, **detail: Any) -> None:
        self._audit_row(
            actor, str(action), json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str)
        )

    def run(self, actor: str, action: Action, args: dict[str, ActionArg]) -> ActionAnswer:
        """``actor`` is ``staff:<id>``; the caller checked the role already."""
        try:
            match action:
                case Action.CONFIGURE:
                    return self.configure(actor)
                case Action.NETWORK:
                    return self.network(actor)
                case Action.LOGS:
                    lines = args.get("lines")
                    return self.logs(actor, lines if isinstance(lines, int) else None)
                case Action.OTA_CHECK:
                    return self.software(actor, check_now=args.get("check") == "now")
                case Action.SUPPORT_BUNDLE | Action.BACKUP:
                    to = args.get("to")
                    if not isinstance(to, str) or not to:
                        return self.destinations()
                    return (
                        self.bundle(actor, to) if action is Action.SUPPORT_BUNDLE else self.backup(actor, to)
                    )
                case Action.RESTORE:
                    file = args.get("file")
                    if not isinstance(file, str) or not file:
                        return self.backups()
                    return self.stage_restore(actor, file)
                case Action.SSH:
                    return self.ssh(actor, args)
                case Action.EXIT_TO_DESKTOP:
                    self._audit(
                        actor, action, before={"running": True}, after={"exit_code": it_info.EXIT_TO_DESKTOP}
                    )
                    return ActionAnswer(ok=True, message=self._t("it.exit.stopping"))
                case _:
                    return ActionAnswer(ok=False, message=self._t("maint.console.not_offered"))
        except BackupError as exc:
            return ActionAnswer(
                ok=False, message=self._t("maint.console.failed", reason=exc.text(self._language()))
            )
        except CredentialsError as exc:
            return ActionAnswer(ok=False, message=self._t("it.not_enrolled", reason=str(exc)[:200]))

    # --- reading -----------------------------------------------------------------------------------

    def configure(self, actor: str) -> ActionAnswer:
        data = redacted_settings(self.settings)
        text = scrub_secrets("\n".join(it_info.settings_lines(data)), known_secrets(self.settings))
        self._audit(actor, Action.CONFIGURE, after={"shown": "settings, secrets removed"})
        return ActionAnswer(ok=True, message=self._t("it.settings.read_only"), text=text)

    def network(self, actor: str) -> ActionAnswer:
        r = self.readers
        lang = self._language()
        lines = [self._t("it.net.interfaces")]
        for name, addresses in it_info.interface_addresses(r.addresses()).items():
            lines.append(f"  {name}: {', '.join(addresses)}")
        route = it_info.default_route(r.routes())
        lines.append(
            self._t("it.net.route", gateway=route.gateway, interface=route.interface)
            if route
            else self._t("it.net.no_route")
        )
        dns = it_info.dns_servers(r.resolv())
        lines.append(self._t("it.net.dns", servers=", ".join(dns) if dns else "-"))
        checks = [self.checks.network(), self.checks.hq(), self.checks.gateway()]
        lines += [f"[{c.label(lang)}] {c.name}: {c.text(lang)}" for c in checks]
        failed = [c.name for c in checks if c.failed]
        self._audit(
            actor,
            Action.NETWORK,
            after={"route": route.gateway if route else None, "dns": dns, "failed": failed},
        )
        message = (
            self._t("maint.console.done")
            if not failed
            else self._t("maint.console.diag_failed", n=len(failed))
        )
        return ActionAnswer(ok=not failed, message=message, text="\n".join(lines))

    def logs(self, actor: str, lines: int | None) -> ActionAnswer:
        n = max(10, min(lines or self.settings.maintenance.log_lines, 5000))
        read = self.readers.logs
        if read is None:
            from kiosk.maintenance.bundle import journal_logs

            read = lambda k: journal_logs(lines=k)  # noqa: E731
        text = scrub_secrets(it_info.tail(read(n), n), known_secrets(self.settings))
        self._audit(actor, Action.LOGS, after={"lines": n})
        return ActionAnswer(ok=True, message=self._t("it.logs.shown", n=n), text=text)

    def software(self, actor: str, check_now: bool = False) -> ActionAnswer:
        """The installed release and the update agent's own state (``<data>/ota/state.json``:
        running release, phase, last message, reports not yet at HQ), whether HQ answers, and the
        maintenance window. ``check_now`` asks the agent to poll HQ at once: the kiosk user may not
        signal the agent's service, so it writes ``<data>/ota/check-now``, which the agent's loop
        takes (docs/ota.md)."""
        lang = self._language()
        folder = ota_dir(self.settings.kiosk.data_dir)
        lines = [
            self._t(
                "it.ota.version",
                version=__version__,
                python=platform.python_version(),
                machine=platform.machine(),
            )
        ]
        state = self._agent_state(folder / STATE_FILE, lines)
        window = self.settings.ota.maintenance_window
        lines.append(self._t("it.ota.window", window=window) if window else self._t("it.ota.any_time"))
        hq = self.checks.hq()
        lines.append(f"[{hq.label(lang)}] {hq.name}: {hq.text(lang)}")
        message, ok = self._t("it.ota.shown"), True
        if check_now:
            try:
                request_check_now(self.settings.kiosk.data_dir)
                message = self._t("it.ota.check_asked")
            except OSError as exc:
                message, ok = self._t("it.ota.check_failed", reason=exc.strerror or str(exc)), False
        self._audit(
            actor,
            Action.OTA_CHECK,
            after={
                "version": __version__,
                "agent_state": state.get("state") if state else None,
                "check_now": check_now and ok,
                "hq_failed": hq.failed,
            },
        )
        return ActionAnswer(ok=ok, message=message, text="\n".join(lines))

    def _agent_state(self, path: Path, lines: list[str]) -> dict[str, Any] | None:
        """Read the agent's state file and add its lines; None when there is none (or it is unreadable)."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            lines.append(self._t("it.ota.no_agent", path=path))
            return None
        except (OSError, ValueError) as exc:
            lines.append(self._t("it.ota.unreadable", path=path, reason=str(exc)[:200]))
            return None
        if not isinstance(data, dict):
            lines.append(self._t("it.ota.unreadable", path=path, reason="not a JSON object"))
            return None
        phase = str(data.get("state", ""))[:32]
        label = self._t(f"it.ota.state.{phase}") if phase in it_info.OTA_PHASES else phase or "?"
        lines.append(
            self._t(
                "it.ota.agent",
                state=label,
                running=str(data.get("running") or "-")[:64],
                at=str(data.get("at") or "-")[:32],
            )
        )
        if data.get("version"):
            lines.append(self._t("it.ota.target", version=str(data["version"])[:64]))
        if data.get("detail"):
            lines.append(
                self._t(
                    "it.ota.detail",
                    detail=scrub_secrets(str(data["detail"])[:500], known_secrets(self.settings)),
                )
            )
        failed = [str(v)[:64] for v in data.get("failed", []) if isinstance(v, str)][:10]
        if failed:
            lines.append(self._t("it.ota.failed", versions=", ".join(failed)))
        unsent = data.get("unsent")
        if isinstance(unsent, list) and unsent:
            lines.append(self._t("it.ota.unsent", n=len(unsent)))
        return data

    # --- destinations --------------------------------------------------------------------------------

    def usb_sticks(self) -> list[Path]:
        return [
            Path(p) for p in it_info.usb_mounts(self.readers.mounts(), self.settings.maintenance.usb_roots)
        ]

    def destinations(self) -> ActionAnswer:
        """Where a bundle or backup may go: each mounted USB stick, then HQ."""
        sticks = self.usb_sticks()
        items = [ActionItem(USB_PREFIX + str(p), self._t("it.dest.usb", path=p)) for p in sticks]
        items.append(ActionItem(HQ_DESTINATION, self._t("it.dest.hq", url=self.settings.hq.url)))
        message = self._t("it.dest.pick") if sticks else self._t("it.usb.insert")
        return ActionAnswer(ok=True, message=message, items=tuple(items))

    def _stick(self, destination: str) -> Path:
        """The stick a destination key names, if it is still mounted (outside input: checked)."""
        wanted = destination.removeprefix(USB_PREFIX)
        for stick in self.usb_sticks():
            if str(stick) == wanted:
                return stick
        raise localized_error("it.usb.gone", path=wanted)

    def bundle(self, actor: str, to: str) -> ActionAnswer:
        data = build_bundle(self.bundle_sources())
        if to == HQ_DESTINATION:
            from kiosk.maintenance.upload import upload_to_hq

            client = self.hq_client()
            try:
                done = upload_to_hq(client, "bundle", data)
            finally:
                client.close()
            name, size, digest = done.name, done.size, done.sha256
        else:
            import hashlib

            path = write_bundle(data, self._stick(to), self.settings.kiosk.id)
            name, size, digest = str(path), len(data), hashlib.sha256(data).hexdigest()
        self._audit(actor, Action.SUPPORT_BUNDLE, to=to, after={"file": name, "size": size, "sha256": digest})
        text = self._t("it.file", name=name, size=it_info.human_size(size), sha256=digest)
        return ActionAnswer(ok=True, message=self._t("it.bundle.done"), text=text)

    def backup(self, actor: str, to: str) -> ActionAnswer:
        """A backup, verified (checksum and a test restore) before it is called done."""
        s = self.settings
        if to == HQ_DESTINATION:
            from kiosk.maintenance.upload import backup_to_hq

            client = self.hq_client()
            try:
                uploaded, manifest = backup_to_hq(s.store_path, s.kiosk.id, __version__, client)
            finally:
                client.close()
            name, size, digest, sales = (
                uploaded.name,
                uploaded.size,
                uploaded.sha256,
                manifest.counts.sales_recorded,
            )
        else:
            done = backup_store(s.store_path, self._stick(to), s.kiosk.id, __version__)
            name, size, digest = str(done.file), done.manifest.size, done.manifest.sha256
            sales = done.manifest.counts.sales_recorded
        self._audit(
            actor,
            Action.BACKUP,
            to=to,
            after={"file": name, "size": size, "sha256": digest, "verified": True},
        )
        text = "\n".join(
            (
                self._t("it.file", name=name, size=it_info.human_size(size), sha256=digest),
                self._t("it.backup.verified", sales=sales),
            )
        )
        return ActionAnswer(ok=True, message=self._t("it.backup.done"), text=text)

    # --- SSH ---------------------------------------------------------------------------------------

    def ssh(self, actor: str, args: dict[str, ActionArg]) -> ActionAnswer:
        """``ssh()``: where SSH stands and the key files on the sticks (not ok, and no files, when
        this kiosk has no list of IT's keys or cannot read it: SSH cannot be turned on);
        ``ssh(file=F)``: F's keys checked, and against IT's list; ``ssh(file=F, turn="on")``: on with
        its listed keys for ``ssh_limit_min``; ``ssh(turn="off")``."""
        turn, file = args.get("turn"), args.get("file")
        if turn == "off":
            return self.ssh_off(actor)
        if isinstance(file, str) and file:
            return self.ssh_on(actor, file) if turn == "on" else self.ssh_check(actor, file)
        return self.ssh_status(actor)

    def _allow_list(self) -> tuple[frozenset[tuple[str, str]] | None, str, str]:
        """IT's list of keys as ``kiosk-ssh`` reads it, or None with why SSH cannot be turned on:
        the audit's word for it (``no_allow_list``, ``allow_list_unreadable``) and IT's. The list is
        root's and 0644 on the image, so the kiosk reads it but never changes it; a list it cannot
        read is said to be so, not guessed at."""
        path = self.settings.maintenance.ssh_allow_list
        try:
            with path.open("rb") as f:
                text = f.read(4 * ssh_keys.MAX_FILE_BYTES).decode("utf-8", "replace")
        except FileNotFoundError:
            return None, "no_allow_list", self._t("it.ssh.no_list", path=path)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            return None, "allow_list_unreadable", self._t("it.ssh.list_unreadable", path=path, reason=reason)
        return ssh_keys.allow_list(text), "", ""

    def _key_line(self, key: ssh_keys.PublicKey, allowed: frozenset[tuple[str, str]] | None) -> str:
        """One key as the screen lists it, marked on or not on IT's list (unmarked when the list
        could not be read)."""
        if allowed is None:
            return f"  {key.label()}"
        mark = "it.ssh.mark.on_list" if ssh_keys.on_list(key, allowed) else "it.ssh.mark.off_list"
        return f"  {key.label()}  {self._t(mark)}"

    def _ssh_key_files(self) -> list[Path]:
        found: list[Path] = []
        for stick in self.usb_sticks():
            try:
                names = sorted(p.name for p in stick.iterdir())
            except OSError:
                continue
            for name in names:
                path = stick / name
                if (name in SSH_KEY_NAMES or name.endswith(SSH_KEY_SUFFIX)) and path.is_file():
                    found.append(path)
        return found

    def _ssh_reason(self, exc: ssh_keys.KeyFileError) -> str:
        reason = self._t(f"it.ssh.bad.{exc.reason}", **exc.fields)
        return self._t("it.ssh.line", line=exc.line, reason=reason) if exc.line else reason

    def _read_keys(self, file: str) -> tuple[Path, list[ssh_keys.PublicKey]]:
        """The keys of a listed file on a mounted stick (outside input: checked); KeyFileError or
        BackupError (its words) when it cannot be used."""
        chosen = Path(file)
        if chosen not in self._ssh_key_files():
            raise localized_error("it.ssh.not_listed", path=chosen)
        try:
            if chosen.stat().st_size > ssh_keys.MAX_FILE_BYTES:
                raise ssh_keys.KeyFileError(0, "too_big", most=ssh_keys.MAX_FILE_BYTES // 1024)
            text = chosen.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            raise ssh_keys.KeyFileError(0, "not_text") from None
        except OSError as exc:
            raise localized_error("it.ssh.unreadable", path=chosen, reason=exc.strerror or str(exc)) from None
        return chosen, ssh_keys.parse_key_file(text)

    def _ssh_state(self) -> tuple[ssh_keys.Request, list[ssh_keys.PublicKey] | None, str]:
        """The request in force, the keys written (None: none or unusable), and why unusable."""
        s = self.settings
        try:
            request = ssh_keys.parse_request(s.ssh_switch_path.read_text("utf-8", "replace")[:200])
        except OSError:
            request = ssh_keys.Request(False)
        try:
            keys = ssh_keys.parse_key_file(s.ssh_keys_path.read_text("utf-8", "replace"))
        except FileNotFoundError:
            return request, None, ""
        except OSError as exc:
            return request, None, exc.strerror or str(exc)
        except ssh_keys.KeyFileError as exc:
            return request, None, self._ssh_reason(exc)
        return request, keys, ""

    def _local(self, at: datetime) -> str:
        from zoneinfo import ZoneInfo

        return at.astimezone(ZoneInfo(self.settings.kiosk.timezone)).strftime("%Y-%m-%d %H:%M")

    def _ssh_lines(self) -> tuple[list[str], bool, list[ssh_keys.PublicKey] | None]:
        """Where SSH stands, the written keys (each marked on or not on IT's list), and whether the
        request is in force. On means in force AND sshd active: the request alone is only what the
        kiosk asked, which ``kiosk-ssh`` may have refused. Where sshd's state is unknown (no
        systemd), the request is all there is, and the sshd line says "unknown"."""
        request, keys, bad = self._ssh_state()
        now = self.readers.now()
        on = request.in_force(now)
        sshd = self.readers.ssh_active()
        if on and _sshd_runs(sshd):
            lines = [
                self._t("it.ssh.on_until", until=self._local(request.until))
                if request.until
                else self._t("it.ssh.on_no_limit")
            ]
        elif on:
            lines = [
                self._t("it.ssh.asked_not_running", until=self._local(request.until))
                if request.until
                else self._t("it.ssh.asked_not_running_no_limit")
            ]
        elif request.on and request.until is not None:
            # run out; kiosk-ssh's minute check stops sshd (not "off" while sshd still runs)
            key = "it.ssh.expired_still_running" if sshd == "active" else "it.ssh.expired"
            lines = [self._t(key, until=self._local(request.until))]
        else:
            lines = [self._t("it.ssh.off_still_running" if sshd == "active" else "it.ssh.off")]
        lines.append(self._t("it.ssh.sshd", state=sshd))
        if keys:
            allowed = self._allow_list()[0]
            lines.append(self._t("it.ssh.keys", n=len(keys)))
            lines += [self._key_line(k, allowed) for k in keys]
        elif bad:
            lines.append(self._t("it.ssh.keys_bad", path=self.settings.ssh_keys_path, reason=bad))
        return lines, on, keys

    def ssh_status(self, actor: str) -> ActionAnswer:
        lines, on, keys = self._ssh_lines()
        self._audit(
            actor,
            Action.SSH,
            after={"shown": "status", "on": on, "keys": [k.fingerprint for k in keys or []]},
        )
        allowed, _why, problem = self._allow_list()
        if allowed is None:
            return ActionAnswer(ok=False, message=problem, text="\n".join([problem, *lines]))
        files = self._ssh_key_files()
        items = tuple(ActionItem(str(p), f"{p.name}  ({p.parent})") for p in files)
        message = self._t("it.ssh.pick") if files else self._t("it.ssh.insert")
        return ActionAnswer(ok=True, message=message, text="\n".join(lines), items=items)

    def _keys_refused(self, actor: str, file: str, exc: ssh_keys.KeyFileError) -> ActionAnswer:
        """A key file that cannot be used (checking it, or turning SSH on with it): audited, and why."""
        self._audit(actor, Action.SSH, file=Path(file).name, after={"refused": exc.reason, "line": exc.line})
        return ActionAnswer(ok=False, message=self._t("it.ssh.refused", reason=self._ssh_reason(exc)))

    def _none_listed(self, chosen: Path) -> str:
        return self._t("it.ssh.none_listed", file=chosen.name, path=self.settings.maintenance.ssh_allow_list)

    def ssh_check(self, actor: str, file: str) -> ActionAnswer:
        """The chosen file's keys, checked, with their fingerprints, each marked on or not on IT's
        list: what turning on would let in. Not ok when none would be (or the list is missing or
        unreadable), so the screen does not offer to turn on with it."""
        try:
            chosen, keys = self._read_keys(file)
        except ssh_keys.KeyFileError as exc:
            return self._keys_refused(actor, file, exc)
        allowed, why, problem = self._allow_list()
        text = "\n".join(
            [self._t("it.ssh.keys_in_file", n=len(keys)), *(self._key_line(k, allowed) for k in keys)]
        )
        checked = [k.fingerprint for k in keys]
        if allowed is None:
            self._audit(actor, Action.SSH, file=chosen.name, after={"checked": checked, "allow_list": why})
            return ActionAnswer(ok=False, message=problem, text=text)
        left = [k.fingerprint for k in keys if not ssh_keys.on_list(k, allowed)]
        self._audit(actor, Action.SSH, file=chosen.name, after={"checked": checked, "not_on_list": left})
        if len(left) == len(keys):
            message = self._t("it.ssh.check_none", reason=self._none_listed(chosen))
            return ActionAnswer(ok=False, message=message, text=text)
        if left:
            message = self._t("it.ssh.checked_some", n=len(keys), left=len(left))
        else:
            message = self._t("it.ssh.checked", n=len(keys))
        return ActionAnswer(ok=True, message=message, text=text)

    def _sshd_after_asking(self) -> str:
        """sshd's state once ``kiosk-ssh`` has had time to act on the request just written: it
        starts sshd within a second or two, so "SSH is on" waits for sshd to say so, at most
        ``SSH_START_WAIT_S``. Without systemd ("unknown") there is nothing to wait for."""
        state = self.readers.ssh_active()
        waited = 0.0
        while not _sshd_runs(state) and waited < SSH_START_WAIT_S:
            self.readers.sleep(SSH_POLL_S)
            waited += SSH_POLL_S
            state = self.readers.ssh_active()
        return state

    def ssh_on(self, actor: str, file: str) -> ActionAnswer:
        from datetime import timedelta

        s = self.settings
        allowed, why, problem = self._allow_list()
        if allowed is None:
            self._audit(actor, Action.SSH, file=Path(file).name, after={"refused": why})
            return ActionAnswer(ok=False, message=self._t("it.ssh.refused", reason=problem))
        try:
            chosen, checked = self._read_keys(file)
        except ssh_keys.KeyFileError as exc:
            return self._keys_refused(actor, file, exc)
        # only what kiosk-ssh would let in is written: a request it refuses would look like SSH on
        keys = [k for k in checked if ssh_keys.on_list(k, allowed)]
        left = [k for k in checked if not ssh_keys.on_list(k, allowed)]
        if not keys:
            self._audit(
                actor,
                Action.SSH,
                file=chosen.name,
                after={"refused": "not_on_list", "keys": [k.fingerprint for k in left]},
            )
            text = "\n".join(
                [self._t("it.ssh.keys_in_file", n=len(left)), *(self._key_line(k, allowed) for k in left)]
            )
            message = self._t("it.ssh.refused", reason=self._none_listed(chosen))
            return ActionAnswer(ok=False, message=message, text=text)
        _lines, was_on, before_keys = self._ssh_lines()
        until = self.readers.now() + timedelta(minutes=s.maintenance.ssh_limit_min)
        try:
            # the keys first: kiosk-ssh reads them when the request says on
            _write_atomic(s.ssh_keys_path, ssh_keys.key_file_text(keys))
            _write_atomic(s.ssh_switch_path, ssh_keys.request_text(until))
        except OSError as exc:
            raise localized_error(
                "it.ssh.write_failed", path=s.ssh_switch_path.parent, reason=exc.strerror or str(exc)
            ) from None
        self._audit(
            actor,
            Action.SSH,
            file=chosen.name,
            source=USB_PREFIX + str(chosen.parent),
            before={"on": was_on, "keys": [k.fingerprint for k in before_keys or []]},
            after={
                "on": True,
                "until": until.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "keys": [k.label() for k in keys],
                "not_on_list": [k.fingerprint for k in left],
            },
        )
        sshd = self._sshd_after_asking()
        lines, _on, _keys = self._ssh_lines()
        running = _sshd_runs(sshd)
        if running:
            message = self._t("it.ssh.turned_on", n=len(keys), until=self._local(until))
        else:
            message = self._t(
                "it.ssh.not_started", n=len(keys), until=self._local(until), s=int(SSH_START_WAIT_S)
            )
        if left:
            message = self._t(
                "it.ssh.left_out", said=message, fingerprints=", ".join(k.fingerprint for k in left)
            )
            lines.append(self._t("it.ssh.left_out_keys", n=len(left)))
            lines += [self._key_line(k, allowed) for k in left]
        return ActionAnswer(ok=running, message=message, text="\n".join(lines))

    def ssh_off(self, actor: str) -> ActionAnswer:
        s = self.settings
        _lines, was_on, before_keys = self._ssh_lines()
        try:
            _write_atomic(s.ssh_switch_path, ssh_keys.OFF_TEXT)
            s.ssh_keys_path.unlink(missing_ok=True)  # the kiosk's own copy: the stick keeps the original
        except OSError as exc:
            raise localized_error(
                "it.ssh.write_failed", path=s.ssh_switch_path.parent, reason=exc.strerror or str(exc)
            ) from None
        self._audit(
            actor,
            Action.SSH,
            before={"on": was_on, "keys": [k.fingerprint for k in before_keys or []]},
            after={"on": False, "keys_removed": True},
        )
        lines, _on, _keys = self._ssh_lines()
        return ActionAnswer(ok=True, message=self._t("it.ssh.turned_off"), text="\n".join(lines))

    # --- restore -----------------------------------------------------------------------------------

    def _backup_files(self) -> list[Path]:
        found: list[Path] = []
        for stick in self.usb_sticks():
            try:
                names = [p.name for p in stick.iterdir() if p.name.endswith(".sqlite3")]
            except OSError:
                continue
            for name in it_info.newest_first(names):
                if (stick / (name + MANIFEST_SUFFIX)).is_file():
                    found.append(stick / name)
        return found

    def _hq_backups(self) -> list[HqBackup]:
        """The backups HQ holds for this kiosk; BackupError when HQ cannot say."""
        client = self.hq_client()
        try:
            return list_hq_backups(client)
        finally:
            client.close()

    def backups(self) -> ActionAnswer:
        """The backups on the mounted sticks, then those HQ holds for this kiosk."""
        items = []
        for path in self._backup_files():
            try:
                m = read_manifest(path)
                label = f"{path.name}  {it_info.human_size(m.size)}  {self._t('it.restore.sales', sales=m.counts.sales_recorded)}  ({path.parent})"
            except BackupError:
                label = f"{path.name}  ({path.parent})"
            items.append(ActionItem(str(path), label))
        notes = []
        try:
            for b in self._hq_backups():
                sales = self._t("it.restore.sales", sales=b.manifest.counts.sales_recorded)
                granted = self._t("it.restore.granted", kiosk=b.granted_from) if b.granted_from else ""
                label = f"{self._t('it.restore.hq')}  {b.uploaded_at}  {it_info.human_size(b.size)}  {sales}{granted}"
                items.append(ActionItem(HQ_PREFIX + b.name, label))
        except BackupError as exc:
            notes.append(self._t("it.restore.hq_unlisted", reason=exc.text(self._language())))
        except CredentialsError as exc:
            notes.append(self._t("it.restore.hq_unlisted", reason=str(exc)[:200]))
        failed = self.last_failure()
        if failed:
            notes.insert(0, self._t("it.restore.failed_before", reason=failed))
        if not self.usb_sticks():
            notes.append(self._t("it.usb.insert"))
        if not items:
            notes.append(self._t("it.restore.none"))
        return ActionAnswer(ok=True, message=" ".join(notes), items=tuple(items))

    def last_failure(self) -> str:
        """Why the last staged restore failed at start ("" if it did not)."""
        try:
            data = json.loads((self.settings.kiosk.data_dir / FAILED_MARKER).read_text("utf-8"))
        except (OSError, ValueError):
            return ""
        return str(data.get("reason", "")) if isinstance(data, dict) else ""

    def stage_restore(self, actor: str, file: str) -> ActionAnswer:
        """Verify the backup, refuse one that would lose sales HQ lacks, then stage it for the next start."""
        if file.startswith(HQ_PREFIX):
            return self.stage_from_hq(actor, file.removeprefix(HQ_PREFIX))
        chosen = Path(file)
        if chosen not in self._backup_files():  # outside input: only a listed backup on a mounted stick
            raise localized_error("it.restore.not_listed", path=chosen)
        return self._stage_checked(actor, chosen, str(chosen.parent))

    def stage_from_hq(self, actor: str, name: str) -> ActionAnswer:
        """Download a backup HQ lists into a scratch folder in the data folder, check it against the
        listing and its manifest, then verify and stage it as one from a stick. A download that
        fails or does not match stages nothing, and the scratch folder is emptied either way."""
        client = self.hq_client()
        try:
            listed = {b.name: b for b in list_hq_backups(client)}
            if name not in listed:  # outside input: only a backup HQ lists for us right now
                raise localized_error("it.restore.not_listed", path=HQ_PREFIX + name[:80])
            scratch_parent = self.settings.kiosk.data_dir / DOWNLOAD_DIR
            scratch_parent.mkdir(mode=0o700, exist_ok=True)
            with tempfile.TemporaryDirectory(prefix="hq-", dir=scratch_parent) as scratch:
                try:
                    downloaded = fetch_hq_backup(client, listed[name], Path(scratch))
                except BackupError as exc:
                    self._audit(
                        actor,
                        Action.RESTORE,
                        file=name,
                        source=HQ_DESTINATION,
                        after={"refused": exc.en[:200]},
                    )
                    raise
                return self._stage_checked(actor, downloaded, HQ_DESTINATION)
        finally:
            client.close()

    def _stage_checked(self, actor: str, chosen: Path, source: str) -> ActionAnswer:
        s = self.settings
        verified = verify_backup(
            chosen, scratch_parent=s.kiosk.data_dir / DOWNLOAD_DIR if source == HQ_DESTINATION else None
        )
        store = s.store_path
        loss = loss_if_restored(chosen, store)
        if loss is not None:
            self._audit(
                actor,
                Action.RESTORE,
                file=chosen.name,
                source=source,
                after={"refused": True, "sales": loss.sales, "refunds": loss.refunds},
            )
            raise localized_error("backup.would_lose", sales=loss.sales, refunds=loss.refunds, path=chosen)
        staged = stage(s.kiosk.data_dir, chosen, actor)
        self._audit(
            actor,
            Action.RESTORE,
            file=chosen.name,
            source=source,
            sha256=verified.manifest.sha256,
            before={"store": store.name},
            after={"staged": staged.name, "applied": "at the next start"},
        )
        return ActionAnswer(ok=True, message=self._t("it.restore.staged", name=chosen.name))


def _write_atomic(path: Path, text: str) -> None:
    """Write ``path`` whole or not at all (a temporary file beside it, fsynced, renamed over it):
    ``kiosk-ssh.path`` fires on the rename and never reads half a file. Mode 0640: root (kiosk-ssh)
    reads it, other users do not."""
    path.parent.mkdir(mode=0o750, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.new")
    with tmp.open("w", encoding="utf-8") as f:
        os.chmod(tmp, 0o640)
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


# --- staged restore ------------------------------------------------------------------------------


def stage(data_dir: Path, backup: Path, actor: str, now: datetime | None = None) -> Path:
    """Copy ``backup`` and its manifest into the data folder and write the pending-restore marker
    last (so a cut-short staging leaves no marker); the staged copy's path."""
    folder = data_dir / STAGED_DIR
    folder.mkdir(mode=0o700, exist_ok=True)
    target = folder / backup.name
    for src, dst in (
        (backup, target),
        (backup.with_name(backup.name + MANIFEST_SUFFIX), target.with_name(target.name + MANIFEST_SUFFIX)),
    ):
        tmp = dst.with_name(dst.name + ".part")
        shutil.copyfile(src, tmp)
        os.chmod(tmp, 0o600)
        os.replace(tmp, dst)
    at = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    marker = data_dir / PENDING_MARKER
    tmp = marker.with_name(marker.name + ".part")
    tmp.write_text(
        json.dumps({"backup": str(target), "from": str(backup), "actor": actor, "staged_at": at}), "utf-8"
    )
    os.replace(tmp, marker)
    with contextlib.suppress(FileNotFoundError):
        (data_dir / FAILED_MARKER).unlink()
    return target


@dataclass(frozen=True, slots=True)
class StagedOutcome:
    ok: bool
    #: what was restored, or why not (English, for the log and the audit row)
    detail: str


def apply_staged_restore(settings: Settings) -> StagedOutcome | None:
    """At start, before the store is opened: apply a staged restore, if one waits.

    ``restore_store`` verifies the staged copy again, refuses one that would lose unsent sales, keeps
    the current store aside and audits the restore in the restored store. On success the marker and
    the staged copy go; on failure the current store stays as it was, the marker becomes
    ``restore-failed.json`` with the reason (IT's restore panel shows it), and the error is logged.
    """
    data_dir = settings.kiosk.data_dir
    marker = data_dir / PENDING_MARKER
    if not marker.exists():
        return None
    try:
        data = json.loads(marker.read_text("utf-8"))
        backup, actor = Path(str(data["backup"])), str(data["actor"])
        restored = restore_store(backup, settings.store_path, settings.kiosk.id, actor)
    except BackupError as exc:
        return _failed(data_dir, marker, exc.en)
    except (OSError, ValueError, KeyError, TypeError, sqlite3.Error, subprocess.SubprocessError) as exc:
        return _failed(data_dir, marker, f"{type(exc).__name__}: {str(exc)[:300]}")
    marker.unlink()
    for path in (backup, backup.with_name(backup.name + MANIFEST_SUFFIX)):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()  # our own staged copy: the original stays on the stick
    kept = restored.kept_as.name if restored.kept_as else "none"
    detail = f"restored {backup.name}; previous store kept as {kept}"
    log.warning("staged restore applied: %s", detail)
    return StagedOutcome(True, detail)


def _failed(data_dir: Path, marker: Path, reason: str) -> StagedOutcome:
    log.error("staged restore NOT applied, the current store is kept: %s", reason)
    try:
        data = json.loads(marker.read_text("utf-8"))
    except (OSError, ValueError):
        data = {}
    data = data if isinstance(data, dict) else {}
    data["reason"] = reason
    failed = data_dir / FAILED_MARKER
    failed.write_text(json.dumps(data), "utf-8")
    marker.unlink()
    return StagedOutcome(False, reason)
