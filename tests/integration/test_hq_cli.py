"""The `hq` command against a real SQLite file: stores, enrolment codes, kiosks, admins, fleet status,
catalog import, seed, settings and exit codes."""

from __future__ import annotations

import io
import json
import os
import re
import select
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from hq_fixtures import sqlite_url

from hq.admins import sign_in
from hq.cli import main
from hq.db import connected, open_database
from hq.enrolment import make_code, redeem
from hq.models import Admin, Device, EnrolCode, utc_now
from kiosk.sync.signed import HqSigner

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


# --- stores, kiosks, admins, fleet --------------------------------------------------------------------


def enrol_in_process(db: str, kiosk_id: str, store: str = "s01") -> bytes:
    """Enrol ``kiosk_id`` the way POST /api/v1/enrol does, with a code; returns its secret."""
    open_database(db)
    with connected():
        made = make_code(store, kiosk_id)
        return redeem(b"k" * 32, made.code, None).secret


def test_store_add_and_list(capsys: pytest.CaptureFixture[str], hq_db_url: str) -> None:
    code, out, err = run(capsys, "store", "list", "--db", hq_db_url)
    assert (code, out) == (0, "") and "hq store add" in err
    code, out, _ = run(capsys, "store", "add", "s02", "--name", "东门店 East gate", "--db", hq_db_url)
    assert code == 0 and "s02" in out
    assert run(capsys, "store", "add", "s01", "--name", "Main street", "--db", hq_db_url)[0] == 0
    enrol_in_process(hq_db_url, "kiosk-001", "s02")
    code, out, _ = run(capsys, "store", "list", "--db", hq_db_url)
    assert code == 0
    assert [line.split("\t")[:3] for line in out.splitlines()[1:]] == [
        ["s01", "Main street", "0"],
        ["s02", "东门店 East gate", "1"],
    ]


def test_a_store_that_exists_or_a_bad_code_is_bad_input(
    capsys: pytest.CaptureFixture[str], hq_db_url: str
) -> None:
    run(capsys, "store", "add", "s01", "--name", "Main street", "--db", hq_db_url)
    code, out, err = run(capsys, "store", "add", "s01", "--name", "Again", "--db", hq_db_url)
    assert (code, out) == (2, "") and "exists already" in err
    code, out, err = run(capsys, "store", "add", "s 1; rm", "--name", "x", "--db", hq_db_url)
    assert (code, out) == (2, "") and "'s 1; rm'" in err


def test_enroll_code_prints_only_the_code_on_stdout_and_its_qr_on_stderr(
    capsys: pytest.CaptureFixture[str], hq_db_url: str
) -> None:
    run(capsys, "store", "add", "s01", "--name", "Main street", "--db", hq_db_url)
    code, out, err = run(capsys, "device", "enroll-code", "--store", "s01", "--ttl", "5", "--db", hq_db_url)
    assert code == 0 and out.count("\n") == 1
    assert re.fullmatch(r"[A-HJKMNP-Z2-9]{4}(-[A-HJKMNP-Z2-9]{4}){3}\n", out), out
    assert "█" in err and "works once" in err and "(5 min)" in err and out.strip() not in err
    with connected():
        assert [r.expires_at - r.created_at for r in EnrolCode.select()] == [timedelta(minutes=5)]


def _qr_texts(picture: Path) -> list[str]:
    """What the kiosk's own decoder (zxing, the camera's default backend) reads in a saved picture."""
    import cv2

    from drivers.camera.decoders import make_decoder

    return [d.text for d in make_decoder("zxing").decode(cv2.imread(str(picture)))]


def test_enroll_code_with_hq_url_prints_the_payload_and_saves_its_qr(
    capsys: pytest.CaptureFixture[str], hq_db_url: str, tmp_path: Path
) -> None:
    """GIVEN --hq-url and --qr-file WHEN a code is made THEN stdout is still only the code, stderr
    names the payload the kiosk's screen scans, and the saved pictures decode to exactly it, read
    by the kiosk's own decoder (the camera's default backend: what the installer's scan meets)."""
    from kiosk_common.enrolment import parse_enrol_payload

    run(capsys, "store", "add", "s01", "--name", "Main street", "--db", hq_db_url)
    pictures = {}
    for suffix in ("png", "svg"):
        path = tmp_path / f"enrol.{suffix}"
        code, out, err = run(
            capsys, "device", "enroll-code", "--store", "s01", "--hq-url", "https://hq.example.cn/",
            "--qr-file", str(path), "--db", hq_db_url,
        )  # fmt: skip
        assert code == 0 and out.count("\n") == 1, err
        payload = f"KIOSKENROL1:https://hq.example.cn:{out.strip()}"
        assert payload in err and str(path) in err
        assert parse_enrol_payload(payload).code == out.strip()
        pictures[suffix] = (path, payload)
    png, payload = pictures["png"]
    assert _qr_texts(png) == [payload]
    svg, payload = pictures["svg"]
    assert svg.read_text(encoding="utf-8").lstrip().startswith("<?xml") and "<svg" in svg.read_text("utf-8")


def test_a_saved_enrolment_qr_that_opencvs_detector_misses_reads_with_the_kiosks_decoder(
    tmp_path: Path,
) -> None:
    # a CI run drew this code at random and OpenCV's QRCodeDetector read '' from its picture (the
    # test above decoded with it then); the kiosk scans with its own decoder, which reads it
    from hq.admin_cli import save_qr

    payload = "KIOSKENROL1:https://hq.example.cn:GSMX-52SK-P22V-VPBV"
    save_qr(payload, tmp_path / "enrol.png")
    assert _qr_texts(tmp_path / "enrol.png") == [payload]


def test_enroll_code_refuses_an_unsafe_hq_url_or_an_existing_qr_file_before_making_a_code(
    capsys: pytest.CaptureFixture[str], hq_db_url: str, tmp_path: Path
) -> None:
    run(capsys, "store", "add", "s01", "--name", "Main street", "--db", hq_db_url)
    code, out, err = run(
        capsys,
        "device",
        "enroll-code",
        "--store",
        "s01",
        "--hq-url",
        "http://hq.example.cn",
        "--db",
        hq_db_url,
    )
    assert (code, out) == (2, "") and "--hq-url http://hq.example.cn" in err and "no code was made" in err
    taken = tmp_path / "taken.png"
    taken.write_bytes(b"the admin's own picture")
    code, out, err = run(
        capsys, "device", "enroll-code", "--store", "s01", "--qr-file", str(taken), "--db", hq_db_url
    )
    assert (code, out) == (2, "") and "never overwritten" in err
    assert taken.read_bytes() == b"the admin's own picture"
    code, out, err = run(
        capsys,
        "device",
        "enroll-code",
        "--store",
        "s01",
        "--qr-file",
        str(tmp_path / "x.jpg"),
        "--db",
        hq_db_url,
    )
    assert (code, out) == (2, "") and ".svg or .png" in err
    with connected():
        assert EnrolCode.select().count() == 0


def test_enroll_code_refuses_an_unknown_store_a_bad_kiosk_id_and_a_bad_ttl(
    capsys: pytest.CaptureFixture[str], hq_db_url: str
) -> None:
    code, out, err = run(capsys, "device", "enroll-code", "--store", "s09", "--db", hq_db_url)
    assert (code, out) == (2, "") and "no store with code s09" in err and "hq store add s09" in err
    run(capsys, "store", "add", "s01", "--name", "Main street", "--db", hq_db_url)
    code, out, err = run(
        capsys, "device", "enroll-code", "--store", "s01", "--kiosk-id", "a b", "--db", hq_db_url
    )
    assert (code, out) == (2, "") and "'a b' is not allowed" in err
    for ttl in ("0", "1441"):
        code, out, err = run(
            capsys, "device", "enroll-code", "--store", "s01", "--ttl", ttl, "--db", hq_db_url
        )
        assert (code, out) == (2, "") and f"--ttl {ttl}" in err


def test_device_list_shows_kiosks_their_store_and_revocation_but_never_secrets(
    capsys: pytest.CaptureFixture[str], hq_db_url: str
) -> None:
    code, out, err = run(capsys, "device", "list", "--db", hq_db_url)
    assert (code, out) == (0, "") and "hq device enroll-code" in err
    run(capsys, "store", "add", "s01", "--name", "Main street", "--db", hq_db_url)
    secrets = [enrol_in_process(hq_db_url, k) for k in ("kiosk-b", "kiosk-a")]
    assert run(capsys, "device", "revoke", "kiosk-b", "--db", hq_db_url)[0] == 0
    code, out, _ = run(capsys, "device", "list", "--db", hq_db_url)
    rows = [line.split("\t") for line in out.splitlines()[1:]]
    assert code == 0
    assert [(r[0], r[1], r[3] != "-", r[4]) for r in rows] == [
        ("kiosk-a", "s01", False, "never"),
        ("kiosk-b", "s01", True, "never"),
    ]
    assert not any(s.hex() in out for s in secrets)


def test_admin_add_asks_twice_and_stores_an_argon2_hash(
    capsys: pytest.CaptureFixture[str], hq_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = iter(["a long passphrase", "a long passphrase", "a long passphrase", "another one!!"])
    prompts: list[str] = []

    def fake_getpass(prompt: str) -> str:
        prompts.append(prompt)
        return next(answers)

    monkeypatch.setattr("getpass.getpass", fake_getpass)
    monkeypatch.setattr("sys.stdin", FakeTty(""))
    code, out, _ = run(capsys, "admin", "add", "alice", "--db", hq_db_url)
    assert code == 0 and "admin alice added" in out
    assert prompts == ["Password for alice: ", "The same password again: "]
    code, out, err = run(capsys, "admin", "add", "bob", "--db", hq_db_url)
    assert (code, out) == (2, "") and "differ" in err
    with connected():
        [admin] = Admin.select()
    assert admin.name == "alice" and admin.password_hash.startswith("$argon2id$")
    assert "a long passphrase" not in admin.password_hash


def test_admin_add_from_stdin_refuses_short_passwords_and_names_taken(
    capsys: pytest.CaptureFixture[str], hq_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    code, out, err = run(capsys, "admin", "add", "alice", "--password-stdin", "--db", hq_db_url)
    assert (code, out) == (2, "") and "12 to 1024 characters" in err
    monkeypatch.setattr("sys.stdin", io.StringIO("twelve chars or more\n"))
    assert run(capsys, "admin", "add", "alice", "--password-stdin", "--db", hq_db_url)[0] == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("twelve chars or more\n"))
    code, _, err = run(capsys, "admin", "add", "alice", "--password-stdin", "--db", hq_db_url)
    assert code == 2 and "exists already" in err
    with connected():
        assert sign_in("alice", "twelve chars or more") is not None  # the newline is not part of it
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # not a terminal, and no --password-stdin
    code, _, err = run(capsys, "admin", "add", "bob", "--db", hq_db_url)
    assert code == 2 and "--password-stdin" in err


def test_admin_list_and_disable(
    capsys: pytest.CaptureFixture[str], hq_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "hq admin add" in run(capsys, "admin", "list", "--db", hq_db_url)[2]
    monkeypatch.setattr("sys.stdin", io.StringIO("twelve chars or more\n"))
    run(capsys, "admin", "add", "alice", "--password-stdin", "--db", hq_db_url)
    code, out, _ = run(capsys, "admin", "disable", "alice", "--db", hq_db_url)
    assert code == 0 and "alice disabled" in out
    code, out, _ = run(capsys, "admin", "list", "--db", hq_db_url)
    [row] = [line.split("\t") for line in out.splitlines()[1:]]
    assert row[0] == "alice" and row[2] != "-"
    with connected():
        assert sign_in("alice", "twelve chars or more") is None
    code, _, err = run(capsys, "admin", "disable", "nobody", "--db", hq_db_url)
    assert code == 2 and "no admin named nobody" in err


def test_fleet_status_lists_heartbeat_version_lag_and_alerts(
    capsys: pytest.CaptureFixture[str], hq_db_url: str
) -> None:
    run(capsys, "store", "add", "s01", "--name", "Main street", "--db", hq_db_url)
    for kiosk in ("kiosk-001", "kiosk-002", "kiosk-003"):
        enrol_in_process(hq_db_url, kiosk)
    beat = {"at": "2026-12-02T08:00:00Z", "app_version": "0.9.1", "printer": {"ready": True, "paper": "ok", "cover": "open"},
            "camera": "ok", "disk_free_bytes": 10**10, "temperature_c": None, "outbox_depth": 7, "parked": 0,
            "catalog_version": 42, "clock_offset_s": 0.0}  # fmt: skip
    with connected():
        Device.update(
            last_heartbeat=json.dumps(beat), last_heartbeat_at=utc_now(), app_version="0.9.1"
        ).where(Device.kiosk_id != "kiosk-003").execute()
        Device.update(
            last_heartbeat=json.dumps({**beat, "printer": {**beat["printer"], "cover": "closed"}})
        ).where(Device.kiosk_id == "kiosk-002").execute()
    code, out, _ = run(capsys, "fleet", "status", "--db", hq_db_url)
    rows = {line.split("\t")[0]: line.split("\t") for line in out.splitlines()[1:]}
    assert code == 0 and set(rows) == {"kiosk-001", "kiosk-002", "kiosk-003"}
    assert rows["kiosk-001"][1:3] == ["s01", "0.9.1"] and rows["kiosk-001"][3].endswith(" ago")
    assert rows["kiosk-001"][4:] == ["7", "printer cover open"]
    assert rows["kiosk-002"][5] == "ok"
    assert rows["kiosk-003"][3:] == ["never", "-", "no heartbeat received yet"]

    code, out, _ = run(capsys, "fleet", "status", "--json", "--db", hq_db_url)
    report = json.loads(out)
    kiosks = {k["kiosk_id"]: k for k in report["kiosks"]}
    assert code == 0 and report["heartbeat_s"] == 60
    assert [a["code"] for a in kiosks["kiosk-001"]["alerts"]] == ["cover_open"]
    assert kiosks["kiosk-001"]["outbox_depth"] == 7 and kiosks["kiosk-002"]["alerts"] == []


def test_messages_follow_the_admins_locale(
    capsys: pytest.CaptureFixture[str], hq_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    run(capsys, "store", "add", "s01", "--name", "Main street", "--db", hq_db_url)
    code, _, err = run(capsys, "store", "add", "s01", "--name", "Main street", "--db", hq_db_url)
    assert code == 2 and "已存在" in err
    code, _, err = run(capsys, "device", "enroll-code", "--store", "s01", "--db", hq_db_url)
    assert code == 0 and "仅可使用一次" in err


class FakeTty(io.StringIO):
    """stdin as a terminal, for the password prompts."""

    def isatty(self) -> bool:
        return True


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


def test_store_add_and_serve_make_a_missing_database_folder(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The README's first commands on a fresh machine, where /var/lib/kiosk-hq does not exist yet:
    both make the folder (0700) instead of stopping."""
    old = os.umask(0o022)  # the usual umask, under which a plain mkdir would give 0755
    try:
        folder = tmp_path / "kiosk-hq"
        code, _, err = run(
            capsys, "store", "add", "s01", "--name", "Main", "--db", sqlite_url(folder / "hq.sqlite3")
        )
        assert code == 0, err
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
    code, out, err = run(capsys, "store", "add", "s01", "--name", "Main", "--db", db)
    assert (code, out) == (1, "")
    assert f"cannot create the folder {in_the_way} for the HQ database" in err
    assert "sudo install -d -m 700" in err and "--db" in err
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    code, _, err = run(capsys, "device", "list", "--db", db)
    assert code == 1 and f"无法创建 HQ 数据库所在的文件夹 {in_the_way}" in err


def test_config_file_supplies_the_database(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config = tmp_path / "hq-site.toml"
    config.write_text(f'[database]\nurl = "{sqlite_url(tmp_path / "site.db")}"\n', encoding="utf-8")
    assert run(capsys, "store", "add", "s01", "--name", "Main", "--config", str(config))[0] == 0
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


def test_hq_serve_prints_its_url_and_a_code_from_hq_device_enroll_code_enrols_a_kiosk(
    hq_serve: tuple[subprocess.Popen[str], str], tmp_path: Path
) -> None:
    proc, db = hq_serve
    line = _read_line(proc, time.monotonic() + 30)
    assert line.startswith("HQ listening on http://127.0.0.1:"), line
    url = line.split()[3]
    hq_bin = str(Path(sys.executable).with_name("hq"))
    for argv in (
        ["store", "add", "s01", "--name", "Main street"],
        ["device", "enroll-code", "--store", "s01"],
    ):
        done = subprocess.run(
            [hq_bin, *argv, "--db", db], env=_env(tmp_path), capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
    enrolled = requests.post(
        f"{url}/api/v1/enrol", json={"code": done.stdout.strip(), "kiosk_id": "kiosk-042"}, timeout=TIMEOUT
    )
    assert enrolled.status_code == 201, enrolled.text
    signer = HqSigner("kiosk-042", bytes.fromhex(enrolled.json()["secret"]))
    reply = requests.get(f"{url}/api/v1/whoami", auth=signer, timeout=TIMEOUT)
    assert reply.status_code == 200 and reply.json()["store"] == "s01"
    proc.send_signal(signal.SIGTERM)
    # uvicorn shuts down cleanly, then re-raises the signal so the exit status tells systemd why
    assert proc.wait(TIMEOUT) in (0, -signal.SIGTERM)
