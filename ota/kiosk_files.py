"""Files the update agent (root) and the kiosk (the ``kiosk`` user) share, and where the agent's own are.

The kiosk user owns its data folder, ``<data>/ota`` included: that is where the kiosk writes its
health files and IT's check-now request, and where it reads the agent's state for the heartbeat and
IT's update screen. Whoever runs as that user (the app, or someone who took it over) can put links
there. A root process that writes a path in such a folder can be sent by a link to write anywhere:
the agent's ``state.json`` went through ``.state.json.tmp``, which a link turned into any file of
root's, with text the kiosk controls in it. Its TUF metadata there could be swapped for a root of
the kiosk user's own, which the agent would then trust.

So the agent keeps everything it trusts (its state, its TUF metadata, its downloads) in a folder of
its own that only root can change (``--state``, ``/data/ota-agent`` on the image), and only
publishes a copy of its state into the kiosk's folder, without following any link there
(``publish``), takes the kiosk's check-now request the same way (``take``), and talks to the kiosk's
update socket only when it is one, not a link to another (``connect``). ``check_private``
refuses to run with a folder or trusted root someone other than root could change.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

from ota.slots import write_durable_at


class NotPrivate(RuntimeError):
    """A folder or file the agent must trust can be changed by someone other than root."""


def check_private(path: Path, euid: int | None = None) -> None:
    """Raise ``NotPrivate`` unless only root (or the user running this) can change ``path``: it and
    every folder above it belong to root (or to that user) and no one else may write them; a
    world-writable folder with the sticky bit (``/tmp``) is allowed above it, as nobody can replace
    another's entries there. Run as another user than root (a test, a developer), the agent trusts
    that user's own files the same way."""
    me = os.geteuid() if euid is None else euid
    path = Path(os.path.abspath(path))
    existing = False
    for part in [path, *path.parents]:
        try:
            st = os.lstat(part)
        except FileNotFoundError:
            if existing:  # a folder vanished between two looks: trust nothing
                raise NotPrivate(f"{part} does not exist") from None
            continue  # not there yet: the agent makes it, as root's
        existing = True
        if stat.S_ISLNK(st.st_mode):
            raise NotPrivate(f"{part} is a link: the agent trusts only real folders and files")
        if st.st_uid not in (0, me):
            raise NotPrivate(f"{part} belongs to user id {st.st_uid}, not root")
        writable_by_others = st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
        if writable_by_others and not (part != path and st.st_mode & stat.S_ISVTX):
            raise NotPrivate(
                f"{part} can be written by others than its owner (mode {stat.filemode(st.st_mode)})"
            )


#: how the kiosk's folder is opened: it must be a real folder, not a link to one
_FOLDER = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW


@contextlib.contextmanager
def _folder(folder: Path) -> Iterator[int]:
    """An open descriptor of ``folder``, which must be a real folder, not a link to one."""
    fd = os.open(folder, _FOLDER)
    try:
        yield fd
    finally:
        os.close(fd)


def publish(folder: Path, name: str, data: bytes) -> bool:
    """Write ``folder/name`` (readable by all) for the kiosk, durably and atomically, following no
    link: not ``folder`` itself (``OSError`` ELOOP or ENOTDIR when it is one), not the temporary
    file (a link the kiosk user left under its name is removed, never written through), and the
    rename replaces whatever ``name`` is, a link included, without touching what it points to.

    False, with nothing written, while ``folder`` does not exist: the kiosk makes it (its update
    socket, ``kiosk.ota_link``). Made here it would be root's, and the kiosk could then put
    neither its socket nor its health files in it; the agent publishes again at its next poll."""
    try:
        fd = os.open(folder, _FOLDER)
    except FileNotFoundError:
        return False
    try:
        write_durable_at(fd, name, data)
    finally:
        os.close(fd)
    return True


def present(folder: Path, name: str) -> bool:
    """Whether the kiosk has left ``folder/name`` (of any kind: only its name counts)."""
    try:
        with _folder(folder) as fd:
            os.stat(name, dir_fd=fd, follow_symlinks=False)
    except OSError:
        return False
    return True


def take(folder: Path, name: str) -> bool:
    """Remove the kiosk's request ``folder/name``; True when there was one, False when not. A link
    in its place is removed itself; a link in the place of ``folder`` is never followed (``OSError``,
    nothing removed), nor is any other failure hidden."""
    try:
        with _folder(folder) as fd:
            os.unlink(name, dir_fd=fd)
    except FileNotFoundError:
        return False
    return True


def connect(sock: socket.socket, path: Path) -> None:
    """Connect ``sock`` to the kiosk's socket ``path`` when that is a socket in a real folder: a link
    in either place (to another root service's socket, say) is refused with ``OSError``, not
    followed. The folder is reached through its open descriptor, so it cannot be swapped after
    the look; a link put in the socket's place in the instant between the look and the connect
    would still be followed (a Unix socket cannot be connected without following links)."""
    with _folder(path.parent) as fd:
        st = os.stat(path.name, dir_fd=fd, follow_symlinks=False)
        if not stat.S_ISSOCK(st.st_mode):
            raise OSError(errno.ENOTSOCK, f"{path} is not the kiosk's socket")
        sock.connect(f"/proc/self/fd/{fd}/{path.name}")
