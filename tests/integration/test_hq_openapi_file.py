"""docs/hq-openapi.json, the API's committed contract, is exactly what HQ serves at /openapi.json."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import requests
from hq_fixtures import running_hq

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "hq-openapi.json"
REGENERATE = "make openapi  (or: .venv/bin/hq openapi --out docs/hq-openapi.json)"


def test_the_served_document_is_the_committed_one(hq_db_url: str) -> None:
    with running_hq(hq_db_url) as hq:
        served = requests.get(f"{hq.url}/openapi.json", timeout=10).json()
    committed = json.loads(COMMITTED.read_text(encoding="utf-8"))
    changed = sorted(set(served["paths"]) ^ set(committed["paths"]))
    assert served == committed, (
        f"docs/hq-openapi.json differs from the API HQ serves (paths added or gone: {changed}); "
        f"if the change is meant, regenerate it with `{REGENERATE}` and commit it"
    )


def test_hq_openapi_prints_the_committed_document_byte_for_byte(tmp_path: Path) -> None:
    hq = str(Path(sys.executable).with_name("hq"))
    printed = subprocess.run([hq, "openapi"], capture_output=True, text=True, timeout=120, check=True)
    assert printed.stdout == COMMITTED.read_text(encoding="utf-8"), f"regenerate with `{REGENERATE}`"
    out = tmp_path / "openapi.json"
    written = subprocess.run(
        [hq, "openapi", "--out", str(out)], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.read_text(encoding="utf-8") == printed.stdout
    assert str(out) in written.stderr
    assert out.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["openapi.json"]
