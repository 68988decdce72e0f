"""``kiosk doctor`` against real services on 127.0.0.1: all green, then one device at a time broken.

The report is in the kiosk's language, says "all OK" only when every check is OK, and turns an
exception into a sentence naming the device or file (the exception's text goes to the log).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hq_fixtures import running_hq, sqlite_url
from kiosk_enrolment import enrol_kiosk

from hq.catalog import seed_demo
from hq.db import connected
from paysim.credentials import make_credentials
from paysim.server import GatewaySimulator
from printer_emulator.emulator import PrinterEmulator

SAMPLES = Path(__file__).resolve().parents[2] / "kiosk" / "samples"


@contextlib.contextmanager
def _site(tmp_path: Path, catalog: bool) -> Iterator[tuple[Path, PrinterEmulator]]:
    camera = tmp_path / "camera"
    camera.mkdir()
    shutil.copy(SAMPLES / "wechat_ok.png", camera / "frame.png")
    with running_hq(sqlite_url(tmp_path / "hq.sqlite3")) as hq:
        enrol_kiosk(hq, tmp_path / "data", "kiosk-doc")
        if catalog:
            with connected():
                seed_demo()
        timesync = tmp_path / "run" / "timesync"  # systemd-timesyncd's run folder, as on the image
        timesync.mkdir(parents=True)
        (timesync / "synchronized").touch()  # network time has set the clock
        creds = make_credentials(tmp_path / "paysim-keys")
        with GatewaySimulator.with_credentials(creds) as sim, PrinterEmulator() as printer:
            cfg = tmp_path / "kiosk.toml"
            cfg.write_text(
                f'[kiosk]\nid = "kiosk-doc"\ndata_dir = "{tmp_path / "data"}"\nlanguage = "en"\n'
                f'time_sync_file = "{timesync / "synchronized"}"\n'
                f'[hq]\nurl = "{hq.url}"\n'
                f'[printer]\ndevice = "{printer.device_path}"\nstatus_timeout_ms = 300\n'
                f'[camera]\nsource = "{camera}"\n' + creds.kiosk_toml(sim.url)
            )
            cfg.chmod(0o600)  # it holds the payment keys
            yield cfg, printer


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[Path, PrinterEmulator]]:
    with _site(tmp_path, catalog=True) as s:
        yield s


@pytest.fixture
def bare_site(tmp_path: Path) -> Iterator[tuple[Path, PrinterEmulator]]:
    """As ``site``, but HQ has no products yet."""
    with _site(tmp_path, catalog=False) as s:
        yield s


def _set(cfg: Path, section: str, key: str, value: str) -> None:
    """Set one key of the site's config, replacing the line that set it before."""
    out: list[str] = []
    current = ""
    for line in cfg.read_text().splitlines():
        if line.startswith("["):
            current = line.strip("[]")
        if current == section and line.startswith(f"{key} = "):
            continue
        out.append(line)
        if line == f"[{section}]":
            out.append(f"{key} = {value}")
    cfg.write_text("\n".join(out) + "\n")


def _report(stdout: str) -> dict[str, str]:
    """The report's check lines by their first word after the status."""
    return {line.split()[1]: line for line in stdout.splitlines() if line.startswith("  ")}


def _doctor(cfg: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kiosk", "doctor", "--config", str(cfg), *extra],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ},
        check=False,
    )


def test_all_checks_pass(site: tuple[Path, PrinterEmulator]) -> None:
    cfg, _ = site
    result = _doctor(cfg, "--json")
    report = json.loads(result.stdout)
    assert result.returncode == 0, report
    assert report["ok"] is True
    assert {c["name"]: c["status"] for c in report["checks"]} == {
        "settings": "OK",
        "receipt template": "OK",
        "store": "OK",
        "staff alerts": "OK",
        "printer": "OK",
        "camera": "OK",
        "clock": "OK",
        "payment gateway": "OK",
        "HQ": "OK",
    }
    assert (report["failed"], report["warnings"]) == (0, 0)
    human = _doctor(cfg)
    assert human.returncode == 0 and human.stdout.splitlines()[-1] == "all OK"


def test_an_empty_catalog_is_a_warning_that_says_what_to_do(bare_site: tuple[Path, PrinterEmulator]) -> None:
    """Before, an HQ with no products was "OK ... 0 product(s)" and the summary said all passed."""
    cfg, _ = bare_site
    result = _doctor(cfg)
    assert result.returncode == 0, result.stdout + result.stderr  # nothing failed
    hq = _report(result.stdout)["HQ"]
    assert hq.split()[0] == "WARN" and "catalog is empty" in hq and "hq catalog import" in hq
    last = result.stdout.splitlines()[-1]
    assert "all OK" not in result.stdout and "1 warning(s)" in last
    report = json.loads(_doctor(cfg, "--json").stdout)
    assert (report["ok"], report["failed"], report["warnings"]) == (True, 0, 1)


def test_an_exception_becomes_a_sentence_naming_the_device(site: tuple[Path, PrinterEmulator]) -> None:
    """Before, the camera line read "ValueError: camera source ... is not usable: ..."."""
    cfg, _ = site
    _set(cfg, "camera", "source", '"/nonexistent/camera-7.avi"')
    result = _doctor(cfg)
    camera = _report(result.stdout)["camera"]
    assert camera.split()[0] == "FAIL" and "/nonexistent/camera-7.avi" in camera
    assert "cannot open the camera" in camera and "[camera] source" in camera
    assert "Error" not in camera and "Traceback" not in result.stdout + result.stderr
    assert "ValueError" in result.stderr  # the technical reason is in the log
    assert result.stdout.splitlines()[-1].startswith("1 check(s) failed")


def test_the_report_is_in_the_kiosks_language(site: tuple[Path, PrinterEmulator]) -> None:
    """A Chinese kiosk gets a Chinese report: no English status, label or sentence on any line."""
    cfg, printer = site
    printer.dead = True
    _set(cfg, "kiosk", "language", '"zh_CN"')
    result = _doctor(cfg)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("自助收银机自检") and lines[-1].startswith("1 项故障")
    english = re.compile(r"\b(OK|WARN|FAIL|ready|not|cannot|check|failed|warning|none|the|in|and|of)\b")
    for line in lines:
        # paths, addresses and setting names are the same in every language: leave them out
        words = " ".join(w for w in line.split() if not re.search(r"[/:\[\]._]|^\d", w))
        assert re.search(r"[\u4e00-\u9fff]", line), line
        assert not english.search(words), line
    assert _report(result.stdout)["打印机"].split()[0] == "故障"


def test_broken_printer_and_wrong_secret_are_named(site: tuple[Path, PrinterEmulator]) -> None:
    cfg, printer = site
    printer.dead = True
    credentials = cfg.parent / "data" / "hq-credentials.json"
    data = json.loads(credentials.read_text())
    wrong = "0" * 64
    data["secret"] = wrong  # not the secret HQ gave: every request is refused ("signature")
    credentials.write_text(json.dumps(data))
    result = _doctor(cfg)
    assert result.returncode == 1
    lines = _report(result.stdout)
    assert lines["printer"].split()[0] == "FAIL" and "check cable, paper and power" in lines["printer"]
    assert lines["HQ"].split()[0] == "FAIL"
    assert lines["store"].split()[0] == "OK"
    assert "check(s) failed" in result.stdout
    assert "kiosk enroll" in lines["HQ"]
    assert wrong not in result.stdout + result.stderr


def test_a_kiosk_not_enrolled_is_told_how(site: tuple[Path, PrinterEmulator]) -> None:
    cfg, _ = site
    (cfg.parent / "data" / "hq-credentials.json").unlink()
    result = _doctor(cfg)
    hq = _report(result.stdout)["HQ"]
    assert hq.split()[0] == "FAIL" and "not enrolled" in hq and "kiosk enroll CODE --hq" in hq


def test_payments_settled_at_restart_are_shown(site: tuple[Path, PrinterEmulator]) -> None:
    from kiosk.settings import load_settings
    from kiosk.store.db import open_store
    from kiosk.store.sales import SaleStore

    cfg, _ = site
    settings = load_settings(cfg)
    store = SaleStore(open_store(settings.store_path), "kiosk-doc")
    store.audit("kiosk", "recovered_paid", "K20261124000000ABCDEF")
    store.db.close()
    report = json.loads(_doctor(cfg, "--json").stdout)
    alerts = next(c for c in report["checks"] if c["name"] == "staff alerts")
    assert alerts["status"] == "WARN" and "recovered_paid K20261124000000ABCDEF" in alerts["detail"]


def test_real_channels_credentials_and_reachability(
    tmp_path: Path, site: tuple[Path, PrinterEmulator]
) -> None:
    """With WeChat Pay and Alipay configured, the doctor loads the keys and reaches the hosts; charges nothing."""
    cfg, _ = site
    creds = make_credentials(tmp_path / "keys")
    with GatewaySimulator.with_credentials(creds) as sim:
        text = cfg.read_text()
        head, _, _rest = text.partition("[payments]")
        cfg.write_text(head + creds.kiosk_toml(sim.url))
        result = _doctor(cfg, "--json")
        assert result.stdout, result.stderr
        checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
        assert checks["payment gateway"]["status"] == "OK", checks["payment gateway"]
        assert (
            "wechat" in checks["payment gateway"]["detail"]
            and "alipay" in checks["payment gateway"]["detail"]
        )
        assert [e for e in sim.bank.ledger()] == []
        creds.app_private_key_file.chmod(0o644)  # a private key others can read is refused
        result = _doctor(cfg, "--json")
        assert result.returncode != 0
        assert creds.wechat_api_key not in result.stdout + result.stderr


def test_an_uncommissioned_kiosk_fails_the_gateway_check_saying_what_to_set(
    site: tuple[Path, PrinterEmulator],
) -> None:
    cfg, _ = site
    head, _, _rest = cfg.read_text().partition("[payments]")
    cfg.write_text(head)  # the shipped default: payments.gateway = "none"
    result = _doctor(cfg, "--json")
    assert result.returncode == 1
    gateway = next(c for c in json.loads(result.stdout)["checks"] if c["name"] == "payment gateway")
    assert gateway["status"] == "FAIL"
    assert "payments" in gateway["detail"] and "wechat" in gateway["detail"]


def test_a_store_that_went_backwards_is_named_with_the_restore_step(
    site: tuple[Path, PrinterEmulator],
) -> None:
    from kiosk.core.cart import Cart, Product
    from kiosk.settings import load_settings
    from kiosk.store.db import open_store
    from kiosk.store.sales import SaleStore

    cfg, _ = site
    path = load_settings(cfg).store_path
    store = SaleStore(open_store(path), "kiosk-doc")
    order = store.open_order(Cart().add(Product("w", "水", "Water", 100)))
    payment = store.begin_payment(order, "wechat", "wechat", "134567890123456789")
    store.record_paid(payment.out_trade_no, "T1")
    store.db.close()
    for side in ("-wal", "-shm"):
        path.with_name(path.name + side).unlink(missing_ok=True)
    path.write_bytes(b"")  # emptied: its paid sale is gone
    result = _doctor(cfg, "--json")
    store_check = next(c for c in json.loads(result.stdout)["checks"] if c["name"] == "store")
    assert result.returncode == 1 and store_check["status"] == "FAIL"
    assert "holds 0 paid sale(s)" in store_check["detail"] and "recorded 1" in store_check["detail"]
    assert "kiosk store accept" in store_check["detail"] and "backup" in store_check["detail"]


def test_a_clock_network_time_has_not_set_fails_saying_what_to_check(
    site: tuple[Path, PrinterEmulator],
) -> None:
    """Before, the doctor had no clock line: a kiosk out of service for CLOCK_NOT_SYNCED passed it.
    The Pi has no real-time clock; systemd-timesyncd's flag file says whether NTP has set it."""
    cfg, _ = site
    flag = cfg.parent / "run" / "timesync" / "synchronized"
    assert "set by network time" in _report(_doctor(cfg).stdout)["clock"]
    flag.unlink()  # as after a boot with no NTP reachable
    result = _doctor(cfg)
    assert result.returncode == 1, result.stdout + result.stderr
    clock = _report(result.stdout)["clock"]
    assert clock.split()[0] == "FAIL" and str(flag) in clock and "UDP 123" in clock, clock
    _set(cfg, "kiosk", "require_time_sync", '"no"')  # a development machine's choice
    clock = _report(_doctor(cfg).stdout)["clock"]
    assert clock.split()[0] == "OK" and "require_time_sync = no" in clock, clock


def test_a_clock_earlier_than_the_release_fails_even_when_synced(tmp_path: Path) -> None:
    """A Pi's clock after a boot reads 1970, or fake-hwclock's last shutdown: wrong whatever the flag
    file says, as the controller decides (``availability.clock_trusted``)."""
    from datetime import UTC, datetime

    from kiosk.doctor import check_clock
    from kiosk.settings import load_settings

    flag = tmp_path / "synchronized"
    flag.touch()
    settings = load_settings(None, environ={"KIOSK_KIOSK__TIME_SYNC_FILE": str(flag)})
    for language, words in (("en", "before this release"), ("zh_CN", "早于本版本发布日期")):
        check = check_clock(settings, language, now=lambda: datetime(1970, 1, 1, 0, 0, 9, tzinfo=UTC))
        assert check.status == "FAIL" and words in check.detail and "1970-01-01 00:00 UTC" in check.detail
    assert check_clock(settings, "en", now=lambda: datetime(2027, 1, 5, tzinfo=UTC)).status == "OK"


def test_settings_others_than_root_may_change_are_a_warning_where_the_firewall_reads_them(
    tmp_path: Path,
) -> None:
    """Kiosks flashed before the settings became root:kiosk 0640 keep them as the kiosk user's, and
    a release reaches them by OTA: where the image's firewall takes its hosts from the settings, the
    doctor says they must be root's alone, and how."""
    from kiosk.doctor import check_settings

    if os.getuid() != 0:
        pytest.fail("the check trusts root's files only: run make test as root (README)")
    firewall = tmp_path / "kiosk-firewall"
    firewall.write_text("#!/bin/sh\n", encoding="ascii")
    etc = tmp_path / "etc-kiosk"
    etc.mkdir(mode=0o750)
    config = etc / "kiosk.toml"
    config.write_text('[hq]\nurl = "https://hq.example.com"\n', encoding="utf-8")
    config.chmod(0o640)
    assert check_settings(config, "en", firewall).status == "OK"
    os.chown(config, 999, 999)  # the kiosk user's, as earlier images left it
    check = check_settings(config, "en", firewall)
    assert check.status == "WARN"
    assert f"chown root:kiosk {config} && chmod 0640 {config}" in check.detail
    assert check_settings(config, "zh_CN", firewall).detail.startswith(f"已读取 {config}，但除 root 外")
    # a development machine, with no image firewall: nothing to say
    assert check_settings(config, "en", tmp_path / "none").status == "OK"
