"""Signatures and wire details of the two channels, checked against outside references.

WeChat Pay: the example published in the v2 security spec (安全规范 › 签名算法,
pay.weixin.qq.com/wiki/doc/api/micropay.php?chapter=4_3): parameters appid=wxd930ea5d5a258f4f,
mch_id=10000100, device_info=1000, body=test, nonce_str=ibuaiVcKdpRxkhJA with API key
192006250b4c09247ec02edce69f6a2d give MD5 sign 9A0A8659F005D6984697E2CA0A9CF3B7 and HMAC-SHA256 sign
6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6.

Alipay: its docs publish the algorithm (SHA256withRSA over the sorted ``k=v&...`` string) but no
key pair with a fixed signature we could find, so the vector comes from an independent
implementation: the openssl command line signs and verifies against our code, both ways.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from kiosk.payments import alipay, wechat
from paysim.credentials import make_credentials

SPEC_PARAMS = {
    "appid": "wxd930ea5d5a258f4f",
    "mch_id": "10000100",
    "device_info": "1000",
    "body": "test",
    "nonce_str": "ibuaiVcKdpRxkhJA",
}
SPEC_KEY = "192006250b4c09247ec02edce69f6a2d"


def test_wechat_string_to_sign_matches_the_spec_example() -> None:
    assert wechat.string_to_sign(SPEC_PARAMS) == (
        "appid=wxd930ea5d5a258f4f&body=test&device_info=1000&mch_id=10000100&nonce_str=ibuaiVcKdpRxkhJA"
    )


@pytest.mark.parametrize(
    ("sign_type", "expected"),
    [
        ("MD5", "9A0A8659F005D6984697E2CA0A9CF3B7"),
        ("HMAC-SHA256", "6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6"),
    ],
)
def test_wechat_sign_matches_the_published_vectors(sign_type: str, expected: str) -> None:
    assert wechat.sign(SPEC_PARAMS, SPEC_KEY, sign_type) == expected
    assert wechat.verify({**SPEC_PARAMS, "sign": expected}, SPEC_KEY, sign_type)
    assert wechat.verify({**SPEC_PARAMS, "sign": expected.lower()}, SPEC_KEY, sign_type)


def test_wechat_signature_skips_empty_values_and_sign_and_catches_any_change() -> None:
    signed = {**SPEC_PARAMS, "attach": "", "sign": "X"}
    assert wechat.sign(signed, SPEC_KEY, "MD5") == "9A0A8659F005D6984697E2CA0A9CF3B7"
    good = {**SPEC_PARAMS, "sign": wechat.sign(SPEC_PARAMS, SPEC_KEY, "HMAC-SHA256")}
    assert not wechat.verify({**good, "body": "test2"}, SPEC_KEY, "HMAC-SHA256")
    assert not wechat.verify(good, SPEC_KEY[:-1] + "e", "HMAC-SHA256")
    assert not wechat.verify(SPEC_PARAMS, SPEC_KEY, "HMAC-SHA256")  # no sign at all
    with pytest.raises(ValueError, match="sign_type"):
        wechat.sign(SPEC_PARAMS, SPEC_KEY, "SHA1")


def test_wechat_xml_round_trips_text_that_needs_escaping() -> None:
    params = {"body": "便当 <lunch> & tea", "total_fee": "1990"}
    assert wechat.from_xml(wechat.to_xml(params)) == params
    assert wechat.from_xml(b"<xml><a><![CDATA[x<y]]></a><b></b></xml>") == {"a": "x<y", "b": ""}


@pytest.mark.parametrize(
    "body",
    [
        b'<!DOCTYPE x [<!ENTITY e "boom">]><xml><a>&e;</a></xml>',
        b"<xml><a><b>nested</b></a></xml>",
        b"<html>not it</html>",
        b"<xml><a>unclosed</xml>",
    ],
)
def test_wechat_xml_refuses_anything_but_a_flat_xml_map(body: bytes) -> None:
    with pytest.raises(ValueError):
        wechat.from_xml(body)


@pytest.mark.parametrize(
    ("fen", "text"),
    [(1, "0.01"), (10, "0.10"), (199, "1.99"), (100, "1.00"), (1234567, "12345.67"), (0, "0.00")],
)
def test_alipay_amounts_are_exact_yuan_strings(fen: int, text: str) -> None:
    assert alipay.fen_to_yuan(fen) == text
    assert alipay.yuan_to_fen(text) == fen


@pytest.mark.parametrize("bad", [-1, 1.5, True])
def test_alipay_amount_refuses_what_is_not_whole_fen(bad: object) -> None:
    with pytest.raises(ValueError):
        alipay.fen_to_yuan(bad)  # type: ignore[arg-type]


def test_alipay_string_to_sign_is_sorted_unencoded_and_skips_sign_and_empty_values() -> None:
    params = {
        "method": "alipay.trade.pay",
        "app_id": "2014072300007148",
        "sign_type": "RSA2",
        "biz_content": '{"total_amount":"0.01","subject":"a&b"}',
        "sign": "ignored",
        "notify_url": "",
    }
    assert alipay.string_to_sign(params) == (
        'app_id=2014072300007148&biz_content={"total_amount":"0.01","subject":"a&b"}'
        "&method=alipay.trade.pay&sign_type=RSA2"
    )


needs_openssl = pytest.mark.skipif(
    shutil.which("openssl") is None, reason="the openssl command is not installed"
)


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_credentials(tmp_path_factory.mktemp("keys")).folder


@needs_openssl
def test_alipay_signature_verifies_with_openssl(keys: Path, tmp_path: Path) -> None:
    text = 'app_id=2021000000000001&biz_content={"subject":"便当"}&method=alipay.trade.pay&sign_type=RSA2'
    signature = alipay.sign_rsa2(text, alipay.load_private_key(keys / "app_private_key.pem"))
    (tmp_path / "msg").write_bytes(text.encode("utf-8"))
    (tmp_path / "sig").write_bytes(base64.b64decode(signature))
    done = subprocess.run(
        [
            "openssl",
            "dgst",
            "-sha256",
            "-verify",
            str(keys / "app_public_key.pem"),
            "-signature",
            str(tmp_path / "sig"),
            str(tmp_path / "msg"),
        ],
        capture_output=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert b"Verified OK" in done.stdout


@needs_openssl
def test_openssl_signature_verifies_with_ours_and_a_changed_text_does_not(keys: Path, tmp_path: Path) -> None:
    text = "code=10000&msg=Success&total_amount=19.90&trade_no=2026112422001"
    (tmp_path / "msg").write_bytes(text.encode("utf-8"))
    done = subprocess.run(
        ["openssl", "dgst", "-sha256", "-sign", str(keys / "alipay_private_key.pem"), str(tmp_path / "msg")],
        capture_output=True,
        check=True,
    )
    signature = base64.b64encode(done.stdout).decode()
    public = alipay.load_public_key(keys / "alipay_public_key.pem")
    assert alipay.verify_rsa2(text, signature, public)
    assert not alipay.verify_rsa2(text.replace("19.90", "0.01"), signature, public)
    assert not alipay.verify_rsa2(text, "not base64!", public)


def test_alipay_keys_load_from_pem_and_from_bare_base64_as_the_key_tool_exports(
    keys: Path, tmp_path: Path
) -> None:
    pem = (keys / "app_private_key.pem").read_text()
    body = "".join(line for line in pem.splitlines() if not line.startswith("-----"))
    bare = tmp_path / "bare.txt"
    bare.write_text(body)
    text = "a=1"
    sig = alipay.sign_rsa2(text, alipay.load_private_key(bare))
    assert alipay.verify_rsa2(text, sig, alipay.load_public_key(keys / "app_public_key.pem"))
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n")
    with pytest.raises(ValueError, match=r"garbage\.pem"):
        alipay.load_private_key(garbage)
    with pytest.raises(ValueError, match="not a usable PEM key"):
        alipay.load_public_key(keys / "app_private_key.pem")


def test_alipay_reply_signature_covers_the_exact_text_of_the_response_object() -> None:
    inner = '{"code":"10000","msg":"Success","total_amount":"1.00","subject":"\\u4fbf\\u5f53"}'
    body = '{"alipay_trade_pay_response":  ' + inner + ',"sign":"S1"}'
    text, data, sig = alipay.signed_part(body, "alipay_trade_pay_response")
    assert text == inner  # escapes and spacing kept as sent: re-serialising would break the signature
    assert data == json.loads(inner) and sig == "S1"
    with pytest.raises(ValueError, match="no alipay_trade_query_response"):
        alipay.signed_part(body, "alipay_trade_query_response")
