"""``paysim``: options, serving in this process and as a real foreground process stopped by a signal,
and the credentials it makes for a kiosk. Every wait is for a line the program prints ("listening on"),
bounded; nothing sleeps."""

from __future__ import annotations

import contextlib
import io
import os
import queue
import signal
import socket
import stat
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from kiosk.payments.alipay import AlipayBarcodeGateway, AlipayCredentials
from kiosk.payments.wechat import WechatCredentials, WechatMicropayGateway
from kiosk.ports import ChargeRequest, ChargeStatus
from paysim import cli as paysim
from paysim.credentials import ALIPAY_APP_ID, WECHAT_APPID, WECHAT_MCH_ID, SimCredentials, make_credentials

REPO = Path(__file__).resolve().parents[2]
WECHAT_CODE = "134567890123451234"
ALIPAY_CODE = "2834567890121234"
#: how long to wait for one line of output; generous for a busy machine, and only ever a bound
LINE_TIMEOUT_S = 30.0


@pytest.fixture(scope="module")
def creds(tmp_path_factory: pytest.TempPathFactory) -> SimCredentials:
    return make_credentials(tmp_path_factory.mktemp("clikeys") / "keys")


class Lines(io.StringIO):
    """An output stream that also hands each finished line to a queue, so a test can wait for one."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: queue.Queue[str | None] = queue.Queue()
        self._partial = ""

    def write(self, text: str) -> int:
        written = super().write(text)
        *done, self._partial = (self._partial + text).split("\n")
        for line in done:
            self.lines.put(line)
        return written


def url_from(lines: queue.Queue[str | None]) -> str:
    """The URL of the first "listening on" line; AssertionError if the output ends without one."""
    for _ in range(100):
        line = lines.get(timeout=LINE_TIMEOUT_S)
        if line is None:
            break
        if "listening on" in line:
            return line.split("listening on ")[1].split()[0]
    raise AssertionError("the simulator never said where it listens")


@dataclass
class Served:
    url: str
    out: Lines
    err: io.StringIO
    codes: list[int] = field(default_factory=list)


@contextlib.contextmanager
def serving(argv: list[str]) -> Iterator[Served]:
    """``paysim ARGV`` served in a thread of this process until the block ends."""
    args = paysim.build_parser().parse_args(argv)
    stop, out, err = threading.Event(), Lines(), io.StringIO()
    codes: list[int] = []

    def work() -> None:
        try:
            codes.append(paysim.serve(args, stop, out, err))
        finally:
            out.lines.put(None)  # end of output

    worker = threading.Thread(target=work, name="paysim-cli-test")
    worker.start()
    try:
        served = Served(url_from(out.lines), out, err, codes)
        yield served
    finally:
        stop.set()
        worker.join(timeout=30)
    assert not worker.is_alive()


def charge_both_channels(url: str, creds: SimCredentials, prefix: str) -> None:
    wechat = WechatMicropayGateway(
        url, WechatCredentials(WECHAT_APPID, WECHAT_MCH_ID, creds.wechat_api_key, creds.sign_type), 5.0
    )
    alipay = AlipayBarcodeGateway(
        url,
        AlipayCredentials.from_files(ALIPAY_APP_ID, creds.app_private_key_file, creds.alipay_public_key_file),
        5.0,
    )
    try:
        for gateway, code in ((wechat, WECHAT_CODE), (alipay, ALIPAY_CODE)):
            result = gateway.pay(ChargeRequest(f"{prefix}{gateway.name}", gateway.name, code, 100, "cli"))
            assert result.status is ChargeStatus.PAID, result.reason
    finally:
        wechat.close()
        alipay.close()


# --- options --------------------------------------------------------------------------------------


def test_defaults() -> None:
    parser = paysim.build_parser()
    assert parser.prog == "paysim"
    args = parser.parse_args([])
    assert (args.host, args.port, args.password_delay, args.latency_ms, args.slow_ms, args.allow_remote) == (
        "127.0.0.1",
        8090,
        2.0,
        0,
        1000,
        False,
    )
    assert (args.credentials, args.make_credentials) == (None, None)


@pytest.mark.parametrize(
    "argv",
    [
        ["--port", "70000"],
        ["--port", "http"],
        ["--port", "-1"],
        ["--password-delay", "-1"],
        ["--password-delay", "nan"],
        ["--password-delay", "soon"],
        ["--password-delay", "601"],
        ["--latency-ms", "1.5"],
        ["--latency-ms", "60001"],
        ["--slow-ms", "fast"],
        ["--slow-ms", "60001"],
        ["--simulator-url", "http://127.0.0.1:8090"],  # not an option (the old JSON protocol's setting)
    ],
)
def test_bad_options_exit_2_naming_the_option(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        paysim.main(argv)
    assert caught.value.code == 2
    assert argv[0] in capsys.readouterr().err


def test_missing_credentials_is_exit_2_with_advice(capsys: pytest.CaptureFixture[str]) -> None:
    assert paysim.main(["--port", "0"]) == 2
    captured = capsys.readouterr()
    assert "--credentials DIR" in captured.err and "paysim --make-credentials DIR" in captured.err
    assert "listening" not in captured.out


def test_non_loopback_host_is_refused_before_binding(creds: SimCredentials) -> None:
    args = paysim.build_parser().parse_args(
        ["--host", "0.0.0.0", "--port", "0", "--credentials", str(creds.folder)]  # noqa: S104 (refused)
    )
    out, err = io.StringIO(), io.StringIO()
    assert paysim.serve(args, threading.Event(), out, err) == 2
    assert "loopback" in err.getvalue() and "--allow-remote" in err.getvalue()
    assert "listening" not in out.getvalue()


def test_port_taken_is_exit_1_with_advice(creds: SimCredentials) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        args = paysim.build_parser().parse_args(["--port", str(port), "--credentials", str(creds.folder)])
        out, err = io.StringIO(), io.StringIO()
        assert paysim.serve(args, threading.Event(), out, err) == 1
    assert f"127.0.0.1:{port}" in err.getvalue() and "--port" in err.getvalue()
    assert "listening" not in out.getvalue()


# --- serving --------------------------------------------------------------------------------------


def test_serve_in_process_until_stopped(creds: SimCredentials) -> None:
    with serving(["--port", "0", "--password-delay", "0", "--credentials", str(creds.folder)]) as served:
        assert served.url.startswith("http://127.0.0.1:")
        assert requests.get(f"{served.url}/healthz", timeout=5).json() == {"ok": True}
        charge_both_channels(served.url, creds, "KIN")
        ledger = requests.get(f"{served.url}/v1/ledger", timeout=5).json()
        assert sorted(e["out_trade_no"] for e in ledger["entries"]) == ["KINalipay", "KINwechat"]
    assert served.codes == [0]
    assert "stopped" in served.out.getvalue()
    assert served.err.getvalue() == ""
    port = int(served.url.rsplit(":", 1)[1])
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


@pytest.fixture
def process(
    creds: SimCredentials, tmp_path: Path
) -> Iterator[tuple[subprocess.Popen[str], queue.Queue[str | None]]]:
    """``python -m paysim`` in the foreground, as an installer runs it, its output read line by line."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "paysim",
            "--port",
            "0",
            "--credentials",
            str(creds.folder),
            "--password-delay",
            "0.1",
            "--latency-ms",
            "5",
        ],
        cwd=tmp_path,
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
    proc.wait(timeout=30)


def rest_of_output(lines: queue.Queue[str | None]) -> str:
    """Everything up to the end of the process's output (bounded: the process has exited)."""
    text = []
    for _ in range(1000):
        line = lines.get(timeout=LINE_TIMEOUT_S)
        if line is None:
            break
        text.append(line)
    return "".join(text)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_foreground_process_serves_and_stops_cleanly_on_signal(
    process: tuple[subprocess.Popen[str], queue.Queue[str | None]],
    creds: SimCredentials,
    signum: signal.Signals,
) -> None:
    proc, lines = process
    url = url_from(lines)
    assert url.startswith("http://127.0.0.1:")
    charge_both_channels(url, creds, "KFG")
    proc.send_signal(signum)
    assert proc.wait(timeout=30) == 0
    output = rest_of_output(lines)
    assert "stopped" in output
    assert "Traceback" not in output
    assert WECHAT_CODE not in output and ALIPAY_CODE not in output
    assert "1345**********1234" in output and "2834********1234" in output  # both pays logged, masked


# --- credentials ----------------------------------------------------------------------------------


def test_make_credentials_prints_settings_that_a_kiosk_accepts(tmp_path: Path) -> None:
    from kiosk.payments.service import build_gateway
    from kiosk.settings import load_settings
    from kiosk_common.settings import SettingsError

    folder = tmp_path / "keys"
    out, err = io.StringIO(), io.StringIO()
    made = paysim.build_parser().parse_args(["--make-credentials", str(folder), "--port", "0"])
    assert paysim.serve(made, threading.Event(), out, err) == 0
    assert err.getvalue() == ""
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for private in ("app_private_key.pem", "alipay_private_key.pem", "simulator.json"):
        assert stat.S_IMODE((folder / private).stat().st_mode) == 0o600, private
    printed = out.getvalue()
    assert "chmod 600" in printed
    assert 'gateway_url = "http://127.0.0.1:8090"' in printed  # --port 0 prints the default port

    with serving(["--port", "0", "--credentials", str(folder)]) as served:
        config = tmp_path / "kiosk.toml"
        config.write_text(printed.replace("http://127.0.0.1:8090", served.url), "utf-8")
        config.chmod(0o644)
        with pytest.raises(SettingsError, match="chmod 600"):  # the printed advice is needed
            load_settings(config, environ={})
        config.chmod(0o600)
        settings = load_settings(config, environ={})
        assert settings.payments.gateway == "wechat+alipay"
        assert settings.payments.wechat.gateway_url == settings.payments.alipay.gateway_url == served.url
        channels: dict[str, str] = {}
        gateway = build_gateway(settings.payments, channels.get)
        for otn, channel, code in (("KW1", "wechat", WECHAT_CODE), ("KA1", "alipay", ALIPAY_CODE)):
            channels[otn] = channel
            assert gateway.pay(ChargeRequest(otn, channel, code, 100, "x")).status is ChargeStatus.PAID
            assert gateway.query(otn).status is ChargeStatus.PAID
        ledger = requests.get(f"{served.url}/v1/ledger", timeout=5).json()
        assert sorted((e["out_trade_no"], e["channel"]) for e in ledger["entries"]) == [
            ("KA1", "alipay"),
            ("KW1", "wechat"),
        ]
    assert served.codes == [0]


def test_make_credentials_for_an_ipv6_host_prints_a_url_with_brackets(tmp_path: Path) -> None:
    out = io.StringIO()
    args = paysim.build_parser().parse_args(
        ["--make-credentials", str(tmp_path / "keys"), "--host", "::1", "--port", "8091"]
    )
    assert paysim.serve(args, threading.Event(), out, io.StringIO()) == 0
    assert 'gateway_url = "http://[::1]:8091"' in out.getvalue()


def test_make_credentials_where_no_folder_can_be_made_is_a_clear_error(tmp_path: Path) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    for target in (a_file, a_file / "keys"):
        out, err = io.StringIO(), io.StringIO()
        args = paysim.build_parser().parse_args(["--make-credentials", str(target)])
        assert paysim.serve(args, threading.Event(), out, err) == 2
        assert str(target) in err.getvalue() and "--make-credentials" in err.getvalue()
        assert out.getvalue() == ""
    assert a_file.read_text() == "not a folder"


def _empty(folder: Path) -> None:
    folder.mkdir()


def _manifest(text: str) -> Callable[[Path], None]:
    def write(folder: Path) -> None:
        folder.mkdir()
        (folder / "simulator.json").write_text(text)

    return write


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(_empty, id="empty folder"),
        pytest.param(lambda folder: None, id="no such folder"),
        pytest.param(lambda folder: folder.write_text("x"), id="a file"),
        pytest.param(_manifest("not json"), id="manifest not JSON"),
        pytest.param(_manifest("[1, 2]"), id="manifest a list"),
        pytest.param(_manifest('{"sign_type": "MD5"}'), id="manifest without the API key"),
    ],
)
def test_a_folder_that_is_not_a_credentials_folder_is_a_clear_error(
    tmp_path: Path, make: Callable[[Path], object]
) -> None:
    folder = tmp_path / "not-keys"
    make(folder)
    out, err = io.StringIO(), io.StringIO()
    args = paysim.build_parser().parse_args(["--port", "0", "--credentials", str(folder)])
    assert paysim.serve(args, threading.Event(), out, err) == 2
    message = err.getvalue()
    assert "not a simulator credentials folder" in message
    assert "paysim --make-credentials DIR" in message and "kiosk paysim" not in message
    assert "listening" not in out.getvalue()
