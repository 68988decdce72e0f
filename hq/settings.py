"""HQ settings: one frozen, validated object from config/hq.toml, a --config file and HQ_* variables.

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
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

REPO_CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"
DEFAULTS_PATH = REPO_CONFIG_DIR / "hq.toml"
ENV_PREFIX = "HQ_"

#: ``sqlite:///`` followed by an absolute path, or a PostgreSQL URL (``postgres://`` / ``postgresql://``)
DATABASE_URL_PATTERN = r"^(sqlite:///[^\s]+|postgres(ql)?://[^\s]+)$"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerSection(_Section):
    host: str = Field("127.0.0.1", min_length=1, max_length=253, pattern=r"^[A-Za-z0-9.:_\[\]-]+$")
    #: 0 lets the OS pick a free port; ``hq serve`` prints the URL it really listens on
    port: int = Field(8080, ge=0, le=65535)


class DatabaseSection(_Section):
    url: str = Field("sqlite:///var/lib/kiosk-hq/hq.sqlite3", pattern=DATABASE_URL_PATTERN)


class HqSettings(_Section):
    server: ServerSection = ServerSection()
    database: DatabaseSection = DatabaseSection()


class SettingsError(ValueError):
    """A settings source is unreadable or holds a bad key or value. The message says which and how to fix it."""


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise SettingsError(f"{path}: file not found; check the --config path") from exc
    except OSError as exc:
        raise SettingsError(f"{path}: cannot read it ({exc.strerror}); check its permissions") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: not valid TOML ({exc}); fix the syntax") from exc
    except UnicodeDecodeError as exc:
        raise SettingsError(f"{path}: not UTF-8 text; save it as UTF-8") from exc


def _merge(
    into: dict[str, Any], data: Mapping[str, Any], source: str, origins: dict[str, str], prefix: str = ""
) -> None:
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping):
            node = into.setdefault(key, {})
            if not isinstance(node, dict):
                raise SettingsError(f"{source}: {dotted} is a table here but a value elsewhere")
            _merge(node, value, source, origins, dotted + ".")
        else:
            into[key] = value
            origins[dotted] = source


def _env_layers(environ: Mapping[str, str]) -> list[tuple[str, dict[str, Any]]]:
    layers = []
    for name, raw in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        path = [p.lower() for p in name[len(ENV_PREFIX) :].split("__")]
        try:
            value: Any = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw
        node: dict[str, Any] = {}
        leaf = node
        for part in path[:-1]:
            leaf = leaf.setdefault(part, {})
        leaf[path[-1]] = value
        layers.append((f"environment variable {name}", node))
    return layers


def redact_url(value: Any) -> Any:
    """Hide the password of a ``scheme://user:password@host`` URL, so errors and logs can show the rest."""
    if isinstance(value, str):
        return re.sub(r"(://[^:/@\s]*:)[^@\s]*@", r"\1***@", value)
    return value


def _allowed(err: Mapping[str, Any]) -> str:
    ctx = err.get("ctx") or {}
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        return "no such key; see config/hq.toml for the keys that exist"
    if "pattern" in ctx:
        if ctx["pattern"] == DATABASE_URL_PATTERN:
            return "sqlite:/// followed by an absolute path, or postgres://user:password@host/dbname"
        return f"text matching {ctx['pattern']}"
    symbols = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}
    bounds = [f"{symbols[k]} {v}" for k, v in ctx.items() if k in symbols]
    if bounds:
        return "a number " + " and ".join(bounds)
    if ctx.get("error"):
        return str(ctx["error"])
    return str(err.get("msg", "a valid value"))


def load_settings(
    config: Path | None = None,
    environ: Mapping[str, str] | None = None,
    defaults: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> HqSettings:
    """Build the settings from defaults, an optional file, HQ_* variables and command-line overrides.

    ``overrides`` is a nested mapping such as ``{"server": {"port": 9000}}``; it wins over everything.
    """
    env = os.environ if environ is None else environ
    defaults = DEFAULTS_PATH if defaults is None else defaults
    merged: dict[str, Any] = {}
    origins: dict[str, str] = {}
    if defaults.exists():
        _merge(merged, _read_toml(defaults), str(defaults), origins)
    if config is not None:
        _merge(merged, _read_toml(config), str(config), origins)
    for source, layer in _env_layers(env):
        _merge(merged, layer, source, origins)
    if overrides:
        _merge(merged, overrides, "command line", origins)
    try:
        return HqSettings.model_validate(merged)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            dotted = ".".join(str(p) for p in err["loc"])
            source = origins.get(dotted) or next(
                (v for k, v in origins.items() if k.startswith(dotted + ".")), "settings"
            )
            value = err.get("input")
            shown = "(a table)" if isinstance(value, Mapping) else repr(redact_url(value))
            problems.append(f"{source}: key {dotted} = {shown} is not allowed; allowed: {_allowed(err)}")
        raise SettingsError("bad HQ settings:\n  " + "\n  ".join(problems)) from None
