"""``kiosk payment charge|refund|reconcile`` against the simulator speaking both real protocols,
configured the way an installer does: a config file with ``[payments.wechat]`` / ``[payments.alipay]``."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kiosk.cli import main
from kiosk.store.db import open_store
from kiosk.store.models import AuditLog, Order, Payment
from paysim.credentials import SimCredentials, make_credentials
from paysim.server import GatewaySimulator

WX_OK = "134567890123451234"
ALI_POOR = "2834567890129002"
WX_PASSWORD = "134567890123459001"


@pytest.fixture(scope="module")
def creds(tmp_path_factory: pytest.TempPathFactory) -> SimCredentials:
    return make_credentials(tmp_path_factory.mktemp("clikeys"))


@pytest.fixture
def sim(creds: SimCredentials) -> Iterator[GatewaySimulator]:
    with GatewaySimulator(
        password_delay_s=0.2, wechat=creds.wechat_sim(), alipay=creds.alipay_sim()
    ) as running:
        yield running


def write_config(tmp_path: Path, creds: SimCredentials, url: str) -> Path:
    config = tmp_path / "kiosk.toml"
    config.write_text(
        creds.kiosk_toml(url)
        + f'\n[kiosk]\ndata_dir = "{tmp_path / "data"}"\n'
        + '\n[gpio]\npin_factory = "mock"\n',
        encoding="utf-8",
    )
    os.chmod(config, 0o600)
    return config


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[dict[str, object]]]:
    code = main(["--log-level", "WARNING", "payment", *argv])
    out = capsys.readouterr().out
    return code, [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_commissioning_charge_refund_and_reconcile(
    sim: GatewaySimulator,
    creds: SimCredentials,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = write_config(tmp_path, creds, sim.url)
    monkeypatch.setenv("KIOSK_PAYMENTS__POLL_INTERVAL_S", "0.1")
    code, [paid] = run(capsys, "charge", "--code", WX_OK, "--amount-fen", "1", "--config", str(config))
    assert code == 0
    assert paid["status"] == "paid" and paid["channel"] == "wechat" and paid["reason"] == ""
    assert str(paid["out_trade_no"]).startswith("K")

    code, [declined] = run(
        capsys, "charge", "--code", ALI_POOR, "--amount-fen", "100", "--config", str(config)
    )
    assert code == 1 and declined["status"] == "failed" and declined["channel"] == "alipay"
    assert "BALANCE_NOT_ENOUGH" in str(declined["reason"])

    code, [waited] = run(
        capsys, "charge", "--code", WX_PASSWORD, "--amount-fen", "100", "--config", str(config)
    )
    assert code == 0 and waited["status"] == "paid"

    code, again = run(capsys, "charge", "--code", WX_OK, "--amount-fen", "1", "--config", str(config))
    assert code == 2 and again == []  # a code is never submitted twice

    code, [refunded] = run(capsys, "refund", "--order", str(paid["order_id"]), "--config", str(config))
    assert code == 0 and refunded["status"] == "refunded"
    code, _ = run(capsys, "refund", "--order", str(paid["order_id"]), "--config", str(config))
    assert code == 2  # nothing left to refund

    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    code, lines = run(capsys, "reconcile", "--date", today, "--config", str(config))
    assert code == 0 and lines == [{**lines[-1], "date": today, "checked": 3, "differences": 0}]

    db = open_store(tmp_path / "data" / "kiosk.sqlite3")
    try:
        assert Order.get_by_id(paid["order_id"]).status == "refunded"
        assert Payment.get(Payment.out_trade_no == paid["out_trade_no"]).status == "refunded"
        actions = [a.action for a in AuditLog.select().order_by(AuditLog.id)]
        assert actions.count("test_charge") == 2 and "refund_started" in actions and "refunded" in actions
    finally:
        db.close()
    assert sim.bank.ledger()[-1].kind == "refund"


def test_reconcile_reports_what_the_gateway_does_not_know(
    creds: SimCredentials, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with GatewaySimulator(wechat=creds.wechat_sim(), alipay=creds.alipay_sim()) as first:
        config = write_config(tmp_path, creds, first.url)
        code, [paid] = run(capsys, "charge", "--code", WX_OK, "--amount-fen", "5", "--config", str(config))
        assert code == 0
    with GatewaySimulator(wechat=creds.wechat_sim(), alipay=creds.alipay_sim()) as forgetful:
        config = write_config(tmp_path, creds, forgetful.url)
        today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
        code, lines = run(capsys, "reconcile", "--date", today, "--config", str(config))
    assert code == 1
    assert lines[0]["difference"] == paid["out_trade_no"]
    assert (lines[0]["local"], lines[0]["gateway"]) == ("paid", "unknown")
    assert lines[-1]["differences"] == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["charge", "--code", "12345", "--amount-fen", "1"], "not a WeChat Pay code"),
        (["charge", "--code", WX_OK, "--amount-fen", "0"], "not an amount"),
        (["reconcile", "--date", "yesterday"], "not a date"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(
    sim: GatewaySimulator,
    creds: SimCredentials,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    config = write_config(tmp_path, creds, sim.url)
    try:
        code = main(["--log-level", "WARNING", "payment", *argv, "--config", str(config)])
    except SystemExit as exc:  # argparse refuses bad option values itself
        code = int(exc.code or 0)
    assert code == 2
    assert message in capsys.readouterr().err
    assert sim.bank.ledger() == []
