"""``ota install-first`` (the image installer's first slot) and ``ota in-window`` (the OS updates' window)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ota import cli
from tests.fakes.ota_release import make_bundle


def _config(tmp_path: Path, window: str = "", timezone: str = "Asia/Shanghai") -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text(
        f'[kiosk]\ntimezone = "{timezone}"\ndata_dir = "{tmp_path / "data"}"\n'
        f'[ota]\nmaintenance_window = "{window}"\n',
        encoding="utf-8",
    )
    return path


def test_the_first_release_is_installed_with_its_own_venv_and_made_current(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """GIVEN an empty /opt/kiosk WHEN the installer runs install-first THEN releases/1.0.0 holds a
    real venv built offline from the bundle's wheel, and current names it (no pending switch)."""
    bundle = make_bundle(tmp_path / "bundles", "1.0.0")
    root, data = tmp_path / "opt", tmp_path / "data"
    code = cli.main(["install-first", "--root", str(root), "--data", str(data), str(bundle)])
    assert code == 0, capsys.readouterr().err
    assert os.readlink(root / "current") == "releases/1.0.0"
    slot = root / "releases" / "1.0.0"
    assert (slot / ".complete").is_file()
    assert list((slot / "venv" / "lib").glob("python3.*/site-packages/kiosk_tiny.py"))
    assert not (root / "pending.json").exists()  # nothing to roll back to, so no health deadline
    assert "installed release 1.0.0" in capsys.readouterr().out


def test_a_kiosk_with_a_current_release_is_left_to_the_agent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, data = tmp_path / "opt", tmp_path / "data"
    (root / "releases" / "1.0.0").mkdir(parents=True)
    (root / "releases" / "1.0.0" / ".complete").write_text("1.0.0\n")
    (root / "current").symlink_to("releases/1.0.0")
    bundle = make_bundle(tmp_path / "bundles", "1.1.0")
    code = cli.main(["install-first", "--root", str(root), "--data", str(data), str(bundle)])
    assert code == 2
    assert "already current" in capsys.readouterr().err
    assert os.readlink(root / "current") == "releases/1.0.0"
    assert not (root / "releases" / "1.1.0").exists()


def test_a_damaged_bundle_is_refused_and_leaves_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = tmp_path / "kiosk-1.0.0.tar"
    bundle.write_bytes(b"not a tar")
    root = tmp_path / "opt"
    code = cli.main(["install-first", "--root", str(root), "--data", str(tmp_path / "data"), str(bundle)])
    assert code == 1
    assert str(bundle) in capsys.readouterr().err
    assert not (root / "current").exists()


@pytest.mark.parametrize(
    ("window", "default", "at", "code"),
    [
        ("02:00-05:00", "", "03:00", 0),
        ("02:00-05:00", "", "12:00", 1),
        ("22:00-02:00", "", "23:30", 0),  # over midnight
        ("", "02:00-05:00", "04:59", 0),  # the kiosk sets none: the OS updates' own default
        ("", "02:00-05:00", "05:00", 1),
        ("", "", "12:00", 0),  # no window at all: any time
    ],
)
def test_in_window_answers_with_the_kiosks_window_or_the_default(
    tmp_path: Path, window: str, default: str, at: str, code: int
) -> None:
    config = _config(tmp_path, window)
    argv = ["in-window", "--config", str(config), "--at", at]
    if default:
        argv += ["--default", default]
    assert cli.main(argv) == code


def test_in_window_says_what_is_wrong_with_a_bad_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path)
    assert cli.main(["in-window", "--config", str(config), "--default", "25:00-26:00"]) == 2
    assert "ota in-window:" in capsys.readouterr().err
