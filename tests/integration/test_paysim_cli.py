"""``kiosk paysim``: options, the foreground server in a real process, and stopping it by signal."""

from __future__ import annotations

import argparse
import io
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from paysim import cli as paysim

REPO = Path(__file__).resolve().parents[2]
# The lead wires add_parser into kiosk/cli.py; this stands in for that wiring.
LAUNCHER = (
    "import argparse, sys\n"
    "from paysim import cli as paysim\n"
    "parser = argparse.ArgumentParser(prog='kiosk')\n"
    "paysim.add_parser(parser.add_subparsers(dest='command', required=True))\n"
    "args = parser.parse_args(sys.argv[1:])\n"
    "sys.exit(args.func(args))\n"
)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kiosk")
    paysim.add_parser(p.add_subparsers(dest="command", required=True))
    return p


def test_defaults() -> None:
    args = parser().parse_args(["paysim"])
    assert (args.host, args.port, args.password_delay, args.latency_ms, args.allow_remote) == (
        "127.0.0.1",
        8090,
        2.0,
        0,
        False,
    )
    assert args.func is paysim.run


@pytest.mark.parametrize(
    "argv",
    [
        ["--port", "70000"],
        ["--port", "http"],
        ["--password-delay", "-1"],
        ["--password-delay", "nan"],
        ["--password-delay", "soon"],
        ["--latency-ms", "1.5"],
        ["--latency-ms", "60001"],
    ],
)
def test_bad_options_stop_with_a_message(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        parser().parse_args(["paysim", *argv])
    assert caught.value.code == 2
    assert argv[0] in capsys.readouterr().err


def test_non_loopback_host_is_refused_before_binding() -> None:
    args = parser().parse_args(["paysim", "--host", "0.0.0.0"])  # noqa: S104 (refused)
    err = io.StringIO()
    assert paysim.serve(args, threading.Event(), io.StringIO(), err) == 2
    assert "loopback" in err.getvalue()


def test_port_taken_is_exit_1_with_advice() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        args = parser().parse_args(["paysim", "--port", str(taken.getsockname()[1])])
        err = io.StringIO()
        assert paysim.serve(args, threading.Event(), io.StringIO(), err) == 1
    assert "--port" in err.getvalue()


def test_serve_in_process_until_stopped() -> None:
    args = parser().parse_args(["paysim", "--port", "0", "--password-delay", "0"])
    stop, out = threading.Event(), io.StringIO()
    codes: list[int] = []
    worker = threading.Thread(target=lambda: codes.append(paysim.serve(args, stop, out, io.StringIO())))
    worker.start()
    try:
        url = ""
        for _ in range(100):
            if "KIOSK_PAYMENTS__SIMULATOR__URL=" in out.getvalue():
                url = out.getvalue().split("KIOSK_PAYMENTS__SIMULATOR__URL=")[1].split()[0]
                break
            stop.wait(0.05)
        assert url.startswith("http://127.0.0.1:")
        assert requests.get(f"{url}/healthz", timeout=5).json() == {"ok": True}
    finally:
        stop.set()
        worker.join(timeout=10)
    assert codes == [0]
    assert "stopped" in out.getvalue()


@pytest.fixture
def process() -> Iterator[tuple[subprocess.Popen[str], queue.Queue[str | None]]]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            LAUNCHER,
            "paysim",
            "--port",
            "0",
            "--password-delay",
            "0.1",
            "--latency-ms",
            "5",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)  # end of output

    threading.Thread(target=pump, daemon=True).start()
    yield proc, lines
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)


def wait_for_url(lines: queue.Queue[str | None]) -> str:
    for _ in range(50):
        line = lines.get(timeout=10)
        if line is None:
            break
        if "listening on" in line:
            return line.split("listening on ")[1].split()[0]
    raise AssertionError("the simulator never said where it listens")


def rest_of_output(lines: queue.Queue[str | None]) -> str:
    """Everything up to the end of the process's output (bounded: the process has exited)."""
    text = []
    for _ in range(1000):
        line = lines.get(timeout=10)
        if line is None:
            break
        text.append(line)
    return "".join(text)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_foreground_process_serves_and_stops_cleanly_on_signal(
    process: tuple[subprocess.Popen[str], queue.Queue[str | None]], signum: signal.Signals
) -> None:
    proc, lines = process
    url = wait_for_url(lines)
    assert url.startswith("http://127.0.0.1:")
    body = {
        "out_trade_no": "K1",
        "channel": "wechat",
        "auth_code": "134567890123451234",
        "amount_fen": 100,
        "subject": "cli",
    }
    assert requests.post(f"{url}/v1/pay", json=body, timeout=5).json()["status"] == "paid"
    proc.send_signal(signum)
    assert proc.wait(timeout=10) == 0
    output = rest_of_output(lines)
    assert "stopped" in output
    assert "134567890123451234" not in output
    assert "1345**********1234" in output  # the pay was logged, masked


def test_make_credentials_prints_settings_that_a_kiosk_accepts_and_serve_speaks_both_channels(
    tmp_path: Path,
) -> None:
    from kiosk.payments.service import build_gateway
    from kiosk.ports import ChargeRequest, ChargeStatus
    from kiosk.settings import load_settings

    out = io.StringIO()
    made = parser().parse_args(["paysim", "--make-credentials", str(tmp_path / "keys"), "--port", "0"])
    assert paysim.serve(made, threading.Event(), out, io.StringIO()) == 0
    assert (tmp_path / "keys" / "app_private_key.pem").stat().st_mode & 0o077 == 0

    args = parser().parse_args(["paysim", "--port", "0", "--credentials", str(tmp_path / "keys")])
    stop, served = threading.Event(), io.StringIO()
    worker = threading.Thread(target=lambda: paysim.serve(args, stop, served, io.StringIO()))
    worker.start()
    try:
        url = ""
        for _ in range(100):
            if "KIOSK_PAYMENTS__SIMULATOR__URL=" in served.getvalue():
                url = served.getvalue().split("KIOSK_PAYMENTS__SIMULATOR__URL=")[1].split()[0]
                break
            stop.wait(0.05)
        config = tmp_path / "kiosk.toml"
        config.write_text(out.getvalue().replace("http://127.0.0.1:8090", url))
        config.chmod(0o600)  # as the printed comment tells the installer
        settings = load_settings(config, environ={})
        assert settings.payments.gateway == "wechat+alipay"
        gateway = build_gateway(settings.payments, {}.get)
        for otn, channel, code in (
            ("KW1", "wechat", "134567890123451234"),
            ("KA1", "alipay", "2834567890121234"),
        ):
            result = gateway.pay(ChargeRequest(otn, channel, code, 100, "x"))
            assert result.status is ChargeStatus.PAID
    finally:
        stop.set()
        worker.join(timeout=10)


def test_credentials_folder_that_is_not_one_is_a_clear_error(tmp_path: Path) -> None:
    err = io.StringIO()
    args = parser().parse_args(["paysim", "--port", "0", "--credentials", str(tmp_path)])
    assert paysim.serve(args, threading.Event(), io.StringIO(), err) == 2
    assert "--make-credentials" in err.getvalue()
