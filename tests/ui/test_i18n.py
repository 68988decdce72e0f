"""Every user-facing text exists in zh_CN and en, with the same fields, and every key the UI uses exists."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from kiosk.core.checkout import Notice
from kiosk.i18n import LANGUAGES, OTHER_LANGUAGE, TEXTS, has_text, notice_key, notice_text, t

UI_DIR = Path(__file__).resolve().parents[2] / "kiosk" / "ui"


def fields_of(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_both_languages_have_exactly_the_same_keys() -> None:
    zh, en = set(TEXTS["zh_CN"]), set(TEXTS["en"])
    assert zh - en == set(), f"only in zh_CN: {sorted(zh - en)}"
    assert en - zh == set(), f"only in en: {sorted(en - zh)}"
    assert set(TEXTS) == set(LANGUAGES)


@pytest.mark.parametrize("key", sorted(TEXTS["zh_CN"]))
def test_a_text_has_the_same_fields_in_both_languages(key: str) -> None:
    assert fields_of(TEXTS["zh_CN"][key]) == fields_of(TEXTS["en"][key])


@pytest.mark.parametrize("notice", list(Notice))
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_notice_has_a_text(notice: Notice, language: str) -> None:
    text = notice_text(notice, language)
    if notice is Notice.NONE:
        assert text == ""
    else:
        assert text.strip(), f"{notice_key(notice)} is empty in {language}"


def test_chinese_texts_are_chinese_and_english_texts_are_not() -> None:
    """Catches a text pasted into the wrong table (language names excepted: each names itself)."""
    han = re.compile(r"[\u4e00-\u9fff]")
    for key, zh in TEXTS["zh_CN"].items():
        if key.startswith("lang.") or not zh:
            continue
        assert han.search(zh), f"zh_CN {key} has no Chinese: {zh!r}"
        assert not han.search(TEXTS["en"][key]), f"en {key} has Chinese: {TEXTS['en'][key]!r}"


def test_payment_code_instruction_in_both_languages() -> None:
    assert t("pay.show_code", "zh_CN") == "请出示付款码"
    assert t("pay.show_code", "en") == "Show your payment code"


def test_fields_are_filled() -> None:
    assert t("cart.pay", "zh_CN", total="¥12.50") == "付款 ¥12.50"
    assert t("cart.items", "en", count="3 items") == "3 items"
    assert t("cart.items", "zh_CN", count="3 件") == "共 3 件"


def test_unknown_key_and_language_are_errors_that_say_what_to_do() -> None:
    with pytest.raises(KeyError, match=r"add it to kiosk/i18n\.py"):
        t("no.such.key", "en")
    with pytest.raises(ValueError, match="zh_CN, en"):
        t("pay.title", "fr")
    assert not has_text("no.such.key")
    assert OTHER_LANGUAGE == {"zh_CN": "en", "en": "zh_CN"}


def ui_text_keys() -> set[str]:
    """Every literal key the screens pass to t(...) (in .kv and .py files)."""
    pattern = re.compile(r"""\bt\(\s*["']([a-z_]+\.[a-z_.]+)["']""")
    keys: set[str] = set()
    for path in sorted(UI_DIR.glob("*.kv")) + sorted(UI_DIR.glob("*.py")):
        keys |= set(pattern.findall(path.read_text(encoding="utf-8")))
    # conditional keys in pay.kv: t("pay.paid" if ... else "pay.show_code", ...)
    for path in UI_DIR.glob("*.kv"):
        keys |= set(
            re.findall(r'"((?:pay|cart|done|help|attract)\.[a-z_]+)"', path.read_text(encoding="utf-8"))
        )
    return keys


def test_every_key_the_screens_use_exists() -> None:
    keys = ui_text_keys()
    assert len(keys) > 30, "the scan found too few keys; did the screens move?"
    missing = sorted(k for k in keys if not has_text(k))
    assert missing == []
