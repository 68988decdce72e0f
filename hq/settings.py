"""HQ settings: one frozen, validated object from the defaults, a --config file and HQ_* variables.

The defaults (``hq/defaults/hq.toml``) ship inside the package, so an installed HQ starts without a
checkout of the repository; ``config/`` holds documented examples.

The same layering as the kiosk (``kiosk.settings``): later sources override earlier ones key by key,
and every value remembers where it came from, so an error names the file (or variable), the key, the
value and what is allowed. HQ refuses to start on a bad value rather than guess, because a server that
quietly listens on the wrong address or writes to the wrong database loses a fleet's sales.

Environment variables use a double underscore between levels: ``HQ_SERVER__PORT=9000``,
``HQ_DATABASE__URL=sqlite:////srv/hq/hq.sqlite3``. Values are parsed as TOML when they can be
(numbers, booleans), else taken as strings.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kiosk_common.settings import SettingsError, load_layered, packaged_file

__all__ = [
    "AuthSection",
    "HqSettings",
    "ReceiptsSection",
    "SettingsError",
    "WebhooksSection",
    "defaults_path",
    "load_settings",
    "redact_url",
]

ENV_PREFIX = "HQ_"


def defaults_path() -> Path:
    """``hq.toml`` with every key and its default, the first layer of the settings."""
    return packaged_file("hq", "defaults", "hq.toml")


#: ``sqlite:///`` followed by an absolute path, or a PostgreSQL URL (``postgres://`` / ``postgresql://``)
DATABASE_URL_PATTERN = r"^(sqlite:///[^\s]+|postgres(ql)?://[^\s]+)$"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerSection(_Section):
    host: str = Field("127.0.0.1", min_length=1, max_length=253, pattern=r"^[A-Za-z0-9.:_\[\]-]+$")
    #: 0 lets the OS pick a free port; ``hq serve`` prints the URL it really listens on
    port: int = Field(8080, ge=0, le=65535)
    #: worker processes (``hq serve --workers``); more than 1 needs nothing else, PostgreSQL suits it best
    workers: int = Field(1, ge=1, le=64)
    #: "text" lines for a person, or "json": one object a line for a log collector (hq.logs)
    log_format: Literal["text", "json"] = "text"


class DatabaseSection(_Section):
    url: str = Field("sqlite:///var/lib/kiosk-hq/hq.sqlite3", pattern=DATABASE_URL_PATTERN)


class AuthSection(_Section):
    """Kiosk identity (``hq.identity``) and how HQ holds back a client address that keeps failing to
    authenticate: bad signatures, enrolment codes, admin passwords or tokens (``hq.keylimit``).

    The names avoid the word "key", which the settings loader takes for a secret and hides in errors.
    """

    #: failures one address may have in a window; after that it is answered 429 until the window ends
    max_failures: int = Field(20, ge=1, le=100_000)
    #: seconds from an address's first failure to the end of its window
    window_s: int = Field(60, ge=1, le=86_400)
    #: HQ's identity file, from which every kiosk's signing secret is derived (hq.identity); empty:
    #: ``hq-identity.key`` beside the SQLite database. Required with PostgreSQL: every HQ host of the
    #: fleet must read the same file.
    identity_file: str = Field("", max_length=4096)
    #: how far a kiosk's signed time may be from HQ's clock, in seconds (docs/sync-protocol.md §2)
    clock_window_s: int = Field(300, ge=30, le=3600)


class WebhooksSection(_Section):
    """Where HQ publishes each stored sale and refund (docs/sync-protocol.md §6); empty url: nowhere."""

    url: str = Field("", max_length=2048, pattern=r"^(https?://[^\s]+)?$")
    #: the signing secret's file (made 0600 if missing); empty: hq-webhook.key beside a SQLite database
    secret_file: str = Field("", max_length=4096)
    #: seconds a receiver has to answer 2xx
    timeout_s: float = Field(10.0, gt=0, le=120)
    #: seconds after which a delivery that keeps failing is given up and kept as failed
    max_age_s: int = Field(3 * 86400, ge=60, le=30 * 86400)


class ReceiptsSection(_Section):
    """The e-receipt page (hq.receipts, docs/sync-protocol.md §7)."""

    #: the zone receipt times are shown in (an IANA name); HQ stores UTC
    timezone: str = Field("Asia/Shanghai", min_length=1, max_length=64)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"{value!r} is not a time zone this machine knows; write an IANA name such as "
                "Asia/Shanghai or Asia/Hong_Kong"
            ) from None
        return value


class HqSettings(_Section):
    server: ServerSection = ServerSection()
    database: DatabaseSection = DatabaseSection()
    auth: AuthSection = AuthSection()
    webhooks: WebhooksSection = WebhooksSection()
    receipts: ReceiptsSection = ReceiptsSection()


def redact_url(value: Any) -> Any:
    """Hide the password of a ``scheme://user:password@host`` URL, so errors and logs can show the rest."""
    if isinstance(value, str):
        return re.sub(r"(://[^:/@\s]*:)[^@\s]*@", r"\1***@", value)
    return value


def _explain(err: Mapping[str, Any]) -> str | None:
    if (err.get("ctx") or {}).get("pattern") == DATABASE_URL_PATTERN:
        return "sqlite:/// followed by an absolute path, or postgres://user:password@host/dbname"
    return None


def load_settings(
    config: Path | None = None,
    environ: Mapping[str, str] | None = None,
    defaults: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> HqSettings:
    """Build the settings from defaults, an optional file, HQ_* variables and command-line overrides.

    ``overrides`` is a nested mapping such as ``{"server": {"port": 9000}}``; it wins over everything.
    """
    return load_layered(
        HqSettings,
        defaults=defaults_path() if defaults is None else defaults,
        config=config,
        environ=os.environ if environ is None else environ,
        env_prefix=ENV_PREFIX,
        overrides=overrides,
        title="HQ settings",
        explain=_explain,
        redact=redact_url,
    )
