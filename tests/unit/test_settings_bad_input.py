"""Hostile settings: absurd nesting, runaway values, byte-order marks, huge numbers, misspelt secrets.

Each gets one short message that names the file or variable and says what to do; none a traceback,
none an echo of the whole value, none a secret.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hq.settings import load_settings as load_hq_settings
from kiosk.core.receipt import ReceiptTemplate, TemplateError
from kiosk.settings import SettingsError, load_settings
from kiosk_common.toml_text import MAX_DEPTH, shorten

DEEP = 100_000
#: no message needs more than this; the runaway values below are thousands of times longer
SHORT = 600


def _error(cfg: Path | None = None, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(SettingsError) as err:
        load_settings(cfg, environ=environ or {})
    return str(err.value)


@pytest.mark.parametrize(
    "value",
    [
        "[" * DEEP + "]" * DEEP,  # tomllib recurses once per level: RecursionError before the fix
        "{a = " * DEEP + "1" + "}" * DEEP,
        "[" * (MAX_DEPTH + 2) + "]" * (MAX_DEPTH + 2),  # parses, but no setting is like it
    ],
    ids=["array-100k", "inline-table-100k", "array-past-limit"],
)
def test_absurd_nesting_in_a_file_is_named(tmp_path: Path, value: str) -> None:
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text(f"[kiosk]\nid = {value}\n", encoding="utf-8")
    msg = _error(cfg)
    assert msg.startswith(f"{cfg}: nested deeper than {MAX_DEPTH} levels") and "fix it" in msg
    assert len(msg) < SHORT


def test_absurd_nesting_in_a_variable_is_named() -> None:
    msg = _error(environ={"KIOSK_KIOSK__ID": "[" * DEEP + "]" * DEEP})
    assert "environment variable KIOSK_KIOSK__ID: nested deeper" in msg and "unset the variable" in msg
    assert len(msg) < SHORT


def test_hq_settings_refuse_absurd_nesting_too(tmp_path: Path) -> None:
    cfg = tmp_path / "hq.toml"
    cfg.write_text(f"[server]\nport = {'[' * DEEP}{']' * DEEP}\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="nested deeper"):
        load_hq_settings(cfg, environ={})
    with pytest.raises(SettingsError, match="HQ_SERVER__PORT: nested deeper"):
        load_hq_settings(environ={"HQ_SERVER__PORT": "[" * DEEP + "]" * DEEP})


def test_a_runaway_file_is_refused_unread(tmp_path: Path) -> None:
    cfg = tmp_path / "kiosk.toml"
    with cfg.open("w", encoding="utf-8") as fh:
        fh.write('[kiosk]\nstore_name = "')
        fh.write("x" * 50_000_000)
        fh.write('"\n')
    msg = _error(cfg)
    assert str(cfg) in msg and "far too big for a settings file" in msg and len(msg) < SHORT


def test_a_long_bad_value_is_quoted_in_short(tmp_path: Path) -> None:
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text(f'[kiosk]\nstore_name = "{"x" * 200_000}"\n', encoding="utf-8")
    msg = _error(cfg)
    assert f"{cfg}: key kiosk.store_name = 'xxxx" in msg and "(200000 characters)" in msg
    assert len(msg) < SHORT


def test_a_long_bad_variable_is_quoted_in_short() -> None:
    """The demo and tests hand load_settings a mapping, which has no 128 KiB limit per variable."""
    msg = _error(environ={"KIOSK_CAMERA__SOURCE": "[1, 2]", "KIOSK_KIOSK__ID": "y" * 50_000_000})
    assert "environment variable KIOSK_KIOSK__ID: key kiosk.id = 'yyyy" in msg
    assert "(50000000 characters)" in msg and len(msg) < 2 * SHORT


def test_a_long_credential_path_is_quoted_in_short() -> None:
    """A validator's own explanation quotes the value: it is cut too."""
    msg = _error(environ={"KIOSK_PAYMENTS__WECHAT__CERT_FILE": "/" + "d" * 5_000_000})
    assert "payments.wechat.cert_file" in msg and len(msg) < 2 * SHORT


def test_secrets_stay_hidden_however_long() -> None:
    key = "k" * 100_000
    msg = _error(environ={"KIOSK_PAYMENTS__WECHAT__API_KEY": key, "KIOSK_PAYMENTS__GATEWAY": "wechat"})
    assert "kkkk" not in msg


def test_unknown_keys_do_not_echo_their_value(tmp_path: Path) -> None:
    """A misspelt ``api_kee`` holds a secret all the same."""
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text('[hq]\napi_kee = "s3cret-4f9a"\n', encoding="utf-8")
    cfg.chmod(0o600)
    msg = _error(cfg)
    assert "hq.api_kee is not allowed" in msg and "no such key" in msg and "s3cret" not in msg


def test_a_huge_number_is_a_clear_error(tmp_path: Path) -> None:
    """tomllib hands a 5000-digit integer to int(), which refuses it with a bare ValueError."""
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text(f"[hq]\nbatch_size = {'9' * 5000}\n", encoding="utf-8")
    msg = _error(cfg)
    assert msg.startswith(f"{cfg}: holds a value that cannot be read") and len(msg) < SHORT


def test_a_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    """Windows editors add a BOM the installer cannot see; it carries no meaning in UTF-8."""
    cfg = tmp_path / "kiosk.toml"
    cfg.write_bytes(b'\xef\xbb\xbf[kiosk]\nid = "kiosk-bom"\n')
    assert load_settings(cfg, environ={}).kiosk.id == "kiosk-bom"


def test_a_byte_order_mark_does_not_hide_a_secret_from_the_mode_check(tmp_path: Path) -> None:
    cfg = tmp_path / "kiosk.toml"
    cfg.write_bytes(b'\xef\xbb\xbf[payments.wechat]\napi_key = "abc123"\n')
    cfg.chmod(0o644)
    msg = _error(cfg)
    assert "chmod 600" in msg and "abc123" not in msg


def test_utf16_is_named(tmp_path: Path) -> None:
    cfg = tmp_path / "kiosk.toml"
    cfg.write_bytes('[kiosk]\nid = "k"\n'.encode("utf-16"))
    msg = _error(cfg)
    assert str(cfg) in msg and "UTF-16" in msg and "save it as UTF-8" in msg


def test_a_folder_given_as_the_file(tmp_path: Path) -> None:
    assert "is a folder" in _error(tmp_path)


def test_receipt_template_refuses_the_same(tmp_path: Path) -> None:
    path = tmp_path / "receipt.toml"
    path.write_text(f"header = {'[' * DEEP}{']' * DEEP}\n", encoding="utf-8")
    with pytest.raises(TemplateError, match="nested deeper"):
        ReceiptTemplate.load(path)
    path.write_text(f'header = ["{"z" * 300_000} ${{nope}}"]\n', encoding="utf-8")
    with pytest.raises(TemplateError) as err:
        ReceiptTemplate.load(path)
    assert "unknown field(s) ['nope']" in str(err.value) and len(str(err.value)) < SHORT
    path.write_bytes(b'\xef\xbb\xbfheader = ["${store_name}"]\n')
    assert ReceiptTemplate.load(path).header == ("${store_name}",)


def test_shorten_cuts_text_lists_and_nesting() -> None:
    assert shorten("abc") == "'abc'"
    assert shorten("x" * 1000).endswith("(1000 characters)") and len(shorten("x" * 1000)) < 80
    assert len(shorten(list(range(1000)))) < 40
    assert len(shorten([[[[[[1]]]]]])) < 20


@pytest.mark.parametrize(
    ("url", "wanted"),
    [
        ("https://hq:abc", "with a port from 1 to 65535"),
        ("https://hq.example.cn:99999", "with a port from 1 to 65535"),
        ("http://127.0.0.1:0", "with a port from 1 to 65535"),
        ("https://:8080", "with a host name or address"),
        ("https://@", "with no user name or password"),
        ("https://it:secret@hq.example.cn", "with no user name or password"),
    ],
)
def test_a_url_with_no_host_a_bad_port_or_a_password_is_refused(url: str, wanted: str) -> None:
    """The pattern passed these, and each then failed later: the firewall's host list at every boot
    (a bad port), the firewall silently (no host), or a log line (a password). Found in review."""
    for key in ("KIOSK_HQ__URL", "KIOSK_PAYMENTS__WECHAT__GATEWAY_URL", "KIOSK_OTA__METADATA_URL"):
        msg = _error(environ={key: url})
        assert f"environment variable {key}" in msg and wanted in msg
    # the refused value is shown, but never a password in it, even one with a "/"
    msg = _error(environ={"KIOSK_HQ__URL": "https://it:secret@hq.example.cn/x"})
    assert "secret" not in msg and "'https://(hidden)@hq.example.cn/x'" in msg
    msg = _error(environ={"KIOSK_HQ__URL": "https://it:se/cret@hq:99999/x"})
    assert "cret" not in msg and "'https://(hidden)@hq:99999/x'" in msg


@pytest.mark.parametrize(
    "url", ["https://hq.example.cn", "http://127.0.0.1:8080/api", "https://[::1]:8443", "https://hq:"]
)
def test_urls_with_a_host_and_a_good_port_are_taken(url: str) -> None:
    assert load_settings(None, environ={"KIOSK_HQ__URL": url}).hq.url == url
