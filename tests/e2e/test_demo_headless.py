"""The whole appliance, as `make demo` runs it without a screen: `kiosk demo --headless --orders 5`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from PIL import Image

from kiosk.demo_output import DEMO_ENTRIES, MARKER

SCREENS = ("attract", "cart", "pay", "done", "help")


def test_headless_demo_serves_five_customers(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    result = subprocess.run(
        [sys.executable, "-m", "kiosk", "demo", "--headless", "--orders", "5", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert {k: summary[k] for k in ("orders", "paid", "printed", "synced")} == {
        "orders": 5,
        "paid": 5,
        "printed": 5,
        "synced": 5,
    }
    assert 0 < summary["p50_s"] <= summary["p95_s"]

    receipts = sorted((out / "receipts").glob("receipt-*.txt"))
    assert len(receipts) == 6  # five scripted customers, then the screenshot tour's own order
    for receipt in receipts:
        text = receipt.read_text(encoding="utf-8")
        assert "示范便利店" in text and "合计" in text
        # the QR is the sale's e-receipt at the demo's HQ, signed for the enrolled demo kiosk
        assert re.search(r"\[QR\] http://127\.0\.0\.1:\d+/r/kiosk-demo/[0-9a-f-]{36}/[0-9a-f]{32}", text), (
            text
        )

    for name in SCREENS:
        shot = out / "screens" / f"{name}.png"
        assert shot.is_file(), f"no screenshot of the {name} screen"
        with Image.open(shot) as img:
            colours = img.convert("RGB").getcolors(maxcolors=1_000_000)
            assert img.width >= 800 and colours is not None and len(colours) > 20, f"{name}.png looks blank"

    # everything the demo wrote is something a later demo may clear, so it never leaves stale files behind
    assert {p.name for p in out.iterdir()} <= {MARKER, *DEMO_ENTRIES}

    # payment codes never reach the log in full
    codes = [w for w in result.stderr.split() if w.isdigit() and len(w) >= 16]
    assert codes == []
