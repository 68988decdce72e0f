"""bench/print.py says plainly when a figure is over its target, and exits 1 then (``make bench``
stops on it). The figures themselves are the bench's business; these rows are made up."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "print.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_print", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_print"] = module
    spec.loader.exec_module(module)
    return module


def row(baud: int, bytes_ratio: float, time_ratio: float) -> dict[str, object]:
    return {
        "baud": baud,
        "lang": "zh_CN",
        "paper_mm": 58,
        "items": 1,
        "content_bytes": 481,
        "bytes_sent": round(481 * bytes_ratio),
        "bytes_ratio": bytes_ratio,
        "time_s": 0.6,
        "wire_s": 0.6,
        "time_ratio": time_ratio,
    }


def test_within_target_exits_0(bench: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.report([row(9600, 1.14, 1.02), row(115200, 1.14, 1.1)]) == 0
    out = capsys.readouterr().out
    assert out.count("within target") == 3 and "over target" not in out
    assert '"within_target": true' in out


@pytest.mark.parametrize(
    ("rows", "over"),
    [
        ([row(9600, 1.14, 1.02), row(115200, 1.14, 1.128)], "time/wire at 115200 baud: worst 1.128"),
        ([row(9600, 1.21, 1.02), row(115200, 1.14, 1.05)], "bytes/content: worst 1.210"),
    ],
)
def test_over_target_says_so_and_exits_1(
    bench: ModuleType, capsys: pytest.CaptureFixture[str], rows: list[dict[str, object]], over: str
) -> None:
    assert bench.report(rows) == 1
    out = capsys.readouterr().out
    [line] = [x for x in out.splitlines() if x.startswith(over)]
    assert line.endswith(": over target")
    assert "print bench: over target (1 of 3 figures); exit status 1" in out
    assert '"within_target": false' in out
