"""One signed-update fleet on this machine: the setup ``test_ota_end_to_end.py`` and ``bench/ota.py``
share, so the bench measures exactly the flow the test proves.

Stand-in wheels for the app's dependencies (the real ones are hundreds of MB and need an index);
``ota release build`` of this checkout from them; a real HQ on 127.0.0.1 (``hq_fixtures``) serving
the TUF repository an admin made with ``ota keys init`` / ``repo init`` / ``release publish``; kiosks
enrolled there with a settings file naming the image's trust anchor; the kiosk app's checkout and
update socket; and the agent as ``ota agent --config`` builds it (``ota.cli.production_edges``: the
real signed HQ client and the real TUF updater), with the slot installer, the restart and the clock
injected. Nothing here waits on the wall clock.

Import it as the other helpers of this folder (``from ota_fleet import ...``): pytest puts the
folder on sys.path, and the bench puts it there itself. No pytest in here, so the bench runs without it.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import importlib.metadata
import re
import threading
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from hq_fixtures import LiveHq, running_hq, sqlite_url
from kiosk_enrolment import enrol_kiosk
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from drivers.gpio.indicators import NullIndicators
from drivers.printer.file_printer import FileReceiptPrinter
from kiosk.controller import CheckoutController, ControllerOptions
from kiosk.core.receipt import ReceiptTemplate
from kiosk.ota_link import HEALTH_PARTS, OtaLink
from kiosk.ports import CatalogItem
from kiosk.store.db import open_store
from kiosk.store.sales import SaleStore
from ota.agent import HEALTH_DIR, SOCKET_FILE, STATE_FILE, Agent, AgentConfig, SocketKioskLink, store_needs
from ota.cli import main, production_edges
from ota.slots import Installer, Slots
from tests.fakes.clock import FakeClock, SetTime
from tests.fakes.ota_release import make_bundle
from tests.fakes.payments import FakePaymentGateway

REPO = Path(__file__).resolve().parents[2]
VERSION = "0.1.0"  # the version of this checkout: ``ota release build`` builds only that
RUNNING = "0.0.9"
CHANNEL = "stable"
WATER = CatalogItem("w", "矿泉水", "Water", 200, "6901234567892", "drinks")
#: the agent's health deadline after a switch, on its injected clock
HEALTH_DEADLINE_S = 30.0


def pins() -> dict[str, str]:
    """constraints.txt as {canonical name: pinned version}."""
    found = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        name, sep, version = line.split("#")[0].strip().partition("==")
        if sep:
            found[canonicalize_name(name)] = version.strip()
    return found


def tiny_dependency_wheel(folder: Path, name: str, version: str) -> None:
    """A valid, empty py3-none-any wheel for ``name`` ``version`` with no dependencies."""
    dist = re.sub(r"[-_.]+", "_", name)
    info = f"{dist}-{version}.dist-info"
    files = {
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    record.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = "\n".join(record) + "\n"
    with zipfile.ZipFile(folder / f"{dist}-{version}-py3-none-any.whl", "w") as whl:
        for path, text in files.items():
            whl.writestr(path, text)


def stand_in_wheelhouse(folder: Path) -> set[str]:
    """Stand-ins for every requirement of kiosk-appliance[pi]; the wheel file names made."""
    folder.mkdir()
    pinned = pins()
    for line in importlib.metadata.requires("kiosk-appliance") or []:
        req = Requirement(line)
        if req.marker is not None and not req.marker.evaluate({"extra": "pi"}):
            continue
        tiny_dependency_wheel(folder, req.name, pinned[canonicalize_name(req.name)])
    return {p.name for p in folder.iterdir()}


def build_bundle(folder: Path) -> Path:
    """``ota release build --version 0.1.0 --wheelhouse <stand-ins> --out folder``: the bundle's path."""
    folder.mkdir(parents=True, exist_ok=True)
    stand_in_wheelhouse(folder / "wheelhouse")
    argv = ["release", "build", "--version", VERSION, "--wheelhouse", str(folder / "wheelhouse")]
    code = main([*argv, "--out", str(folder)])
    if code != 0:
        raise RuntimeError(f"ota release build exited {code}")
    return folder / f"kiosk-{VERSION}.tar"


@dataclass
class Fleet:
    """HQ with the release published, registered and (once ``start_rollout``) rolled out."""

    hq: LiveHq
    keys: Path
    repo: Path
    #: the repository's first root, as the kiosk image ships it (``[ota] trusted_root``)
    image_root: Path
    folder: Path

    def hq_ota(self, *argv: str) -> int:
        """An ``ota`` command run on the HQ machine, against HQ's database."""
        return main([*argv, "--db", self.hq.db_url])

    def start_rollout(self) -> None:
        code = self.hq_ota("rollout", "start", VERSION, "--stages", "100", "--max-failure-rate", "0.2")
        if code != 0:
            raise RuntimeError(f"ota rollout start exited {code}")


@contextlib.contextmanager
def published_fleet(folder: Path, bundle: Path) -> Iterator[Fleet]:
    """HQ running on ``folder/hq``; the admin made keys and the repository, published and registered
    ``bundle``. Its stderr (``registered release …``) is the caller's to read."""
    hq_dir = folder / "hq"
    hq_dir.mkdir(parents=True)
    with running_hq(sqlite_url(hq_dir / "hq.sqlite3")) as hq:
        keys, repo = folder / "keys", hq_dir / "tuf"  # HQ serves <HQ data>/tuf
        for argv in (
            ["keys", "init", "--dir", str(keys)],
            ["repo", "init", "--keys", str(keys), "--repo", str(repo)],
            [
                *("release", "publish", VERSION, "--channel", CHANNEL, "--bundle", str(bundle)),
                *("--keys", str(keys), "--repo", str(repo), "--db", hq.db_url),
            ],
        ):
            code = main(argv)
            if code != 0:
                raise RuntimeError(f"ota {' '.join(argv[:2])} exited {code}")
        image_root = folder / "image" / "ota-root.json"
        image_root.parent.mkdir()
        image_root.write_bytes((repo / "metadata" / "1.root.json").read_bytes())
        yield Fleet(hq, keys, repo, image_root, folder)


@dataclass
class KioskFiles:
    """One enrolled kiosk's data folder, settings file and slot root (``/opt/kiosk``)."""

    kiosk_id: str
    data: Path
    config: Path
    root: Path


def enrolled_kiosk(fleet: Fleet, kiosk_id: str, folder: Path) -> KioskFiles:
    """Enrol ``kiosk_id`` at HQ with its data in ``folder/kiosk-data`` and settings in ``folder/kiosk.toml``."""
    data = folder / "kiosk-data"
    data.mkdir(parents=True)
    enrol_kiosk(fleet.hq, data, kiosk_id)
    config = folder / "kiosk.toml"
    config.write_text(
        f'[kiosk]\nid = "{kiosk_id}"\ndata_dir = "{data}"\n'
        f'[hq]\nurl = "{fleet.hq.url}"\n'
        f'[ota]\nchannel = "{CHANNEL}"\ntrusted_root = "{fleet.image_root}"\n',
        encoding="utf-8",
    )
    return KioskFiles(kiosk_id, data, config, folder / "opt")


@dataclass
class KioskSide:
    """The kiosk app: its checkout, its update socket, and what a restart brings up."""

    controller: CheckoutController
    link: OtaLink
    restarts: list[str] = field(default_factory=list)


def kiosk_side(files: KioskFiles) -> KioskSide:
    store = SaleStore(open_store(files.data / "kiosk.sqlite3"), files.kiosk_id)
    store.replace_catalog([WATER])
    controller = CheckoutController(
        options=ControllerOptions(
            kiosk_id=files.kiosk_id, store_name="店", idle_timeout_s=60, done_timeout_s=5
        ),
        store=store,
        gateway=FakePaymentGateway(),
        printer=FileReceiptPrinter(files.data / "receipts"),
        indicators=NullIndicators(),
        template=ReceiptTemplate.default(),
        clock=FakeClock(),
        background=False,
    )
    link = OtaLink(files.data, controller, RUNNING, answer_timeout_s=60)
    link.start()
    return KioskSide(controller, link)


def make_agent(
    files: KioskFiles, kiosk: KioskSide, installer: Installer, *, new_release_healthy: bool = True
) -> Agent:
    """The agent as ``ota agent --config`` builds it, with the installer, restart and clock injected.

    The running release ``RUNNING`` is seeded (installed with ``installer``, switched, confirmed).
    The restart stands in for ``systemctl restart kiosk.service``: the old app's socket goes and the
    release ``current`` names comes up; with ``new_release_healthy`` every part answers and it
    writes its health file, otherwise it never does (the agent's deadline then passes as its
    injected clock moves on with each of its sleeps).
    """
    edges = production_edges(argparse.Namespace(config=files.config, data=files.data))
    clock = SetTime(2_000_000.0)
    slots = Slots(files.root, files.data / "ota" / HEALTH_DIR, installer=installer, now=clock)
    slots.install(make_bundle(files.root.parent / "seed", RUNNING))
    slots.switch(RUNNING)
    slots.confirm(RUNNING)

    def restart() -> None:
        version = slots.current() or ""
        kiosk.restarts.append(version)
        kiosk.link.stop()
        kiosk.controller.update_hold = False
        kiosk.link = OtaLink(files.data, kiosk.controller, version, answer_timeout_s=60)
        kiosk.link.start()
        if new_release_healthy:
            for part in sorted(HEALTH_PARTS):
                kiosk.link.healthy(part)

    def never_sleep(seconds: float) -> None:
        clock.now += seconds

    return Agent(
        slots=slots,
        fetch=edges.fetch,
        hq=edges.hq,
        link=SocketKioskLink(files.data / "ota" / SOCKET_FILE, timeout_s=60),
        state_path=files.data / "ota" / STATE_FILE,
        restart=restart,
        store_schema=lambda: store_needs(files.data / "kiosk.sqlite3"),
        config=AgentConfig(poll_s=60, idle_retry_s=5, health_deadline_s=HEALTH_DEADLINE_S, health_poll_s=1),
        now=clock,
        sleep=never_sleep,
    )


def run_as_ui_thread(kiosk: KioskSide, work: Callable[[], object]) -> None:
    """Run ``work`` (the agent) in a thread while this thread answers the socket's questions, as the
    kiosk's UI thread does. Bounded: raises if the agent has not finished after 30,000 pumps."""
    finished = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:  # raised below, in the caller's thread
            failure.append(exc)
        finally:
            finished.set()

    thread = threading.Thread(target=run)
    thread.start()
    for _ in range(30_000):
        if finished.is_set():
            break
        kiosk.controller.pump(timeout=0.01)
    thread.join(timeout=60)
    if not finished.is_set():
        raise RuntimeError("the agent did not finish")
    if failure:
        raise failure[0]
