"""``paysim``: run the payment gateway simulator in the foreground until Ctrl-C or SIGTERM.

For commissioning a kiosk before the merchant's real payment accounts exist, and for trying outcomes
by hand: the last four digits of the payment code choose what the customer does (see
docs/payments.md). It speaks the real WeChat Pay v2 and Alipay protocols with throw-away keys:
``paysim --make-credentials DIR`` writes them and prints the kiosk's ``[payments]`` settings, and
``paysim --credentials DIR`` serves with them. The kiosk then charges it exactly as it charges the
real channels. It is a separate program: the kiosk itself never contains the simulator.
"""

from __future__ import annotations

import argparse
import logging
import math
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from paysim.bank import MAX_PASSWORD_DELAY_S
from paysim.credentials import load_credentials, make_credentials
from paysim.server import MAX_LATENCY_S, GatewaySimulator

DEFAULT_PORT = 8090
MAX_LATENCY_MS = int(MAX_LATENCY_S * 1000)


def _port(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port; use 1-65535, or 0 for any free port")
    return int(text)


def _password_delay(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 <= value <= MAX_PASSWORD_DELAY_S:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a delay; use seconds from 0 to {MAX_PASSWORD_DELAY_S:g}, e.g. 2 or 0.5"
        )
    return value


def _latency_ms(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= MAX_LATENCY_MS:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a latency; use whole milliseconds from 0 to {MAX_LATENCY_MS}"
        )
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="paysim",
        description=(
            "Run the payment gateway simulator (WeChat Pay v2 and Alipay protocols) on loopback HTTP until "
            "Ctrl-C or SIGTERM. Payment codes ending 9001 wait for a password, 9002 lack funds, 9003 are "
            "expired, 9004 never get the password, 9005 get a system error, 9006 lose the answer, 9007 "
            "answer slowly; other valid codes are paid. 在本机运行支付网关模拟器，按 Ctrl-C 停止。"
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=_port, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 picks a free one)"
    )
    parser.add_argument(
        "--password-delay",
        type=_password_delay,
        default=2.0,
        metavar="S",
        help="seconds a 9001 code waits for the customer's password before it is paid (default 2)",
    )
    parser.add_argument(
        "--latency-ms",
        type=_latency_ms,
        default=0,
        metavar="N",
        help="delay every gateway answer by N milliseconds, to play a slow network (default 0)",
    )
    parser.add_argument(
        "--credentials",
        type=Path,
        metavar="DIR",
        help="serve with the simulator keys in DIR (made by --make-credentials)",
    )
    parser.add_argument(
        "--make-credentials",
        type=Path,
        metavar="DIR",
        help="write simulator keys to DIR, print the kiosk's [payments] settings for them, and exit",
    )
    parser.add_argument(
        "--slow-ms",
        type=_latency_ms,
        default=1000,
        metavar="N",
        help="how late a 'slow response' code (ending 9007) is answered (default 1000)",
    )
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a non-loopback --host (only on a closed test network: the simulator pays anyone)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


def run(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C or SIGTERM; 0 after a clean stop, 1 when the port cannot be bound, 2 on bad options."""
    return serve(args, stop=threading.Event(), out=sys.stdout, err=sys.stderr, install_signals=True)


def serve(
    args: argparse.Namespace,
    stop: threading.Event,
    out: TextIO,
    err: TextIO,
    install_signals: bool = False,
) -> int:
    """The body of :func:`run` with the stop event and streams passed in, for embedding and tests."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if getattr(args, "make_credentials", None) is not None:
        try:
            made = make_credentials(args.make_credentials)
        except OSError as exc:
            print(
                f"paysim: cannot write simulator keys to {args.make_credentials} ({exc.strerror or exc}); "
                "give --make-credentials a folder that can be created or written, e.g. ./paysim-keys",
                file=err,
            )
            print(f"paysim: 无法把模拟器密钥写入 {args.make_credentials}，请换一个可写的目录", file=err)
            return 2
        print(
            f"# simulator keys written to {made.folder}; add these settings to the kiosk's config file"
            " (it then holds an API key: chmod 600 it)",
            file=out,
        )
        print(
            f"# 模拟器密钥已写入 {made.folder}；把下面的设置加入收银机的配置文件（含密钥，请 chmod 600）",
            file=out,
        )
        host = f"[{args.host}]" if ":" in args.host else args.host  # an IPv6 literal needs brackets in a URL
        url = f"http://{host}:{args.port or DEFAULT_PORT}"
        print(made.kiosk_toml(url), file=out, end="", flush=True)
        return 0
    if getattr(args, "credentials", None) is None:
        print(
            "paysim: give --credentials DIR (make the keys once with: paysim --make-credentials DIR)",
            file=err,
        )
        print(
            "paysim: 请用 --credentials DIR 指定密钥目录（先用 paysim --make-credentials DIR 生成）", file=err
        )
        return 2
    try:
        creds = load_credentials(args.credentials)
        sim = GatewaySimulator(
            host=args.host,
            port=args.port,
            latency_s=args.latency_ms / 1000,
            password_delay_s=args.password_delay,
            allow_remote=args.allow_remote,
            wechat=creds.wechat_sim(),
            alipay=creds.alipay_sim(),
            slow_s=getattr(args, "slow_ms", 1000) / 1000,
        )
    except ValueError as exc:
        print(f"paysim: {exc}", file=err)
        print(f"paysim: 参数错误：{exc}", file=err)
        return 2
    try:
        sim.start()
    except OSError as exc:
        print(
            f"paysim: cannot listen on {args.host}:{args.port} ({exc.strerror or exc}); "
            "is another simulator running? choose another --port",
            file=err,
        )
        print(f"paysim: 无法监听 {args.host}:{args.port}，端口可能已被占用，请用 --port 换一个端口", file=err)
        return 1
    previous = _install_stop_signals(stop) if install_signals else {}
    try:
        print(f"payment simulator listening on {sim.url} (Ctrl-C stops it)", file=out)
        print(f"支付模拟器已在 {sim.url} 运行（按 Ctrl-C 停止）", file=out)
        print(
            "point the kiosk at it / 让收银机使用它: the [payments] settings from --make-credentials, "
            f"with gateway_url = {sim.url}",
            file=out,
            flush=True,
        )
        # Wake now and then so a signal that arrives between checks is never missed for long.
        while not stop.wait(0.5):
            pass
    finally:
        for signum, handler in previous.items():
            # None means the handler was not set from Python; the default is the closest thing to it.
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        sim.stop()
    print("payment simulator stopped / 支付模拟器已停止", file=out, flush=True)
    return 0


_Handler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None


def _install_stop_signals(stop: threading.Event) -> dict[signal.Signals, _Handler]:
    """Ctrl-C and SIGTERM set ``stop``; returns the handlers to put back. Only the main thread may do this."""
    if threading.current_thread() is not threading.main_thread():
        return {}

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous: dict[signal.Signals, _Handler] = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        previous[signum] = signal.signal(signum, _on_signal)
    return previous


if __name__ == "__main__":
    raise SystemExit(main())
