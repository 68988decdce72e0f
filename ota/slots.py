"""Release slots on the kiosk: install a bundle next to the running release, swap, go back.

Layout under ``root`` (``/opt/kiosk`` on a kiosk, a temporary folder in tests)::

    releases/<V>/          venv/, wheels/, manifest.json, .complete (written last), .failed (if it failed)
    staging/<V>/           a slot being built; never started from, thrown away if a build was cut short
    current -> releases/<V>
    previous -> releases/<V>
    pending.json           a switch waiting for the new release to say it is healthy (version, deadline)

Why it is safe to cut the power anywhere:

- A slot is built in ``staging/``, fsynced file by file, ``.complete`` is written (and fsynced) last,
  and only then is the folder renamed into ``releases/``: a folder in ``releases/`` without
  ``.complete`` is a leftover, never a release.
- ``current`` and ``previous`` are replaced with ``os.replace`` of a freshly made symlink and the
  folder is fsynced: after a crash each link is either the old one or the new one.
- ``previous`` is set before ``current`` moves, so at every instant one of them names a good release.
- ``boot_check`` (run by the agent at every start and as ``ExecStartPre`` of ``kiosk.service``)
  repairs what is left: a missing, dangling or incomplete ``current`` goes back to ``previous`` (or
  the newest complete slot that has not failed), and a switch whose health deadline passed without a
  health file is rolled back.

Every venv also sees ``os-python/`` beside ``releases/``, when it exists, through a ``.pth`` file:
the Python modules a release takes from the operating system rather than from its wheels. On the
image that is Raspberry Pi OS's lgpio (gpiozero's pin backend), which PyPI has only as source
(docs/adr/0016-lgpio-from-the-os.md). The folder comes after the venv's own packages on the path,
so a wheel of the same name always wins.

The venv is built in ``staging/<V>/venv`` and then renamed: its ``bin/python`` (a link to the
system interpreter) keeps working, but pip's console scripts name the staging path in their ``#!``
line, so services start a release as ``releases/<V>/venv/bin/python -m kiosk``, never ``bin/kiosk``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ota.bundle import Manifest, parse_version, read_manifest, unpack_bundle

log = logging.getLogger(__name__)

COMPLETE = ".complete"
FAILED = ".failed"
PENDING = "pending.json"
#: how many complete releases are kept (current and previous always among them)
KEEP = 3

#: the places a build or a switch can be cut short, in the order they are reached (crash tests)
CRASH_POINTS = (
    "install_unpacked",  # wheels and manifest are in staging, no venv yet
    "install_venv",  # the venv is built in staging, nothing fsynced yet
    "install_synced",  # everything in staging is fsynced, no .complete yet
    "install_complete",  # .complete is written in staging, not yet renamed
    "install_renamed",  # releases/<V> is in place
    "switch_pending",  # pending.json written, links not yet touched
    "switch_previous",  # previous moved to the running release, current not yet
    "switch_current",  # current names the new release
    "rollback_marked",  # the failed release has its .failed, links not yet touched
    "rollback_current",  # current is back on the old release, previous not yet updated
)


class PowerCut(BaseException):
    """Raised by a test's crash hook: the step stops there, with no clean-up, as a power cut would."""


#: the folder beside ``releases/`` of the operating system's Python modules every release sees
OS_PYTHON = "os-python"
#: the file in a venv's site-packages that puts ``OS_PYTHON`` on its path
OS_PYTHON_PTH = "kiosk-os-python.pth"


class SlotError(RuntimeError):
    """A slot cannot be installed or switched to; the message says why and what to do."""


class Installer(Protocol):
    """Builds ``slot/venv`` from ``slot/wheels`` for ``manifest`` (offline); raises on failure."""

    def __call__(self, slot: Path, manifest: Manifest) -> None: ...


def _no_crash(_point: str) -> None:
    return None


@dataclass(frozen=True, slots=True)
class VenvInstaller:
    """The real installer: ``python -m venv`` then ``pip install --no-index --find-links wheels APP``.

    Offline by construction (``--no-index``): every dependency must be one of the bundle's wheels,
    whose checksums ``unpack_bundle`` already proved. The root's ``os-python/`` (``OS_PYTHON``)
    joins the venv's path when it exists (the module's docstring says why).
    """

    python: str = sys.executable
    timeout_s: float = 900.0

    def __call__(self, slot: Path, manifest: Manifest) -> None:
        venv = slot / "venv"
        env = {
            **os.environ,
            "PIP_NO_INPUT": "1",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "PIP_NO_CACHE_DIR": "1",
        }
        self._run([self.python, "-m", "venv", str(venv)], env)
        os_python = slot.parent.parent / OS_PYTHON  # releases/<V> or staging/<V>, under the root
        if os_python.is_dir():
            self._see_os_python(venv, os_python.resolve())
        self._run(
            [
                str(venv / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--no-index",
                "--only-binary",
                ":all:",
                "--find-links",
                str(slot / "wheels"),
                str(slot / "wheels" / manifest.app),
            ],
            env,
        )

    def _see_os_python(self, venv: Path, folder: Path) -> None:
        """Put ``folder`` on the venv's path with a ``.pth`` file in its site-packages (the one the
        venv's own Python names, so the Python version needs no guessing here)."""
        code = "import sysconfig; print(sysconfig.get_path('purelib'))"
        site = Path(self._run([str(venv / "bin" / "python"), "-c", code], dict(os.environ)).strip())
        (site / OS_PYTHON_PTH).write_text(f"{folder}\n", encoding="utf-8")

    def _run(self, argv: list[str], env: dict[str, str]) -> str:
        """Run ``argv``; its standard output, or ``SlotError`` with the end of what it said."""
        try:
            done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=self.timeout_s)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SlotError(f"{argv[0]} could not run: {exc}") from None
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip()[-600:]
            raise SlotError(f"{' '.join(argv[:4])} failed ({done.returncode}): {tail}")
        return done.stdout


@dataclass(frozen=True, slots=True)
class Pending:
    """A switch to ``version`` that must be confirmed healthy by ``deadline`` (UTC epoch seconds)."""

    version: str
    previous: str | None
    deadline: float


@dataclass(frozen=True, slots=True)
class BootResult:
    """What ``boot_check`` found and did: ``action`` is ``ok``, ``repaired`` (current pointed to no
    good release and was moved), ``healthy`` (a pending switch was confirmed), ``rolled_back`` (a
    pending switch missed its deadline) or ``broken`` (no complete release at all: reinstall)."""

    action: str
    current: str | None
    detail: str = ""


def fsync_path(path: Path) -> None:
    """fsync one file or folder (a folder's fsync makes its renames and new names durable)."""
    flags = os.O_RDONLY | (os.O_DIRECTORY if path.is_dir() and not path.is_symlink() else 0)
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(top: Path) -> None:
    """fsync every regular file and folder under ``top`` (links are not followed), folders last."""
    for folder, dirs, files in os.walk(top, topdown=False):
        base = Path(folder)
        for name in files:
            path = base / name
            if not path.is_symlink() and path.is_file():
                fsync_path(path)
        for name in dirs:
            path = base / name
            if not path.is_symlink():
                fsync_path(path)
    fsync_path(top)


def write_durable(path: Path, data: bytes) -> None:
    """Write ``path`` through a temporary name, fsync it, rename it, fsync the folder
    (``write_durable_at`` in ``path``'s folder)."""
    folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        write_durable_at(folder, path.name, data)
    finally:
        os.close(folder)


def write_durable_at(folder: int, name: str, data: bytes) -> None:
    """Write ``name`` in the open folder ``folder`` (0644) through a temporary name, fsync it, rename
    it over ``name``, fsync the folder. The temporary file is made new: a link or file left under its
    name is removed first, never written through; the rename replaces whatever ``name`` is, a link
    included, without touching what it points to."""
    tmp = f".{name}.tmp"
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp, dir_fd=folder)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644, dir_fd=folder)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, name, src_dir_fd=folder, dst_dir_fd=folder)
    os.fsync(folder)


class Slots:
    """The release folders and the ``current``/``previous`` links under ``root``.

    ``installer`` builds a slot's venv (``VenvInstaller`` unless a test supplies a faster one);
    ``health_dir`` is where the kiosk app writes ``<V>.ok``; ``now`` is the wall clock (UTC epoch
    seconds) the health deadline is kept on; ``crash`` is called at each of ``CRASH_POINTS`` so a
    test can cut a step short exactly there.
    """

    def __init__(
        self,
        root: Path,
        health_dir: Path,
        *,
        installer: Installer | None = None,
        now: Callable[[], float] | None = None,
        crash: Callable[[str], None] = _no_crash,
        keep: int = KEEP,
    ) -> None:
        if keep < 2:
            raise ValueError("keep must be at least 2 (the running release and the one before)")
        self.root = root
        self.health_dir = health_dir
        self.releases = root / "releases"
        self.staging = root / "staging"
        self.installer: Installer = installer or VenvInstaller()
        self._now = now or _wall_clock
        self._crash = crash
        self.keep = keep

    # --- reading ---------------------------------------------------------------------------------

    def slot(self, version: str) -> Path:
        return self.releases / str(parse_version(version))

    def is_complete(self, version: str) -> bool:
        return (self.slot(version) / COMPLETE).is_file()

    def is_failed(self, version: str) -> bool:
        return (self.slot(version) / FAILED).is_file()

    def link(self, name: str) -> str | None:
        """The version ``current`` or ``previous`` names, or None when the link is missing or does
        not name a folder in ``releases/`` (whether that slot is complete is another question)."""
        path = self.root / name
        try:
            target = os.readlink(path)
        except OSError:
            return None
        parts = Path(target).parts
        if len(parts) != 2 or parts[0] != "releases":
            return None
        return parts[1]

    def current(self) -> str | None:
        return self.link("current")

    def previous(self) -> str | None:
        return self.link("previous")

    def installed(self) -> list[str]:
        """Complete releases, oldest first."""
        if not self.releases.is_dir():
            return []
        found = []
        for child in self.releases.iterdir():
            if child.is_dir() and not child.is_symlink() and (child / COMPLETE).is_file():
                with contextlib.suppress(ValueError):
                    found.append((parse_version(child.name), child.name))
        return [name for _v, name in sorted(found)]

    def health_ok(self, version: str) -> bool:
        return (self.health_dir / f"{version}.ok").is_file()

    def pending(self) -> Pending | None:
        try:
            data = json.loads((self.root / PENDING).read_text(encoding="utf-8"))
            return Pending(str(data["version"]), data.get("previous"), float(data["deadline"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    # --- install ---------------------------------------------------------------------------------

    def install(self, bundle: Path) -> Manifest:
        """Build ``releases/<V>`` from ``bundle`` (a verified bundle file); a complete slot of the
        same version is kept as it is. BundleError / SlotError say what went wrong."""
        manifest = read_manifest(bundle)
        version = manifest.version
        if self.is_complete(version):
            log.info("release %s is already installed", version)
            return manifest
        if self.current() == version:
            raise SlotError(f"release {version} is running but its slot is incomplete: run ota boot-check")
        stage = self.staging / version
        if stage.exists():
            shutil.rmtree(stage)  # a build cut short: only ever ours
        self.staging.mkdir(parents=True, exist_ok=True)
        self.releases.mkdir(parents=True, exist_ok=True)
        try:
            unpack_bundle(bundle, stage)
            self._crash("install_unpacked")
            self.installer(stage, manifest)
            self._crash("install_venv")
            fsync_tree(stage)
            self._crash("install_synced")
            write_durable(stage / COMPLETE, f"{version}\n".encode())
            self._crash("install_complete")
            final = self.slot(version)
            if final.exists():
                shutil.rmtree(final)  # incomplete leftover of an earlier try (never current: see above)
            os.rename(stage, final)
            fsync_path(self.releases)
            fsync_path(self.staging)
        except Exception:
            # a failed build leaves nothing behind; a PowerCut (a test's crash) skips this on purpose
            shutil.rmtree(stage, ignore_errors=True)
            raise
        self._crash("install_renamed")
        log.info("release %s installed in %s", version, final)
        return manifest

    # --- switching ---------------------------------------------------------------------------------

    def switch(self, version: str, health_deadline_s: float | None = None) -> None:
        """Make ``version`` current and the running release previous. With ``health_deadline_s``
        the switch is pending until ``<V>.ok`` appears; ``boot_check`` rolls it back after that."""
        if not self.is_complete(version):
            raise SlotError(f"release {version} is not installed completely: install it first")
        running = self.current()
        if running == version:
            return
        if health_deadline_s is not None:
            body = {"version": version, "previous": running, "deadline": self._now() + health_deadline_s}
            write_durable(self.root / PENDING, json.dumps(body).encode())
        self._crash("switch_pending")
        if running is not None and self.is_complete(running):
            self._point("previous", running)
        self._crash("switch_previous")
        self._point("current", version)
        self._crash("switch_current")
        log.info("switched from %s to %s", running, version)

    def confirm(self, version: str) -> None:
        """The release reported healthy: the switch to it is no longer pending."""
        pending = self.pending()
        if pending is not None and pending.version == version:
            self._clear_pending()

    def rollback(self, detail: str = "") -> str:
        """Mark the running release failed and go back to ``previous`` (or the newest good slot).

        Returns the version now current. SlotError when there is nothing to go back to.
        """
        failed = self.current()
        target = self._fallback(exclude=failed)
        if target is None:
            raise SlotError("no earlier complete release to go back to: reinstall the kiosk software")
        if failed is not None and self.slot(failed).is_dir():
            write_durable(self.slot(failed) / FAILED, (detail or "failed").encode()[:2000])
        self._crash("rollback_marked")
        self._point("current", target)
        self._crash("rollback_current")
        after = self._fallback(exclude=target, exclude_failed=True)
        if after is None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.root / "previous")
            fsync_path(self.root)
        else:
            self._point("previous", after)
        self._clear_pending()
        log.warning("rolled back from %s to %s: %s", failed, target, detail)
        return target

    def boot_check(self) -> BootResult:
        """Leave ``current`` on a complete release that has not failed; settle a pending switch.

        Safe to run any number of times, at any moment the kiosk app is not starting.
        """
        pending = self.pending()
        current = self.current()
        if pending is not None:
            if pending.version != current:
                self._clear_pending()  # the switch never reached current (or was undone)
            elif self.health_ok(pending.version):
                self._clear_pending()
                return BootResult("healthy", current)
            elif self._now() >= pending.deadline and self.is_complete(pending.version):
                detail = f"release {pending.version} did not report healthy before its deadline"
                try:
                    now_current = self.rollback(detail)
                except SlotError as exc:
                    return BootResult("broken", current, str(exc))
                return BootResult("rolled_back", now_current, detail)
        if current is not None and self.is_complete(current) and not self._failed_and_replaceable(current):
            return BootResult("ok", current)
        target = self._fallback(exclude=current)
        if target is None:
            if current is not None and self.is_complete(current):
                return BootResult("ok", current, "the only complete release is marked failed; kept")
            return BootResult("broken", current, "no complete release: reinstall the kiosk software")
        self._point("current", target)
        after = self._fallback(exclude=target, exclude_failed=True)
        if after is not None and self.previous() != after:
            self._point("previous", after)
        self._clear_pending()
        detail = f"current named {current or 'nothing'}, which is not a good release"
        log.warning("boot check: %s; now %s", detail, target)
        return BootResult("repaired", target, detail)

    def prune(self) -> list[str]:
        """Delete the oldest complete releases beyond ``keep`` (never current or previous), failed
        ones first, and every incomplete leftover in ``releases/`` or ``staging/`` that is not current."""
        removed: list[str] = []
        protected = {self.current(), self.previous()}
        if self.releases.is_dir():
            for child in self.releases.iterdir():
                if child.name not in protected and not (child / COMPLETE).is_file():
                    shutil.rmtree(child, ignore_errors=True)
                    removed.append(child.name)
        if self.staging.is_dir():
            for child in self.staging.iterdir():
                shutil.rmtree(child, ignore_errors=True)
        complete = self.installed()
        ordered = [v for v in complete if self.is_failed(v)] + [v for v in complete if not self.is_failed(v)]
        excess = len(complete) - self.keep
        for version in ordered:
            if excess <= 0:
                break
            if version in protected:
                continue
            shutil.rmtree(self.slot(version), ignore_errors=True)
            removed.append(version)
            excess -= 1
        if removed:
            fsync_path(self.releases)
        return removed

    # --- inside ----------------------------------------------------------------------------------

    def _failed_and_replaceable(self, version: str) -> bool:
        return self.is_failed(version) and self._fallback(exclude=version) is not None

    def _fallback(self, exclude: str | None, exclude_failed: bool = True) -> str | None:
        """``previous`` when it is good, else the newest complete slot that has not failed."""
        prev = self.previous()
        if prev is not None and prev != exclude and self.is_complete(prev) and not self.is_failed(prev):
            return prev
        for version in reversed(self.installed()):
            if version != exclude and not (exclude_failed and self.is_failed(version)):
                return version
        return None

    def _point(self, name: str, version: str) -> None:
        tmp = self.root / f".{name}.new"
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        os.symlink(f"releases/{version}", tmp)
        os.replace(tmp, self.root / name)
        fsync_path(self.root)

    def _clear_pending(self) -> None:
        path = self.root / PENDING
        if path.exists():
            path.unlink()
            fsync_path(self.root)


def _wall_clock() -> float:
    import time

    return time.time()
