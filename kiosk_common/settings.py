"""Layered TOML settings, shared by the kiosk and HQ: defaults file, --config file, environment, overrides.

Later layers override earlier ones key by key. Every value remembers where it came from, so a
validation error names the file (or variable), the key, the value and what is allowed. Values of
keys that hold secrets (``*key*``, ``*password*``, ``*secret*``, ``*token*``) are never shown in an
error, nor are values of unknown keys (a misspelt ``api_kee`` is still a secret); other values are
quoted in short (``kiosk_common.toml_text.shorten``), so a runaway 50 MB value does not flood the
terminal or the journal.

Environment variables use a double underscore between levels: ``PREFIX_SECTION__KEY``; values are
parsed as TOML when they can be (numbers, booleans), else taken as strings.
"""

from __future__ import annotations

import importlib.resources
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from kiosk_common.toml_text import (
    MAX_BYTES,
    NotToml,
    TomlTextError,
    parse_document,
    parse_value,
    shorten,
    shorten_text,
)

M = TypeVar("M", bound=BaseModel)

_SECRET_KEY = re.compile(r"key|password|secret|token", re.IGNORECASE)
_SYMBOLS = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}
#: bad keys listed in one error; a file that gets more wrong than this is the wrong file
MAX_PROBLEMS = 20
#: what is allowed, in at most this many characters (a validator's text may quote a value)
MAX_EXPLANATION = 300


class SettingsError(ValueError):
    """A settings source is unreadable or holds a bad key or value. The message says which and how to fix it."""


def packaged_file(package: str, *parts: str) -> Path:
    """A data file or folder shipped inside ``package`` (``[tool.setuptools.package-data]``).

    Wheels install as plain files, so the resource is a real path that can be named in messages and
    that relative settings (the receipt template) can point into. An install where it is not (a
    zip) is refused with a message instead of extracting copies that would outlive their use.
    """
    resource = importlib.resources.files(package)
    for part in parts:
        resource = resource / part
    if not isinstance(resource, Path):
        raise SettingsError(
            f"{package}: installed as an archive, so its default settings are not files; "
            "install it with pip as a normal (unzipped) package"
        )
    return resource


def read_toml(path: Path) -> dict[str, Any]:
    """A settings file as a table; every way it can be unusable is a :class:`SettingsError` naming it."""
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_BYTES + 1)  # a runaway file is refused without reading all of it
    except FileNotFoundError as exc:
        raise SettingsError(f"{path}: file not found; check the --config path") from exc
    except IsADirectoryError as exc:
        raise SettingsError(f"{path}: is a folder, not a file; give the path of the .toml file") from exc
    except OSError as exc:
        raise SettingsError(f"{path}: cannot read it ({exc.strerror}); check its permissions") from exc
    try:
        return parse_document(raw)
    except TomlTextError as exc:
        raise SettingsError(f"{path}: {exc}") from None


def merge(
    into: dict[str, Any], data: Mapping[str, Any], source: str, origins: dict[str, str], prefix: str = ""
) -> None:
    """Merge ``data`` into ``into``, recording in ``origins`` which source gave each dotted key."""
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping):
            node = into.setdefault(key, {})
            if not isinstance(node, dict):
                raise SettingsError(f"{source}: {dotted} is a table here but a value elsewhere")
            merge(node, value, source, origins, dotted + ".")
        else:
            into[key] = value
            origins[dotted] = source


def env_layers(environ: Mapping[str, str], prefix: str) -> list[tuple[str, dict[str, Any]]]:
    """One layer per ``PREFIX_A__B`` variable; values typed as TOML (``9600`` is a number)."""
    layers = []
    for name, raw in sorted(environ.items()):
        if not name.startswith(prefix) or "__" not in name:
            continue
        path = [p.lower() for p in name[len(prefix) :].split("__")]
        try:
            value: Any = parse_value(raw)
        except NotToml:
            value = raw
        except TomlTextError as exc:
            raise SettingsError(f"environment variable {name}: {exc} or unset the variable") from None
        node: dict[str, Any] = {}
        leaf = node
        for part in path[:-1]:
            leaf = leaf.setdefault(part, {})
        leaf[path[-1]] = value
        layers.append((f"environment variable {name}", node))
    return layers


def allowed(err: Mapping[str, Any], defaults_name: str) -> str:
    """What a pydantic error says is allowed, in words an installer can act on."""
    ctx = err.get("ctx") or {}
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        return f"no such key; see {defaults_name} for the keys that exist"
    if kind == "literal_error" and "expected" in ctx:
        return f"one of {ctx['expected']}"
    if "pattern" in ctx:
        return f"text matching {ctx['pattern']}"
    bounds = [f"{_SYMBOLS[k]} {v}" for k, v in ctx.items() if k in _SYMBOLS]
    if bounds:
        return "a number " + " and ".join(bounds)
    if ctx.get("error"):
        return str(ctx["error"])
    return str(err.get("msg", "a valid value"))


def _lookup(tree: Mapping[str, Any], loc: list[str], default: Any) -> Any:
    node: Any = tree
    for part in loc:
        if not isinstance(node, Mapping) or part not in node:
            return default
        node = node[part]
    return node


def _as_text(
    merged: dict[str, Any],
    exc: ValidationError,
    origins: Mapping[str, str],
    environ: Mapping[str, str],
    prefix: str,
) -> dict[str, Any] | None:
    """A copy of ``merged`` where every failing key that came from a variable holds the variable's text."""
    import copy

    retyped = copy.deepcopy(merged)
    changed = False
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        source = origins.get(".".join(loc), "")
        if not source.startswith("environment variable "):
            continue
        raw = environ.get(source.removeprefix("environment variable "))
        node = retyped
        for part in loc[:-1]:
            node = node.get(part, {}) if isinstance(node, dict) else {}
        if raw is not None and isinstance(node, dict) and not isinstance(node.get(loc[-1]), str):
            node[loc[-1]] = raw
            changed = True
    return retyped if changed else None


def load_layered(
    model: type[M],
    *,
    defaults: Path,
    config: Path | None,
    environ: Mapping[str, str],
    env_prefix: str,
    overrides: Mapping[str, Any] | None = None,
    title: str = "settings",
    explain: Callable[[Mapping[str, Any]], str | None] | None = None,
    redact: Callable[[Any], Any] = lambda value: value,
) -> M:
    """Validate the merged layers as ``model``; raise SettingsError listing every bad key at once."""
    merged: dict[str, Any] = {}
    origins: dict[str, str] = {}
    if not defaults.is_file():
        raise SettingsError(
            f"{defaults}: the defaults file is missing, so the installation is incomplete; reinstall the software"
        )
    merge(merged, read_toml(defaults), str(defaults), origins)
    if config is not None:
        merge(merged, read_toml(config), str(config), origins)
    for source, layer in env_layers(environ, env_prefix):
        merge(merged, layer, source, origins)
    if overrides:
        merge(merged, overrides, "command line", origins)
    try:
        return model.model_validate(merged)
    except ValidationError as first:
        # A variable typed as TOML may be meant as text (KIOSK_KIOSK__ID=001): give those keys their
        # raw text and try once more before reporting.
        exc = first
        retyped = _as_text(merged, first, origins, environ, env_prefix)
        if retyped is not None:
            try:
                return model.model_validate(retyped)
            except ValidationError as second:
                exc = second
        problems = []
        for err in exc.errors():
            dotted = ".".join(str(p) for p in err["loc"])
            source = origins.get(dotted) or next(
                (v for k, v in origins.items() if k.startswith(dotted + ".")), "settings"
            )
            value = err.get("input")
            if exc is not first:  # show what the variable says, as typed, not the retyped guess
                value = _lookup(merged, [str(p) for p in err["loc"]], value)
            why = (explain(err) if explain else None) or allowed(err, str(defaults))
            why = shorten_text(why, MAX_EXPLANATION)
            if (
                err.get("type") == "extra_forbidden"
            ):  # the value does not matter, and may be a misspelt secret
                problems.append(f"{source}: key {dotted} is not allowed; allowed: {why}")
                continue
            if isinstance(value, Mapping):
                shown = "(a table)"
            elif _SECRET_KEY.search(dotted.rsplit(".", 1)[-1]):
                shown = "(hidden)"
            else:
                shown = shorten(redact(value))
            problems.append(f"{source}: key {dotted} = {shown} is not allowed; allowed: {why}")
        if len(problems) > MAX_PROBLEMS:
            problems[MAX_PROBLEMS:] = [f"... and {len(problems) - MAX_PROBLEMS} more"]
        raise SettingsError(f"bad {title}:\n  " + "\n  ".join(problems)) from None
