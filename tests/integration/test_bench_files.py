"""What the benches write is readable by its owner only, and ``make bench`` is not refused for it.

``bench/payments.py`` wrote its kiosk config (which holds the simulator's WeChat Pay API key) with
the default mode 0644, so the kiosk's own check refused it and ``make bench`` stopped. Each bench
here runs for real, in small, into a test folder, and every file it leaves is checked.
"""

from __future__ import annotations

import importlib.util
import os
import stat
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _bench(name: str, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """Load ``bench/NAME.py`` with bench/ on sys.path, as ``python bench/NAME.py`` has it."""
    monkeypatch.syspath_prepend(str(BENCH))
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _open_to_others(folder: Path) -> list[str]:
    """Every file or folder under ``folder`` that a group or other user could read, write or enter."""
    found = []
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = Path(root, name)
            mode = path.lstat().st_mode
            if not stat.S_ISLNK(mode) and mode & 0o077:
                found.append(f"{path.relative_to(folder)} {stat.S_IMODE(mode):04o}")
    return found


@pytest.fixture
def loose_umask() -> object:
    """The usual 022, so a file the bench does not make private shows up as 0644."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_payments_bench_runs_and_keeps_its_files_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loose_umask: object
) -> None:
    payments = _bench("payments", monkeypatch)
    figures = payments.run(2, 0, tmp_path)  # raised SettingsError (config readable by others) before
    assert figures["orders"] == 2 and figures["wechat_p50_ms"] > 0
    assert (tmp_path / "kiosk0.toml").is_file()
    assert _open_to_others(tmp_path) == []
    assert os.umask(0o022) == 0o022  # the bench gave the umask back


@pytest.mark.slow
def test_checkout_bench_keeps_its_files_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loose_umask: object
) -> None:
    checkout = _bench("checkout", monkeypatch)
    summary = checkout.measure(1, tmp_path)
    assert summary["paid"] == 1
    assert (tmp_path / "hq.sqlite3").is_file() and any((tmp_path / "data").iterdir())
    assert _open_to_others(tmp_path) == []


def test_decode_bench_clip_is_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loose_umask: object
) -> None:
    decode = _bench("decode", monkeypatch)
    decode.view_to_event("zxing-plain", 7, codes=1, folder=tmp_path)
    assert (tmp_path / "phones.avi").is_file()
    assert _open_to_others(tmp_path) == []


@pytest.mark.slow
def test_ota_bench_once_privately(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loose_umask: object
) -> None:
    ota_updates = _bench("ota_updates", monkeypatch)
    figures = ota_updates.measure(1, tmp_path, "fake")  # the tests' installer: no venv, seconds saved
    assert figures["runs"] == 1 and figures["installer"] == "fake"
    assert figures["bundle_bytes"] > figures["app_wheel_bytes"] > 0 and figures["stand_in_wheels"] > 0
    update = figures["update"]
    assert 0 < update["download_s"] <= update["to_healthy_s"] <= update["to_reported_s"]
    rollback = figures["rollback"]
    assert 0 < rollback["to_current_back_s"] <= rollback["to_agent_done_s"]
    assert figures["boot_check"]["past_deadline_s"] > 0
    # the TUF repository's metadata is public by design (HQ and any mirror serve it unauthenticated:
    # ota.repo writes it 0644); everything else the bench made is its owner's only
    public = "fleet/hq/tuf/metadata/"
    assert [f for f in _open_to_others(tmp_path) if not f.startswith(public)] == []
    ota_updates.report(figures)  # the readable lines print from the same figures
