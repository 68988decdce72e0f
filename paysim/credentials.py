"""Throw-away credentials that pair a kiosk with the gateway simulator: RSA keys for Alipay, an API key
for WeChat Pay, and the kiosk settings that use them.

``paysim --make-credentials DIR`` writes them; ``paysim --credentials DIR`` serves with
them; the tests and the benchmark use :func:`make_credentials` directly. They only ever talk to the
simulator: real credentials come from the merchant platforms and never from here.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from kiosk.payments import alipay
from paysim.alipay import SimAlipayConfig
from paysim.wechat import SimWechatConfig

WECHAT_APPID = "wxsim0000000000001"
WECHAT_MCH_ID = "1900000109"
ALIPAY_APP_ID = "2021000000000001"
MANIFEST = "simulator.json"


@dataclass(frozen=True, slots=True)
class SimCredentials:
    folder: Path
    wechat_api_key: str
    sign_type: str = "HMAC-SHA256"

    @property
    def app_private_key_file(self) -> Path:
        return self.folder / "app_private_key.pem"

    @property
    def app_public_key_file(self) -> Path:
        return self.folder / "app_public_key.pem"

    @property
    def alipay_private_key_file(self) -> Path:
        return self.folder / "alipay_private_key.pem"

    @property
    def alipay_public_key_file(self) -> Path:
        return self.folder / "alipay_public_key.pem"

    def wechat_sim(self) -> SimWechatConfig:
        return SimWechatConfig(WECHAT_APPID, WECHAT_MCH_ID, self.wechat_api_key)

    def alipay_sim(self) -> SimAlipayConfig:
        return SimAlipayConfig(
            ALIPAY_APP_ID,
            alipay.load_public_key(self.app_public_key_file),
            alipay.load_private_key(self.alipay_private_key_file),
        )

    def kiosk_toml(self, gateway_url: str, gateway: str = "wechat+alipay") -> str:
        """The ``[payments*]`` settings that point a kiosk at the simulator with these credentials."""
        return (
            f'[payments]\ngateway = "{gateway}"\n\n'
            f'[payments.wechat]\ngateway_url = "{gateway_url}"\nappid = "{WECHAT_APPID}"\n'
            f'mch_id = "{WECHAT_MCH_ID}"\napi_key = "{self.wechat_api_key}"\nsign_type = "{self.sign_type}"\n\n'
            f'[payments.alipay]\ngateway_url = "{gateway_url}"\napp_id = "{ALIPAY_APP_ID}"\n'
            f'app_private_key_file = "{self.app_private_key_file}"\n'
            f'alipay_public_key_file = "{self.alipay_public_key_file}"\n'
        )


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(path, 0o600)


def _pem_private(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _pem_public(key: rsa.RSAPublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def make_credentials(folder: Path, sign_type: str = "HMAC-SHA256") -> SimCredentials:
    """Write a fresh set into ``folder`` (created 0700; private files 0600)."""
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    creds = SimCredentials(folder, secrets.token_hex(16), sign_type)
    app = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    gw = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _write_private(creds.app_private_key_file, _pem_private(app))
    creds.app_public_key_file.write_bytes(_pem_public(app.public_key()))
    _write_private(creds.alipay_private_key_file, _pem_private(gw))
    creds.alipay_public_key_file.write_bytes(_pem_public(gw.public_key()))
    _write_private(
        folder / MANIFEST,
        json.dumps({"wechat_api_key": creds.wechat_api_key, "sign_type": sign_type}).encode(),
    )
    return creds


def load_credentials(folder: Path) -> SimCredentials:
    """A set written by :func:`make_credentials`; ValueError naming what is missing."""
    try:
        data = json.loads((folder / MANIFEST).read_text("utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("wechat_api_key"), str):
            raise ValueError(f"{MANIFEST} holds no wechat_api_key")
        return SimCredentials(folder, data["wechat_api_key"], str(data.get("sign_type", "HMAC-SHA256")))
    except (OSError, ValueError) as exc:
        raise ValueError(
            f"{folder}: not a simulator credentials folder ({exc}); make one with paysim --make-credentials DIR"
        ) from None
