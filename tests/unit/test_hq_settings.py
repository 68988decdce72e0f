"""HQ settings: packaged defaults, --config file, HQ_* variables, and errors that name source, key and value."""

from __future__ import annotations

from pathlib import Path

import pytest

from hq.settings import HqSettings, SettingsError, defaults_path, load_settings, redact_url


def test_packaged_defaults_are_the_documented_ones() -> None:
    settings = load_settings(environ={})
    assert defaults_path().name == "hq.toml" and defaults_path().is_file()
    assert settings.server.host == "127.0.0.1"
    assert settings.server.port == 8080
    assert settings.database.url == "sqlite:///var/lib/kiosk-hq/hq.sqlite3"


def test_config_file_then_environment_then_command_line(tmp_path: Path) -> None:
    config = tmp_path / "site.toml"
    config.write_text('[server]\nport = 9000\nhost = "192.0.2.10"\n', encoding="utf-8")
    from_file = load_settings(config=config, environ={})
    assert (from_file.server.host, from_file.server.port) == ("192.0.2.10", 9000)

    env = {"HQ_SERVER__PORT": "9100", "HQ_DATABASE__URL": "sqlite:///srv/hq/hq.sqlite3", "HQ_LANG": "x"}
    from_env = load_settings(config=config, environ=env)
    assert from_env.server.port == 9100
    assert from_env.database.url == "sqlite:///srv/hq/hq.sqlite3"

    overridden = load_settings(config=config, environ=env, overrides={"server": {"port": 9200}})
    assert overridden.server.port == 9200
    assert overridden.server.host == "192.0.2.10"


def test_settings_are_frozen() -> None:
    settings = load_settings(environ={})
    with pytest.raises(ValueError, match="frozen"):
        settings.server.port = 1  # type: ignore[misc]


def test_bad_value_names_the_variable_key_value_and_what_is_allowed() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(environ={"HQ_SERVER__PORT": "70000"})
    message = str(caught.value)
    assert "environment variable HQ_SERVER__PORT" in message
    assert "server.port = 70000" in message
    assert "<= 65535" in message


def test_bad_value_in_a_file_names_the_file(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[database]\nurl = "mysql://hq@db/hq"\n', encoding="utf-8")
    with pytest.raises(SettingsError) as caught:
        load_settings(config=config, environ={})
    message = str(caught.value)
    assert str(config) in message
    assert "database.url = 'mysql://hq@db/hq'" in message
    assert "sqlite:///" in message and "postgres://" in message


def test_unknown_key_is_refused_with_where_to_look(tmp_path: Path) -> None:
    config = tmp_path / "typo.toml"
    config.write_text("[server]\nprot = 9000\n", encoding="utf-8")
    with pytest.raises(SettingsError) as caught:
        load_settings(config=config, environ={})
    assert "server.prot" in str(caught.value)
    assert "no such key" in str(caught.value)


def test_password_in_a_bad_database_url_is_not_repeated() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(environ={"HQ_DATABASE__URL": "postgres://hq:s3cret-pw@db host/hq"})
    assert "s3cret-pw" not in str(caught.value)
    assert "postgres://hq:***@db host/hq" in str(caught.value)


@pytest.mark.parametrize(
    ("content", "expected"),
    [("[server\nport = 1", "not valid TOML"), (None, "file not found")],
)
def test_unreadable_config_files(tmp_path: Path, content: str | None, expected: str) -> None:
    config = tmp_path / "c.toml"
    if content is not None:
        config.write_text(content, encoding="utf-8")
    with pytest.raises(SettingsError, match=expected):
        load_settings(config=config, environ={})


def test_postgres_url_is_allowed() -> None:
    url = "postgres://hq:pw@127.0.0.1:5432/hq"
    settings = load_settings(environ={"HQ_DATABASE__URL": url})
    assert settings.database.url == url
    assert isinstance(settings, HqSettings)


def test_redact_url_leaves_urls_without_password_alone() -> None:
    assert redact_url("sqlite:///var/lib/x.db") == "sqlite:///var/lib/x.db"
    assert redact_url("postgresql://u:p@h/d") == "postgresql://u:***@h/d"


def test_limits_on_unknown_keys_have_documented_defaults_and_can_be_changed(tmp_path: Path) -> None:
    defaults = load_settings(environ={})
    assert (defaults.auth.max_failures, defaults.auth.window_s) == (20, 60)
    config = tmp_path / "site.toml"
    config.write_text("[auth]\nmax_failures = 5\n", encoding="utf-8")
    changed = load_settings(config=config, environ={"HQ_AUTH__WINDOW_S": "300"})
    assert (changed.auth.max_failures, changed.auth.window_s) == (5, 300)
    with pytest.raises(SettingsError) as caught:
        load_settings(environ={"HQ_AUTH__MAX_FAILURES": "0"})
    assert "HQ_AUTH__MAX_FAILURES" in str(caught.value) and "auth.max_failures = 0" in str(caught.value)
    assert ">= 1" in str(caught.value)
