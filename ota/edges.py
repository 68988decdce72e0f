"""The agent's production edges: HQ's signed OTA API and the TUF download (docs/ota.md).

- ``SignedHq`` (the agent's ``Hq``): ``GET /api/v1/ota/assignment`` and ``POST /api/v1/ota/report``,
  signed with the kiosk's enrolment secret exactly as sync signs (``kiosk.sync.signed.HqSigner``
  through ``kiosk.sync.hq_client.HttpHqClient``, which also corrects for the kiosk's clock).
- ``TufFetch`` (the agent's ``Fetch``): a TUF refresh and a resuming, verified download
  (``ota.updater.TufUpdater``), and then the checks on the target's signed custom metadata: the
  release is the version HQ assigned, this kiosk's channel is among its channels, and it names the
  store schema its manifest does. Anything else is refused (``TargetRefused``) and the agent
  reports it as failed; nothing is installed.
- ``build_edges`` makes both from the kiosk's settings (``[hq]``, ``[ota]``) and enrolment. It
  installs the image's trusted root (``ota agent --trusted-root``, else ``[ota] trusted_root``) into
  the agent's own folder (``<state>/tuf/``, ``ota.kiosk_files``) the first time and refuses to run
  without one.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ota.bundle import parse_version
from ota.updater import Refused, TufUpdater, UpdateError, release_of, trust_root

if TYPE_CHECKING:
    from kiosk.settings import Settings
    from kiosk.sync.hq_client import HttpHqClient
    from ota.agent import Assignment

log = logging.getLogger(__name__)

ASSIGNMENT_PATH = "/api/v1/ota/assignment"
REPORT_PATH = "/api/v1/ota/report"
#: the agent's TUF metadata folder and downloads, in its own folder (``ota agent --state``)
TUF_DIR = "tuf"
DOWNLOADS_DIR = "downloads"


class EdgeError(RuntimeError):
    """The agent cannot be set up (no trusted root, not enrolled): the message says what to do."""


class TargetRefused(Refused):
    """The target is genuine but is not what this kiosk was told to install (wrong version, a
    channel this kiosk does not follow): never installed, reported as failed."""


class SignedHq:
    """HQ's kiosk API for updates, over the same signed HTTP client as sync."""

    def __init__(self, client: HttpHqClient) -> None:
        self.client = client

    def assignment(self) -> Assignment:
        from ota.agent import Assignment

        response = self.client.send(ASSIGNMENT_PATH, "GET", b"")
        if response.status_code != 200:
            raise self.client.error_of(response, "say which release to run")
        try:
            data = response.json()
        except ValueError:
            raise UpdateError("HQ answered the assignment with something other than JSON") from None
        return Assignment.from_json(data)

    def report(self, version: str, state: str, detail: str) -> None:
        body = json.dumps(
            {"version": version, "state": state, "detail": detail}, ensure_ascii=False, separators=(",", ":")
        ).encode("utf-8")
        response = self.client.send(REPORT_PATH, "POST", body)
        if response.status_code != 200:
            raise self.client.error_of(response, "take the update report")

    def close(self) -> None:
        self.client.close()


@dataclass
class TufFetch:
    """Fetch a release through TUF and check what its signed metadata says about it."""

    updater: TufUpdater
    channel: str
    #: what a release must know of the kiosk store (``ota.agent.store_needs``), checked before the
    #: download; the agent checks the downloaded manifest again
    store_needs: Callable[[], int] | None = None

    def fetch(self, version: str, target_name: str) -> Path:
        self.updater.refresh()  # a fresh ngclient each time: new timestamp, snapshot, targets
        info = self.updater.target(target_name)
        release = release_of(info)
        try:
            same = parse_version(release.version) == parse_version(version)
        except Exception:
            same = False
        if not same:
            raise TargetRefused(
                f"{target_name} is signed as release {release.version}, HQ assigned {version}: not installed",
                "mismatch",
            )
        if self.channel not in release.channels:
            raise TargetRefused(
                f"release {version} is signed for channels {', '.join(release.channels) or 'none'}, this "
                f"kiosk follows {self.channel!r} ([ota] channel): not installed",
                "channel",
            )
        if self.store_needs is not None:
            needs = self.store_needs()
            if release.min_store_schema < needs:
                raise TargetRefused(
                    f"release {version} knows store schema {release.min_store_schema}, this kiosk's store "
                    f"needs {needs}: not downloaded",
                    "store_schema",
                )
        path = self.updater.download(target_name)
        from ota.bundle import read_manifest

        manifest = read_manifest(path)
        if manifest.min_store_schema != release.min_store_schema:
            raise TargetRefused(
                f"{target_name}: its manifest needs store schema {manifest.min_store_schema}, the signed "
                f"metadata says {release.min_store_schema}: not installed",
                "mismatch",
            )
        return path


def tuf_urls(settings: Settings) -> tuple[str, str]:
    """The metadata and targets URLs: ``[ota]`` when set (a mirror), else HQ's own /tuf/ routes."""
    base = settings.hq.url.rstrip("/")
    metadata = settings.ota.metadata_url or f"{base}/tuf/metadata/"
    targets = settings.ota.targets_url or f"{base}/tuf/targets/"
    return metadata, targets


def install_trusted_root(metadata_dir: Path, root_file: Path) -> None:
    """The first ``root.json`` of the agent's metadata folder, from the file the image ships.

    Done once: afterwards TUF itself moves the trust forward (root rotation), so a later change of
    the shipped file does not replace what the kiosk already trusts."""
    if (metadata_dir / "root.json").exists():
        return
    try:
        root = root_file.read_bytes()
    except OSError as exc:
        raise EdgeError(
            f"ota agent: no trusted TUF root at {root_file} ({exc.strerror or exc}); copy the root.json "
            "that 'ota repo init' printed there (the image's agent names it with --trusted-root; an agent "
            "run without that option takes [ota] trusted_root). Nothing was changed."
        ) from None
    try:
        trust_root(metadata_dir, root)
    except UpdateError as exc:
        raise EdgeError(f"ota agent: {root_file} cannot be trusted: {exc}. Nothing was changed.") from None
    log.info("trusting the TUF root from %s", root_file)


def build_edges(
    settings: Settings, state_dir: Path, trusted_root: Path | None = None
) -> tuple[SignedHq, TufFetch]:
    """The production ``Hq`` and ``Fetch`` for the kiosk these settings describe, keeping the TUF
    metadata and downloads in ``state_dir`` (root's alone); ``trusted_root`` is the image's first
    root (default: ``[ota] trusted_root``, a setting that a hand install may leave the kiosk user's to
    change: the image names it on the agent's command line instead)."""
    from kiosk.bootstrap import build_hq_client
    from kiosk.sync.credentials import CredentialsError

    install_trusted_root(state_dir / TUF_DIR, trusted_root or settings.ota.trusted_root)
    try:
        client = build_hq_client(settings)
    except CredentialsError as exc:
        raise EdgeError(f"ota agent: this kiosk cannot sign to HQ: {exc}") from None
    metadata_url, targets_url = tuf_urls(settings)
    updater = TufUpdater(
        state_dir / TUF_DIR,
        metadata_url,
        targets_url,
        state_dir / DOWNLOADS_DIR,
        timeout_s=max(settings.hq.timeout_s, 30.0),
    )
    from ota.agent import store_needs

    store = settings.store_path
    return SignedHq(client), TufFetch(updater, settings.ota.channel, lambda: store_needs(store))
