"""Enrolling a test kiosk at a real test HQ: its credentials file, as ``kiosk enroll`` writes it.

For tests that are not about enrolment itself (those redeem a code over HTTP: test_enroll.py).
The kiosk is enrolled in this process and database as ``LiveHq.enrol`` does, and the secret HQ
made goes into the kiosk's credentials file through the kiosk's own writer.
"""

from __future__ import annotations

from pathlib import Path

from hq_fixtures import LiveHq

from hq.db import connected
from hq.devices import add_store, enrol_device, store_by_code
from hq.identity import load_or_create_key
from hq.models import Store
from kiosk.sync.credentials import Credentials, now_iso, write_credentials

#: the credentials file's name (``[hq] credentials_file``), beside the store in the data folder
CREDENTIALS_FILE = "hq-credentials.json"


def enrol_kiosk(hq: LiveHq, data_dir: Path, kiosk_id: str, store: str = "s01") -> Path:
    """Enrol ``kiosk_id`` at ``hq`` (again, replacing its credentials) and write its credentials
    file into ``data_dir``, where a kiosk with that data folder and the default store path finds it."""
    key = load_or_create_key(hq.identity_file)
    with connected():
        found = Store.get_or_none(Store.code == store)
        target = found if found is not None else add_store(store, f"Store {store}")
        secret = enrol_device(key, store_by_code(target.code), kiosk_id)
    path = data_dir / CREDENTIALS_FILE
    write_credentials(path, Credentials(kiosk_id, store, secret, hq.url, now_iso()), replace=True)
    return path
