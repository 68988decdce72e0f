from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.settings import SettingsError, check_secret_file, group_is_private, load_settings


def test_defaults_load_and_are_frozen() -> None:
    s = load_settings(environ={})
    assert s.printer.paper_width_mm == 58 and s.camera.backend == "zxing"
    with pytest.raises(Exception):  # noqa: B017 - pydantic raises its own ValidationError on frozen models
        s.printer.baudrate = 1  # type: ignore[misc]


def test_file_then_environment_override(tmp_path: Path) -> None:
    cfg = tmp_path / "site.toml"
    cfg.write_text('[printer]\nbaudrate = 115200\ntransport = "file"\n[kiosk]\nlanguage = "en"\n')
    s = load_settings(
        cfg,
        environ={
            "KIOSK_PRINTER__BAUDRATE": "19200",
            "KIOSK_PAYMENTS__WECHAT__GATEWAY_URL": "http://127.0.0.1:9",
        },
    )
    assert s.printer.baudrate == 19200  # environment wins over the file
    assert s.printer.transport == "file" and s.kiosk.language == "en"
    assert s.payments.wechat.gateway_url == "http://127.0.0.1:9"


def test_bad_value_names_file_key_value_and_allowed(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[printer]\npaper_width_mm = 57\n")
    with pytest.raises(SettingsError) as err:
        load_settings(cfg, environ={})
    msg = str(err.value)
    assert str(cfg) in msg and "printer.paper_width_mm" in msg and "57" in msg and "58" in msg and "80" in msg


def test_unknown_key_is_refused(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[camera]\nfsp = 30\n")
    with pytest.raises(SettingsError, match=r"camera\.fsp .*no such key"):
        load_settings(cfg, environ={})


def test_env_error_names_the_variable() -> None:
    with pytest.raises(SettingsError, match="environment variable KIOSK_HQ__TIMEOUT_S"):
        load_settings(environ={"KIOSK_HQ__TIMEOUT_S": "-1"})


def test_syntax_error_and_missing_file(tmp_path: Path) -> None:
    cfg = tmp_path / "broken.toml"
    cfg.write_text("[printer\n")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(cfg, environ={})
    with pytest.raises(SettingsError, match="file not found"):
        load_settings(tmp_path / "nope.toml", environ={})


def test_relative_store_path_is_inside_data_dir(tmp_path: Path) -> None:
    s = load_settings(environ={"KIOSK_KIOSK__DATA_DIR": str(tmp_path)})
    assert s.store_path == tmp_path / "kiosk.sqlite3"


def test_variables_that_look_like_numbers_can_be_text() -> None:
    s = load_settings(environ={"KIOSK_KIOSK__ID": "001", "KIOSK_PAYMENTS__WECHAT__APPID": "123456"})
    assert (s.kiosk.id, s.payments.wechat.appid) == ("001", "123456")


def test_secret_values_are_never_echoed(tmp_path: Path) -> None:
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text("[payments.wechat]\napi_key = 12345678\n")  # a number where text belongs
    with pytest.raises(SettingsError) as err:
        load_settings(cfg, environ={})
    assert "payments.wechat.api_key = (hidden)" in str(err.value) and "12345678" not in str(err.value)


def test_the_old_hq_api_key_is_refused_by_name(tmp_path: Path) -> None:
    """Kiosks sign with the secret of their enrolment now; a left-over [hq] api_key is named, not
    silently ignored, and its value not echoed."""
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text('[hq]\napi_key = "s3cret-key-value"\n')
    cfg.chmod(0o600)
    with pytest.raises(SettingsError) as err:
        load_settings(cfg, environ={})
    assert "hq.api_key" in str(err.value) and "s3cret-key-value" not in str(err.value)


def test_hq_credentials_sit_beside_the_store_unless_absolute(tmp_path: Path) -> None:
    s = load_settings(environ={"KIOSK_KIOSK__DATA_DIR": str(tmp_path), "KIOSK_STORE__PATH": "db/k.sqlite3"})
    assert s.hq_credentials_path == tmp_path / "db" / "hq-credentials.json"
    assert s.hq.heartbeat_s == 60 and s.hq.receipt_base_url == s.hq.url.rstrip("/")
    s = load_settings(
        environ={
            "KIOSK_HQ__CREDENTIALS_FILE": str(tmp_path / "c.json"),
            "KIOSK_HQ__PUBLIC_URL": "https://receipts.example.com/",
        }
    )
    assert s.hq_credentials_path == tmp_path / "c.json"
    assert s.hq.receipt_base_url == "https://receipts.example.com"


def test_a_config_file_with_a_key_must_be_private(tmp_path: Path) -> None:
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text('[payments.wechat]\napi_key = "s3cret-key-value"\n')
    cfg.chmod(0o644)
    with pytest.raises(SettingsError) as err:
        load_settings(cfg, environ={})
    assert "chmod 600" in str(err.value) and "payments.wechat.api_key" in str(err.value)
    assert "s3cret-key-value" not in str(err.value)
    cfg.chmod(0o600)
    assert load_settings(cfg, environ={}).payments.wechat.api_key == "s3cret-key-value"
    public = tmp_path / "public.toml"
    public.write_text("[printer]\nbaudrate = 19200\n")  # no secret: any mode is fine
    public.chmod(0o644)
    assert load_settings(public, environ={}).printer.baudrate == 19200


def test_a_config_file_with_a_key_may_be_read_by_a_group_of_one_account(tmp_path: Path) -> None:
    """The image's settings are root:kiosk 0640, so that only root changes them (the firewall lets the
    kiosk reach the hosts they name) and the kiosk reads them: that is not "other users"."""
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text('[payments.wechat]\napi_key = "s3cret-key-value"\n')
    cfg.chmod(0o640)
    check_secret_file(cfg, private_group=lambda gid: True)
    with pytest.raises(SettingsError) as err:
        check_secret_file(cfg, private_group=lambda gid: False)
    assert "640" in str(err.value) and "s3cret-key-value" not in str(err.value)
    cfg.chmod(0o644)  # others may read it, whatever its group
    with pytest.raises(SettingsError):
        check_secret_file(cfg, private_group=lambda gid: True)


def test_a_group_is_one_accounts_own_only_with_no_added_member_and_one_primary_account() -> None:
    from types import SimpleNamespace

    def db(members: list[str], primaries: int) -> tuple[SimpleNamespace, SimpleNamespace]:
        group = SimpleNamespace(gr_gid=900, gr_mem=members)
        accounts = [SimpleNamespace(pw_gid=900) for _ in range(primaries)] + [SimpleNamespace(pw_gid=0)]

        def getgrgid(gid: int) -> SimpleNamespace:
            if gid != 900:
                raise KeyError(gid)
            return group

        return SimpleNamespace(getgrgid=getgrgid), SimpleNamespace(getpwall=lambda: accounts)

    assert group_is_private(900, *db([], 1))  # kiosk:kiosk, nobody added
    assert group_is_private(900, *db([], 0))
    assert not group_is_private(900, *db(["it"], 1))  # IT added to the kiosk's group
    assert not group_is_private(900, *db([], 2))  # two accounts share it as their own
    assert not group_is_private(901, *db([], 1))  # a group with no entry
