"""The one TUF update code: the kiosk agent and ``ota tuf-client`` both fetch through ``TufUpdater``.

It wraps ``tuf.ngclient.Updater``, which does every check the TUF specification asks of a client
(signatures and thresholds, versions only going forward, expiry, snapshot and hash consistency,
root rotation one version at a time); this module adds what ngclient leaves to its user:

- a fetcher (``ResumingFetcher``) whose target downloads survive a dropped connection: bytes land
  in ``<download dir>/.partial/<name>.part`` and the next attempt asks only for the rest with an
  HTTP ``Range``. The partial file is only handed to ngclient once it has the signed length, and
  ngclient accepts it only if length and SHA-256 match the signed targets metadata; a file that
  fails that check is deleted, so a poisoned partial download is never resumed;
- size caps on every download (``Limits``): metadata by ngclient's configured maximum lengths,
  targets by their signed length and an overall ceiling, and the server's Content-Length is
  checked before a byte is stored;
- clear errors: ``Unreachable`` (network, HTTP status: try again later), ``Refused`` (the
  repository failed a security check: expired, rolled back, badly signed, tampered, oversized;
  ``reason`` names which), ``NoSuchTarget``; all are ``UpdateError``.

A ``TufUpdater`` makes a fresh ngclient ``Updater`` for each ``refresh`` (ngclient refreshes once
per instance), over the same metadata folder, so a long-running agent calls ``refresh`` each poll.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib import parse

import urllib3
from tuf.api import exceptions
from tuf.api.metadata import Metadata, Root, TargetFile
from tuf.ngclient import FetcherInterface, Updater, UpdaterConfig

log = logging.getLogger(__name__)

PARTIAL = ".partial"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+!-]{0,200}$")
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")


class UpdateError(Exception):
    """Fetching or verifying an update failed; ``reason`` is a short word for reports and logs."""

    reason = "failed"

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        if reason is not None:
            self.reason = reason


class Unreachable(UpdateError):
    """The repository could not be reached or answered an HTTP error: nothing was trusted; retry."""

    reason = "unreachable"


class Refused(UpdateError):
    """The repository's answer failed a TUF check (``reason``: expired, rollback, signature,
    mismatch, too_large, invalid): an attack or a broken repository, never installed."""

    reason = "invalid"


class NoSuchTarget(UpdateError):
    reason = "no_such_target"


@dataclass(frozen=True, slots=True)
class Limits:
    """The most bytes any download may bring (ngclient's defaults, and 1 GiB for a bundle)."""

    root_bytes: int = 512_000
    timestamp_bytes: int = 16_384
    snapshot_bytes: int = 2_000_000
    targets_bytes: int = 5_000_000
    target_bytes: int = 1 << 30

    def config(self, user_agent: str | None) -> UpdaterConfig:
        return UpdaterConfig(
            root_max_length=self.root_bytes,
            timestamp_max_length=self.timestamp_bytes,
            snapshot_max_length=self.snapshot_bytes,
            targets_max_length=self.targets_bytes,
            app_user_agent=user_agent,
        )


@dataclass(frozen=True, slots=True)
class Release:
    """A bundle target and the custom metadata the targets key signed with it (docs/ota.md)."""

    name: str
    version: str
    min_store_schema: int
    channels: tuple[str, ...]
    length: int
    sha256: str


def release_of(info: TargetFile) -> Release:
    """The release a target describes; Refused when its custom metadata is not one ours writes."""
    custom = info.custom if isinstance(info.custom, Mapping) else {}
    version = custom.get("version")
    schema = custom.get("min_store_schema")
    channels = custom.get("channels")
    if (
        not isinstance(version, str)
        or not isinstance(schema, int)
        or isinstance(schema, bool)
        or not isinstance(channels, list)
        or not all(isinstance(c, str) for c in channels)
    ):
        raise Refused(
            f"target {info.path} has no valid release metadata (version, min_store_schema, channels)"
        )
    digest = info.hashes.get("sha256")
    if digest is None:
        raise Refused(f"target {info.path} has no sha256 hash")
    return Release(info.path, version, schema, tuple(channels), info.length, digest)


def _translate(exc: BaseException, what: str) -> UpdateError:
    """One of our errors for whatever ngclient (or the disk) raised while doing ``what``."""
    reasons: tuple[tuple[type[BaseException], type[UpdateError], str], ...] = (
        (exceptions.ExpiredMetadataError, Refused, "expired"),
        (exceptions.BadVersionNumberError, Refused, "rollback"),
        (exceptions.UnsignedMetadataError, Refused, "signature"),
        (exceptions.LengthOrHashMismatchError, Refused, "mismatch"),
        (exceptions.DownloadLengthMismatchError, Refused, "too_large"),
        (exceptions.RepositoryError, Refused, "invalid"),
        (exceptions.DownloadHTTPError, Unreachable, "http_error"),
        (exceptions.SlowRetrievalError, Unreachable, "timeout"),
        (exceptions.DownloadError, Unreachable, "unreachable"),
        (OSError, UpdateError, "local_io"),
    )
    for kind, error, reason in reasons:
        if isinstance(exc, kind):
            return error(f"{what}: {exc}", reason)
    return Refused(f"{what}: {type(exc).__name__}: {exc}", "invalid")


class ResumingFetcher(FetcherInterface):
    """HTTP over urllib3 for ngclient; downloads of URLs under ``resume_under`` keep a ``.part``
    file in ``partial_dir`` and continue it with ``Range`` on the next attempt."""

    def __init__(
        self,
        partial_dir: Path | None = None,
        resume_under: str | None = None,
        timeout_s: float = 30.0,
        chunk_size: int = 64 * 1024,
        user_agent: str = "kiosk-ota",
    ) -> None:
        self.partial_dir = partial_dir
        self.resume_under = resume_under
        self.timeout = urllib3.Timeout(connect=timeout_s, read=timeout_s)
        self.chunk_size = chunk_size
        self._http = urllib3.PoolManager(
            headers={"User-Agent": user_agent}, retries=urllib3.Retry(total=2, redirect=3)
        )

    # -- ngclient's interface ----------------------------------------------------------------

    def _fetch(self, url: str) -> Iterator[bytes]:
        response = self._get(url, {})
        return self._chunks(response)

    @contextlib.contextmanager
    def download_file(self, url: str, max_length: int) -> Iterator[IO[bytes]]:
        if self.partial_dir is None or self.resume_under is None or not url.startswith(self.resume_under):
            with super().download_file(url, max_length) as f:
                yield f
            return
        part = self._part_path(url)
        try:
            self._fill(url, part, max_length)
        except exceptions.DownloadError:
            raise
        except Exception as exc:
            raise exceptions.DownloadError(f"Failed to download {url}") from exc
        with part.open("rb") as f:
            try:
                yield f
            except exceptions.RepositoryError:
                # failed ngclient's length or hash check: never resume these bytes
                part.unlink(missing_ok=True)
                raise
        part.unlink(missing_ok=True)

    # -- the work -----------------------------------------------------------------------------

    def _get(self, url: str, headers: Mapping[str, str]) -> urllib3.BaseHTTPResponse:
        try:
            response = self._http.request(
                "GET", url, headers=dict(headers), preload_content=False, timeout=self.timeout
            )
        except urllib3.exceptions.MaxRetryError as exc:
            if isinstance(exc.reason, urllib3.exceptions.TimeoutError):
                raise exceptions.SlowRetrievalError(f"{url} timed out") from exc
            raise exceptions.DownloadError(f"{url} could not be reached: {exc.reason}") from exc
        except urllib3.exceptions.HTTPError as exc:
            raise exceptions.DownloadError(f"{url} could not be reached: {exc}") from exc
        if response.status >= 400 and response.status != 416:
            _abandon(response)
            raise exceptions.DownloadHTTPError(f"HTTP {response.status} for {url}", response.status)
        return response

    def _chunks(self, response: urllib3.BaseHTTPResponse) -> Iterator[bytes]:
        whole = False
        try:
            yield from response.stream(self.chunk_size)
            whole = True
        except urllib3.exceptions.TimeoutError as exc:
            raise exceptions.SlowRetrievalError("the server stopped sending") from exc
        except urllib3.exceptions.HTTPError as exc:
            raise exceptions.DownloadError(f"the download broke off: {exc}") from exc
        finally:
            if whole:
                response.release_conn()
            else:  # the caller stopped reading (a length limit, an error): the rest is still in the socket
                _abandon(response)

    def _part_path(self, url: str) -> Path:
        assert self.partial_dir is not None
        base = parse.unquote(parse.urlsplit(url).path.rsplit("/", 1)[-1])
        if not _SAFE_NAME.match(base):
            base = hashlib.sha256(url.encode("utf-8")).hexdigest()
        return self.partial_dir / f"{base}.part"

    def _fill(self, url: str, part: Path, max_length: int) -> None:
        """Bring ``part`` up to the server's whole file (at most ``max_length`` bytes)."""
        part.parent.mkdir(parents=True, exist_ok=True)
        have = part.stat().st_size if part.exists() else 0
        if have > max_length:
            part.unlink()
            have = 0
        if have == max_length:
            return  # complete from an earlier attempt; ngclient's hash check decides
        for _attempt in range(2):
            headers = {"Range": f"bytes={have}-"} if have else {}
            response = self._get(url, headers)
            if response.status == 416:  # our part is not a prefix the server can continue
                _abandon(response)
                part.unlink(missing_ok=True)
                have = 0
                continue
            start = self._start_of(response, have)
            if start == 0 and have:
                log.info("the server sends %s whole; starting the download again", url)
            expected = response.headers.get("Content-Length")
            if expected is not None and expected.isdigit() and start + int(expected) > max_length:
                _abandon(response)
                part.unlink(missing_ok=True)
                raise exceptions.DownloadLengthMismatchError(
                    f"{url} is {start + int(expected)} bytes, more than the {max_length} allowed"
                )
            if start == 0:
                part.write_bytes(b"")
            elif have:
                log.info("resuming %s at byte %d", url, start)
            received = start
            with part.open("r+b") as out:
                out.seek(start)
                out.truncate()
                try:
                    for chunk in self._chunks(response):
                        received += len(chunk)
                        if received > max_length:
                            out.close()
                            part.unlink(missing_ok=True)
                            raise exceptions.DownloadLengthMismatchError(
                                f"{url} sent more than the {max_length} bytes allowed"
                            )
                        out.write(chunk)
                finally:
                    if not out.closed:
                        out.flush()
                        os.fsync(out.fileno())
            return
        raise exceptions.DownloadError(f"{url}: the server refused every range asked for")

    @staticmethod
    def _start_of(response: urllib3.BaseHTTPResponse, have: int) -> int:
        """Where the body starts in the file: ``have`` for a 206 continuing our part, else 0."""
        if response.status != 206:
            return 0
        match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
        if match is None or int(match.group(1)) != have:
            _abandon(response)
            raise exceptions.DownloadError("the server answered a range other than the one asked for")
        return have


def _abandon(response: urllib3.BaseHTTPResponse) -> None:
    """Give up on ``response`` with its body unread: close its connection, never pool it.

    A kept-alive connection handed back with body bytes still in its socket makes the next
    request on it read those bytes as its status line (``BadStatusLine``), saved only by a retry.
    """
    response.close()
    response.release_conn()


def trust_root(metadata_dir: Path, root: bytes) -> None:
    """Install ``root`` (a root.json's bytes) as the trust anchor of ``metadata_dir``.

    The root must parse as root metadata and carry its own threshold of signatures; it is written
    as ``root.json`` only if the folder has none (an existing trust anchor is never replaced)."""
    try:
        md = Metadata[Root].from_bytes(root)
    except Exception as exc:  # the deserializer raises several kinds; all mean "not a root"
        raise Refused(f"the trusted root is not TUF metadata: {exc}", "invalid") from None
    if not isinstance(md.signed, Root):
        raise Refused("the trusted root file holds other metadata than root", "invalid")
    try:
        md.signed.verify_delegate("root", md.signed_bytes, md.signatures)
    except exceptions.UnsignedMetadataError as exc:
        raise Refused(f"the trusted root is not signed by its own root keys: {exc}", "signature") from None
    metadata_dir.mkdir(parents=True, exist_ok=True)
    target = metadata_dir / "root.json"
    if target.exists() or target.is_symlink():
        raise UpdateError(f"{target} exists: this folder already trusts a root", "exists")
    tmp = metadata_dir / ".root.json.tmp"
    tmp.write_bytes(root)
    tmp.replace(target)


class TufUpdater:
    """Refresh the repository's metadata and download verified targets.

    ``metadata_dir`` holds the trusted metadata (``root.json`` installed by ``trust_root`` or
    given as ``bootstrap``); ``download_dir`` receives targets under their URL-quoted names, with
    partial downloads in ``download_dir/.partial``.
    """

    def __init__(
        self,
        metadata_dir: Path,
        metadata_url: str,
        targets_url: str | None = None,
        download_dir: Path | None = None,
        *,
        bootstrap: bytes | None = None,
        limits: Limits | None = None,
        timeout_s: float = 30.0,
        user_agent: str = "kiosk-ota",
    ) -> None:
        self.metadata_dir = metadata_dir
        self.metadata_url = metadata_url.rstrip("/") + "/"
        self.targets_url = None if targets_url is None else targets_url.rstrip("/") + "/"
        self.download_dir = download_dir
        self.bootstrap = bootstrap
        self.limits = limits or Limits()
        self.user_agent = user_agent
        self.fetcher = ResumingFetcher(
            None if download_dir is None else download_dir / PARTIAL,
            self.targets_url,
            timeout_s=timeout_s,
            user_agent=user_agent,
        )
        self._ng: Updater | None = None

    def _updater(self) -> Updater:
        if not (self.metadata_dir / "root.json").exists() and self.bootstrap is None:
            raise UpdateError(
                f"{self.metadata_dir} has no trusted root.json: install the repository's root first",
                "no_trusted_root",
            )
        try:
            return Updater(
                str(self.metadata_dir),
                self.metadata_url,
                None if self.download_dir is None else str(self.download_dir),
                self.targets_url,
                self.fetcher,
                self.limits.config(self.user_agent),
                bootstrap=self.bootstrap,
            )
        except Exception as exc:
            raise _translate(exc, "the trusted root cannot be loaded") from exc

    def refresh(self) -> None:
        """Fetch and verify root (every new version in turn), timestamp, snapshot and targets."""
        updater = self._updater()
        try:
            updater.refresh()
        except Exception as exc:
            raise _translate(exc, "refreshing the update metadata failed") from exc
        self._ng = updater

    def target(self, name: str) -> TargetFile:
        """The signed description of target ``name`` (after a refresh; one is done if needed)."""
        if self._ng is None:
            self.refresh()
        assert self._ng is not None
        try:
            info = self._ng.get_targetinfo(name)
        except Exception as exc:
            raise _translate(exc, f"looking up {name} failed") from exc
        if info is None:
            raise NoSuchTarget(f"the repository has no target {name}")
        return info

    def download(self, name: str) -> Path:
        """Download target ``name`` (resuming a partial download) and return the verified file.

        A file already there that matches the signed length and hash is returned as it is."""
        if self.download_dir is None or self.targets_url is None:
            raise UpdateError("no download folder or targets URL was given", "config")
        info = self.target(name)
        if info.length > self.limits.target_bytes:
            raise Refused(
                f"{name} is {info.length} bytes, more than the {self.limits.target_bytes} allowed",
                "too_large",
            )
        assert self._ng is not None
        self.download_dir.mkdir(parents=True, exist_ok=True)
        final = self.download_dir / parse.quote(info.path, "")
        cached = self._ng.find_cached_target(info, str(final))
        if cached is not None:
            return final
        verifying = final.with_name(f".{final.name}.verifying")
        try:
            self._ng.download_target(info, str(verifying))
            with verifying.open("rb") as f:
                os.fsync(f.fileno())
            verifying.replace(final)
        except Exception as exc:
            verifying.unlink(missing_ok=True)
            raise _translate(exc, f"downloading {name} failed") from exc
        return final


def describe(error: UpdateError) -> dict[str, Any]:
    """An error as a small dict for reports (reason and message)."""
    return {"reason": error.reason, "detail": str(error)[:500]}
