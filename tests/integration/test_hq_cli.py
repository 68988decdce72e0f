"""The `hq` command against a real SQLite file: keys, catalog import, seed, settings and exit codes."""

from __future__ import annotations

import os
import select
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from hq_fixtures import running_hq, sqlite_url

from hq.cli import main

TIMEOUT = 10.0
HEADER = "sku,name_zh,name_en,price_fen,barcode,category\n"


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    for name in list(os.environ):
        if name.startswith("HQ_"):
            monkeypatch.delenv(name)


@pytest.fixture
def db(tmp_path: Path) -> str:
    return sqlite_url(tmp_path / "hq.sqlite3")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def products(db: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect("/" + db.removeprefix("sqlite:///")) as conn:
        return conn.execute(
            "SELECT sku, name_zh, name_en, price_fen, barcode, category, active FROM product ORDER BY sku"
        ).fetchall()


def catalog_status(url: str, api_key: str) -> int:
    reply = requests.get(
        f"{url}/api/v1/catalog", headers={"Authorization": f"Bearer {api_key}"}, timeout=TIMEOUT
    )
    return reply.status_code


# --- devices ----------------------------------------------------------------------------------------


def test_device_add_prints_only_the_key_and_the_key_works(
    capsys: pytest.CaptureFixture[str], db: str
) -> None:
    code, out, err = run(capsys, "device", "add", "kiosk-007", "--db", db)
    assert code == 0
    api_key = out.strip()
    assert out.count("\n") == 1 and len(api_key) >= 43
    assert "kiosk-007" in err and "only this once" in err and api_key not in err
    with running_hq(db) as hq:
        assert catalog_status(hq.url, api_key) == 200
        assert catalog_status(hq.url, api_key[:-1] + ("A" if api_key[-1] != "A" else "B")) == 401


def test_a_second_add_is_refused_and_rotate_replaces_the_key(
    capsys: pytest.CaptureFixture[str], db: str
) -> None:
    _, first, _ = run(capsys, "device", "add", "kiosk-007", "--db", db)
    code, out, err = run(capsys, "device", "add", "kiosk-007", "--db", db)
    assert (code, out) == (2, "")
    assert "already has a key" in err and "--rotate" in err
    code, second, _ = run(capsys, "device", "add", "kiosk-007", "--rotate", "--db", db)
    assert code == 0 and second.strip() != first.strip()
    with running_hq(db) as hq:
        assert catalog_status(hq.url, first.strip()) == 401
        assert catalog_status(hq.url, second.strip()) == 200


def test_rotate_of_an_unknown_kiosk_and_bad_kiosk_ids_are_bad_input(
    capsys: pytest.CaptureFixture[str], db: str
) -> None:
    code, out, err = run(capsys, "device", "add", "kiosk-404", "--rotate", "--db", db)
    assert (code, out) == (2, "") and "nothing to rotate" in err
    code, out, err = run(capsys, "device", "add", "kiosk 1; rm", "--db", db)
    assert (code, out) == (2, "") and "'kiosk 1; rm' is not allowed" in err


def test_device_list_shows_kiosks_but_never_keys(capsys: pytest.CaptureFixture[str], db: str) -> None:
    code, out, err = run(capsys, "device", "list", "--db", db)
    assert code == 0 and "hq device add" in err
    _, key_a, _ = run(capsys, "device", "add", "kiosk-b", "--db", db)
    _, key_b, _ = run(capsys, "device", "add", "kiosk-a", "--db", db)
    code, out, _ = run(capsys, "device", "list", "--db", db)
    lines = out.splitlines()
    assert code == 0
    assert [line.split("\t")[0] for line in lines[1:]] == ["kiosk-a", "kiosk-b"]
    assert all(line.split("\t")[2] == "never" for line in lines[1:])
    assert key_a.strip() not in out and key_b.strip() not in out


def test_messages_follow_the_admins_locale(
    capsys: pytest.CaptureFixture[str], db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    run(capsys, "device", "add", "kiosk-1", "--db", db)
    code, _, err = run(capsys, "device", "add", "kiosk-1", "--db", db)
    assert code == 2 and "已有密钥" in err and "--rotate" in err


# --- catalog ----------------------------------------------------------------------------------------


def test_catalog_import_inserts_then_updates(
    capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path
) -> None:
    csv_file = tmp_path / "catalog.csv"
    csv_file.write_text(
        HEADER
        + "D001,矿泉水,Mineral water,200,6901234560015,drinks\nD002,可乐,Cola,350,6901234560022,drinks\n",
        encoding="utf-8",
    )
    code, out, _ = run(capsys, "catalog", "import", str(csv_file), "--db", db)
    assert code == 0 and "2 new, 0 updated" in out
    # the two products swap barcodes and one changes price: allowed in one import
    csv_file.write_text(
        "\ufeff"
        + HEADER
        + "D001,矿泉水,Mineral water,220,6901234560022,drinks\nD002,可乐,Cola,350,6901234560015,drinks\n",
        encoding="utf-8",
    )
    code, out, _ = run(capsys, "catalog", "import", str(csv_file), "--db", db)
    assert code == 0 and "0 new, 2 updated" in out
    assert products(db) == [
        ("D001", "矿泉水", "Mineral water", 220, "6901234560022", "drinks", 1),
        ("D002", "可乐", "Cola", 350, "6901234560015", "drinks", 1),
    ]


def test_a_file_with_bad_rows_imports_nothing_and_names_each_problem(
    capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path
) -> None:
    csv_file = tmp_path / "catalog.csv"
    csv_file.write_text(
        HEADER
        + "D001,矿泉水,Mineral water,200,6901234560015,drinks\n"
        + "D002,可乐,Cola,3.50,6901234560022,drinks\n"
        + "D003,绿茶,Green tea,400,6901234560036,drinks\n",
        encoding="utf-8",
    )
    code, out, err = run(capsys, "catalog", "import", str(csv_file), "--db", db)
    assert (code, out) == (2, "")
    assert "nothing imported, 2 problem(s)" in err
    assert "row 3, column price_fen, value '3.50': this looks like yuan" in err
    assert "row 4, column barcode, value '6901234560036': the check digit is wrong (it should be 9)" in err
    assert products(db) == []


def test_a_barcode_held_by_another_product_refuses_the_import(
    capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path
) -> None:
    assert run(capsys, "catalog", "seed-demo", "--db", db)[0] == 0
    before = products(db)
    csv_file = tmp_path / "new.csv"
    csv_file.write_text(HEADER + "N001,新品,New thing,100,6901234560015,misc\n", encoding="utf-8")
    code, _, err = run(capsys, "catalog", "import", str(csv_file), "--db", db)
    assert code == 2
    assert "row 2, column barcode, value '6901234560015': this barcode belongs to product D001" in err
    assert products(db) == before


def test_file_problems_are_bad_input_with_a_way_out(
    capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path
) -> None:
    gbk = tmp_path / "excel.csv"
    gbk.write_bytes((HEADER + "F001,三明治,Sandwich,1200,,food\n").encode("gb18030"))
    code, _, err = run(capsys, "catalog", "import", str(gbk), "--db", db)
    assert code == 2 and "not UTF-8" in err and "--encoding gb18030" in err
    code, _, _ = run(capsys, "catalog", "import", str(gbk), "--encoding", "gb18030", "--db", db)
    assert code == 0 and products(db)[0][1] == "三明治"
    code, _, err = run(capsys, "catalog", "import", str(tmp_path / "missing.csv"), "--db", db)
    assert code == 2 and "missing.csv" in err and "cannot read" in err
    code, _, err = run(capsys, "catalog", "import", str(gbk), "--encoding", "klingon", "--db", db)
    assert code == 2 and "klingon" in err


def test_seed_demo_adds_a_dozen_products_and_is_repeatable(
    capsys: pytest.CaptureFixture[str], db: str
) -> None:
    code, out, _ = run(capsys, "catalog", "seed-demo", "--db", db)
    assert code == 0 and "demo products" in out
    first = products(db)
    assert len(first) >= 12
    assert run(capsys, "catalog", "seed-demo", "--db", db)[0] == 0
    assert products(db) == first


# --- settings and database errors -------------------------------------------------------------------


def test_bad_settings_and_database_urls_exit_2_with_the_reason(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = run(capsys, "device", "list", "--db", "sqlite:///no/such/folder/hq.db")
    assert code == 2 and "/no/such/folder" in err and "does not exist" in err
    code, _, err = run(capsys, "device", "list", "--db", "sqlite:///:memory:")
    assert code == 2 and "in-memory" in err
    code, _, err = run(capsys, "device", "list", "--db", "mysql://x/y")
    assert code == 2 and "database.url" in err
    monkeypatch.setenv("HQ_SERVER__PORT", "eighty")
    code, _, err = run(capsys, "device", "list", "--db", sqlite_url(tmp_path / "x.db"))
    assert code == 2 and "HQ_SERVER__PORT" in err and "eighty" in err


def test_serve_on_a_port_in_use_exits_1_and_says_so(capsys: pytest.CaptureFixture[str], db: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        code, out, err = run(capsys, "serve", "--host", "127.0.0.1", "--port", str(port), "--db", db)
    assert (code, out) == (1, "")
    assert f"cannot listen on 127.0.0.1:{port}" in err and "--port" in err


def test_device_add_and_serve_make_a_missing_database_folder(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The README's first commands on a fresh machine, where /var/lib/kiosk-hq does not exist yet:
    both make the folder (0700) instead of stopping."""
    old = os.umask(0o022)  # the usual umask, under which a plain mkdir would give 0755
    try:
        folder = tmp_path / "kiosk-hq"
        code, out, err = run(capsys, "device", "add", "kiosk-1", "--db", sqlite_url(folder / "hq.sqlite3"))
        assert code == 0, err
        assert len(out.strip()) >= 43
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert stat.S_IMODE((folder / "hq.sqlite3").stat().st_mode) == 0o600

        served = tmp_path / "served-hq"
        with socket.socket() as taken:  # serve opens the database, then stops at the port: no server runs
            taken.bind(("127.0.0.1", 0))
            taken.listen(1)
            port = str(taken.getsockname()[1])
            code, _, err = run(capsys, "serve", "--port", port, "--db", sqlite_url(served / "hq.sqlite3"))
        assert code == 1 and "cannot listen" in err and "does not exist" not in err
        assert stat.S_IMODE(served.stat().st_mode) == 0o700
    finally:
        os.umask(old)


def test_a_database_folder_hq_cannot_make_exits_1_saying_which_and_what_to_do(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    in_the_way = tmp_path / "kiosk-hq"
    in_the_way.write_text("not a folder", encoding="utf-8")
    db = sqlite_url(in_the_way / "hq.sqlite3")
    code, out, err = run(capsys, "device", "add", "kiosk-1", "--db", db)
    assert (code, out) == (1, "")
    assert f"cannot create the folder {in_the_way} for the HQ database" in err
    assert "sudo install -d -m 700" in err and "--db" in err
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    code, _, err = run(capsys, "device", "list", "--db", db)
    assert code == 1 and f"无法创建 HQ 数据库所在的文件夹 {in_the_way}" in err


def test_config_file_supplies_the_database(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config = tmp_path / "hq-site.toml"
    config.write_text(f'[database]\nurl = "{sqlite_url(tmp_path / "site.db")}"\n', encoding="utf-8")
    assert run(capsys, "device", "add", "kiosk-1", "--config", str(config))[0] == 0
    assert (tmp_path / "site.db").exists()


# --- the installed console script, as an admin runs it ------------------------------------------------


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HQ_")}
    env.update(LANG="C.UTF-8", HOME=str(tmp_path))
    env.pop("LC_ALL", None)
    return env


def _read_line(proc: subprocess.Popen[str], deadline: float) -> str:
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if ready:
            return proc.stdout.readline()
        if proc.poll() is not None:
            break
    raise AssertionError("hq serve printed nothing in time")


@pytest.fixture
def hq_serve(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    db = sqlite_url(tmp_path / "served.db")
    hq_bin = Path(sys.executable).with_name("hq")
    subprocess.run(
        [str(hq_bin), "catalog", "seed-demo", "--db", db],
        env=_env(tmp_path),
        check=True,
        timeout=60,
        capture_output=True,
    )
    proc = subprocess.Popen(
        [str(hq_bin), "serve", "--host", "127.0.0.1", "--port", "0", "--db", db],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=_env(tmp_path),
    )
    try:
        yield proc, db
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(TIMEOUT)
        assert proc.stdout is not None
        proc.stdout.close()


def test_hq_serve_prints_its_url_and_a_key_from_hq_device_add_works(
    hq_serve: tuple[subprocess.Popen[str], str], tmp_path: Path
) -> None:
    proc, db = hq_serve
    line = _read_line(proc, time.monotonic() + 30)
    assert line.startswith("HQ listening on http://127.0.0.1:"), line
    url = line.split()[3]
    added = subprocess.run(
        [str(Path(sys.executable).with_name("hq")), "device", "add", "kiosk-042", "--db", db],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert added.returncode == 0, added.stderr
    api_key = added.stdout.strip()
    reply = requests.get(
        f"{url}/api/v1/catalog", headers={"Authorization": f"Bearer {api_key}"}, timeout=TIMEOUT
    )
    assert reply.status_code == 200 and len(reply.json()["products"]) >= 12
    proc.send_signal(signal.SIGTERM)
    # uvicorn shuts down cleanly, then re-raises the signal so the exit status tells systemd why
    assert proc.wait(TIMEOUT) in (0, -signal.SIGTERM)
