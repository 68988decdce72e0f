"""``[server] log_format = "json"`` on the real ``hq serve``: every line is a JSON object, and what a
kiosk signs with never reaches the log."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import requests
from hq_fixtures import identity_file_for
from hq_process import STOP_TIMEOUT_S, enrol_in_database, hq_serve, signed_get_path

from hq.identity import kiosk_secret, load_or_create_key
from kiosk.sync.signed import HqSigner


def test_json_log_lines_carry_request_fields_and_no_signature_or_secret(
    hq_db_url: str, tmp_path: Path
) -> None:
    identity = Path(identity_file_for(hq_db_url) or tmp_path / "hq-identity.key")
    config = tmp_path / "hq.toml"
    config.write_text('[server]\nlog_format = "json"\n', encoding="utf-8")
    env = {"HQ_AUTH__IDENTITY_FILE": str(identity), "LANG": "C.UTF-8"}
    sent_headers: list[str] = []
    with hq_serve(["--config", str(config), "--db", hq_db_url], env) as hq:
        signer = enrol_in_database(hq_db_url, identity, "kiosk-001")
        secret = kiosk_secret(load_or_create_key(identity), "kiosk-001", 1)
        path = signed_get_path(hq.url)
        session = requests.Session()
        session.auth = signer
        session.hooks["response"].append(
            lambda r, *a, **k: sent_headers.append(r.request.headers["Authorization"])
        )
        assert session.get(f"{hq.url}{path}", timeout=10).status_code == 200
        impostor = requests.Session()
        impostor.auth = HqSigner("kiosk-001", b"\x01" * 32)
        impostor.hooks["response"].append(
            lambda r, *a, **k: sent_headers.append(r.request.headers["Authorization"])
        )
        assert impostor.get(f"{hq.url}{path}", timeout=10).status_code == 401
        # the same signed request again: a replay, refused and logged
        replay = requests.get(f"{hq.url}{path}", headers={"Authorization": sent_headers[0]}, timeout=10)
        assert replay.status_code == 401 and replay.json()["detail"]["reason"] == "replay"
        hq.process.send_signal(signal.SIGTERM)
        assert hq.process.wait(STOP_TIMEOUT_S) == 0

    lines = [line for line in hq.stderr_lines if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    for entry in entries:
        assert {"time", "level", "logger", "message"} <= entry.keys()
        assert entry["time"].endswith("+00:00")
    access = [e for e in entries if e["logger"] == "uvicorn.access"]
    assert {(e["method"], e["path"], e["status"]) for e in access} >= {("GET", path, 200), ("GET", path, 401)}
    refusals = [e["message"] for e in entries if e["logger"] == "hq.auth"]
    assert any("replay" in m for m in refusals) and any("signature" in m for m in refusals), refusals

    log = "".join(lines)
    assert len(sent_headers) == 2
    for header in sent_headers:
        assert header not in log
        assert header.split("sig=")[1] not in log
        assert header.split("nonce=")[1][:32] not in log
    assert secret.hex() not in log
