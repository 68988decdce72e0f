"""Pictures of payment codes and product barcodes that the demo holds up to its simulated camera.

The PNGs beside this file are made by ``make_samples.py`` (run ``python -m kiosk.samples.make_samples``
after changing this list) and committed, so the demo needs no generator at run time. The payment
gateway simulator picks the outcome from the last four digits of the payment code: 9001 asks for the
customer's password and then pays, 9002 is declined, anything else is paid.

The numbers are made up for the demo; they follow the WeChat Pay and Alipay prefix and length rules
so that the kiosk routes them like real codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kiosk.core.codes import CodeKind

SAMPLES_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True, slots=True)
class Sample:
    name: str
    code: str
    kind: CodeKind
    #: what the simulator does with it: "paid", "password" (then paid), "declined"; "" for products
    outcome: str
    label_zh: str
    label_en: str

    @property
    def path(self) -> Path:
        return SAMPLES_DIR / f"{self.name}.png"


SAMPLES: tuple[Sample, ...] = (
    Sample("wechat_ok", "134567890123450000", CodeKind.WECHAT, "paid", "微信付款码", "WeChat Pay code"),
    Sample(
        "wechat_password",
        "134567890123459001",
        CodeKind.WECHAT,
        "password",
        "微信付款码（需输入密码）",
        "WeChat Pay code (asks for password)",
    ),
    Sample(
        "wechat_declined",
        "134567890123459002",
        CodeKind.WECHAT,
        "declined",
        "微信付款码（支付失败）",
        "WeChat Pay code (declined)",
    ),
    Sample("alipay_ok", "284567890123450000", CodeKind.ALIPAY, "paid", "支付宝付款码", "Alipay code"),
    Sample(
        "alipay_password",
        "284567890123459001",
        CodeKind.ALIPAY,
        "password",
        "支付宝付款码（需输入密码）",
        "Alipay code (asks for password)",
    ),
    Sample(
        "alipay_declined",
        "284567890123459002",
        CodeKind.ALIPAY,
        "declined",
        "支付宝付款码（支付失败）",
        "Alipay code (declined)",
    ),
    Sample(
        "product_4006381333931",
        "4006381333931",
        CodeKind.PRODUCT,
        "",
        "商品条码 4006381333931",
        "Product barcode 4006381333931",
    ),
    Sample(
        "product_6901234560015",
        "6901234560015",
        CodeKind.PRODUCT,
        "",
        "商品条码：矿泉水 550ml",
        "Product barcode: mineral water 550ml",
    ),
)


def sample_paths() -> dict[str, Path]:
    """Sample name -> PNG path, the shape ``CheckoutController(samples=...)`` takes."""
    return {s.name: s.path for s in SAMPLES}
