"""``kiosk sync --once``: push the outbox and pull the catalog once, now, and say what happened.

For installers and scripts: one JSON line
``{"pushed", "pulled", "parked", "lag_s", "pending", "catalog_version", "error"}`` where ``pushed``
and ``pulled`` count this pass, ``parked`` counts every event HQ ever rejected (they wait in the
store for staff), ``lag_s`` is the age of the oldest event still waiting (0 when none) and
``error`` is null or why the pass stopped. Exit 0 when HQ took the pass, 1 when HQ could not be
reached or refused it for now, 2 when the kiosk is not enrolled, when HQ no longer accepts its
enrolment (revoked, unknown to HQ, or a secret HQ does not match: only ``kiosk enroll CODE --hq URL
--replace`` helps, so a script must not just retry), or when its settings or store are unusable.
It is safe beside a running kiosk: events carry idempotency keys, so one sent twice is stored once.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from kiosk.bootstrap import build_hq_client, build_store
from kiosk.i18n import t
from kiosk.settings import load_settings
from kiosk.store.db import StoreError
from kiosk.sync.credentials import CredentialsError
from kiosk.sync.pusher import CatalogPuller, OutboxPusher

EXIT_OK, EXIT_UNREACHABLE, EXIT_SETUP = 0, 1, 2
#: HQ's 401 reasons that no retry cures: the kiosk must be enrolled again
ENROL_AGAIN = frozenset(("revoked", "unknown_kiosk", "signature"))


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "sync", help="push the outbox to HQ and pull the catalog once (与总部同步)"
    )
    parser.add_argument(
        "--once",
        action="store_true",
        required=True,
        help="one pass, one JSON line (the kiosk syncs by itself)",
    )
    parser.add_argument("--config", type=Path, help="a TOML file overriding the default settings")
    return parser


def _line(**fields: Any) -> str:
    keys = ("pushed", "pulled", "parked", "lag_s", "pending", "catalog_version", "error")
    return json.dumps({k: fields.get(k) for k in keys}, ensure_ascii=False)


def run(args: argparse.Namespace, out: TextIO | None = None, now: datetime | None = None) -> int:
    out = out or sys.stdout
    settings = load_settings(args.config)
    lang = settings.kiosk.language
    try:
        client = build_hq_client(settings)
    except CredentialsError as exc:
        print(_line(pushed=0, pulled=0, error=t("sync.not_enrolled", lang, problem=str(exc))), file=out)
        return EXIT_SETUP
    try:
        store = build_store(settings)
    except StoreError as exc:
        client.close()
        print(_line(pushed=0, pulled=0, error=str(exc)), file=out)
        return EXIT_SETUP
    try:
        push = OutboxPusher(store, client, batch_size=settings.hq.batch_size).push_once(ignore_backoff=True)
        error = push.error
        refusal = push.refusal
        pulled = 0
        if not push.unreachable and refusal not in ENROL_AGAIN:
            pull = CatalogPuller(store, client).pull_once()
            pulled = pull.pulled
            error = error or pull.error
            refusal = refusal or pull.refusal
        if refusal in ENROL_AGAIN:
            where = {"kiosk_id": settings.kiosk.id, "url": settings.hq.url}
            error = (
                t("sync.revoked", lang, **where)
                if refusal == "revoked"
                else t("sync.enrolment_gone", lang, reason=refusal, **where)
            )
        oldest = store.oldest_pending_at()
        moment = (now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
        lag = 0.0 if oldest is None else max(0.0, (moment - oldest).total_seconds())
        print(
            _line(
                pushed=push.pushed,
                pulled=pulled,
                parked=store.parked_count(),
                lag_s=round(lag, 1),
                pending=store.pending_count(),
                catalog_version=store.catalog_version(),
                error=error or None,
            ),
            file=out,
        )
    finally:
        client.close()
        store.db.close()
    if refusal in ENROL_AGAIN:
        return EXIT_SETUP
    return EXIT_UNREACHABLE if error else EXIT_OK
