"""``hq serve --workers N``: the real command as a subprocess, several worker processes on one port,
on SQLite and on PostgreSQL; stopped with SIGTERM."""

from __future__ import annotations

import signal
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from hq_fixtures import identity_file_for
from hq_process import HQ, STOP_TIMEOUT_S, enrol_in_database, hq_serve, signed_get_path
from prometheus_client.parser import text_string_to_metric_families


def _responses_2xx(url: str) -> float:
    text = requests.get(f"{url}/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "hq_http_responses_total" and sample.labels == {"status_class": "2xx"}:
                return sample.value
    return 0.0


def test_two_workers_serve_concurrent_requests_and_stop_cleanly_on_sigterm(
    hq_db_url: str, tmp_path: Path
) -> None:
    identity = Path(identity_file_for(hq_db_url) or tmp_path / "hq-identity.key")
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    env = {"HQ_AUTH__IDENTITY_FILE": str(identity), "TMPDIR": str(private_tmp), "LANG": "C.UTF-8"}
    with hq_serve(["--workers", "2", "--db", hq_db_url], env) as hq:
        # a private folder for the workers' settings and counters, 0700, while HQ runs
        (folder,) = private_tmp.iterdir()
        assert folder.stat().st_mode & 0o777 == 0o700
        assert (folder / "settings.json").stat().st_mode & 0o777 == 0o600

        signer = enrol_in_database(hq_db_url, identity, "kiosk-001")
        signed = signed_get_path(hq.url)
        session = requests.Session()
        session.auth = signer

        def one(i: int) -> int:
            if i % 2:
                return requests.get(f"{hq.url}/readyz", timeout=30).status_code
            return session.get(f"{hq.url}{signed}", timeout=30).status_code

        before = _responses_2xx(hq.url)
        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(one, range(40)))
        assert statuses == [200] * 40
        # counters of both workers add up, whichever worker answers the scrape
        assert _responses_2xx(hq.url) - before == 40 + 1  # the 40 and the first scrape

        hq.process.send_signal(signal.SIGTERM)
        assert hq.process.wait(STOP_TIMEOUT_S) == 0
    log = "".join(hq.stderr_lines)
    assert "Traceback" not in log, log
    assert log.count("Finished server process") == 2, log
    assert list(private_tmp.iterdir()) == []  # settings and counters removed


def test_one_worker_is_the_plain_single_process_server(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/data/hq.sqlite3"
    with hq_serve(["--db", db], {"TMPDIR": str(tmp_path), "LANG": "C.UTF-8"}) as hq:
        assert requests.get(f"{hq.url}/healthz", timeout=10).json() == {"ok": True}
        hq.process.send_signal(signal.SIGTERM)
        assert hq.process.wait(STOP_TIMEOUT_S) == 0
    assert "Started parent process" not in "".join(hq.stderr_lines)
    assert [p.name for p in tmp_path.iterdir()] == ["data"]


def test_a_worker_count_out_of_range_is_refused() -> None:
    result = subprocess.run(
        [HQ, "serve", "--workers", "0"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2
    assert "server.workers" in result.stderr and "0" in result.stderr
