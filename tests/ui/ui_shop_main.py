"""Child-process entry point of the shopping screens' UI tests: the real KioskApp, the FakeController,
a customer's fingers (touch events through Kivy's input, as in ``ui_maint_main.py``, whose runner this
reuses) and a hand scanner (``FakeController.scan_product``, from a thread of its own).

Run as ``python tests/ui/ui_shop_main.py OUT_DIR --lang zh_CN|en [--width W --height H]`` with
``KIVY_NO_ARGS=1``, ``KIVY_HOME`` and a ``DISPLAY`` (Xvfb). Prints one JSON line: what the script
observed (``obs``) and a failure, if any.

The purchase: a scan on the attract screen, an unknown barcode, a search by English name on the
keypad, the item detail's − N + and "add", a scan while the search and while the detail are open,
a search by barcode digits, then pay and finish. Pictures: COLA330 has a good PNG, W550 a file that
will not load (its initial must show).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fake_controller import FakeController
from PIL import Image
from shown_edges import RisingEdges
from ui_maint_main import (
    QUIET_FRAMES,
    SCRIPT_LIMIT_S,
    Do,
    Fingers,
    Frames,
    Shot,
    Step,
    Tap,
    Until,
    run_script,
)

from kiosk.core import checkout as co
from kiosk.i18n import notice_text, t
from kiosk.settings import KioskSection, UiSection
from kiosk.ui.kivy_config import configure_kivy

WATER_BARCODE = "6921168509256"
UNKNOWN_BARCODE = "6900000000005"


def cart(f: Fingers) -> Any:
    return f.app.sm.get_screen("cart")


def ids(f: Fingers) -> Any:
    return cart(f).ids


def sp(f: Fingers) -> Any:
    """The search panel's own ids (query, summary, results, search_done)."""
    return cart(f).ids.search_panel.ids


def dt(f: Fingers) -> Any:
    """The item detail's own ids (name, other_name, price, qty, less, more, add, close, card)."""
    return cart(f).ids.detail.ids


def visible_button(f: Fingers, root: Any, text: str) -> Any:
    """An enabled, visible KButton under ``root`` whose text is ``text``."""
    from kiosk.ui.widgets import KButton

    for w in root.walk(restrict=True):
        if isinstance(w, KButton) and w.text == text and not w.disabled and w.opacity > 0 and f.visible(w):
            return w
    return None


def key(f: Fingers, k: str) -> Any:
    from kiosk.ui.widgets import KeyButton

    return next(
        (w for w in ids(f).search_panel.walk(restrict=True) if isinstance(w, KeyButton) and w.key == k), None
    )


def tile(f: Fingers, root: Any, sku: str) -> Any:
    from kiosk.ui.widgets import ProductTile

    return next(
        (w for w in root.walk(restrict=True) if isinstance(w, ProductTile) and w.sku == sku and f.visible(w)),
        None,
    )


def info_of(f: Fingers, root: Any, sku: str, lang: str) -> Any:
    found = tile(f, root, sku)
    return None if found is None else visible_button(f, found, t("shop.info", lang))


def qty(c: FakeController, sku: str) -> int:
    return c.state.cart.qty_of(sku)


def clipped(root: Any) -> list[str]:
    """Texts of the visible labels under ``root`` whose text does not fit their box (a wrapped label
    taller than its box, or a one-line label wider)."""
    from kivy.uix.label import Label

    bad = []
    for w in root.walk(restrict=True):
        if not isinstance(w, Label) or not w.text or w.opacity == 0 or w.width <= 1:
            continue
        tw, th = w.texture_size
        if tw > w.width + 1 or th > w.height + 1:
            bad.append(f"{w.text!r} {tw}x{th} in {round(w.width)}x{round(w.height)}")
    return bad


def watch(f: Fingers, toasts: list[dict[str, Any]], flashes: list[str]) -> None:
    """Record every toast the moment it is fully shown (with what was open under it) and every tile
    that flashed: on the property changes themselves, so a slow frame cannot hide one, and once per
    showing (``RisingEdges``), so a frame that lands near full cannot count one twice."""
    toast = ids(f).added_toast
    edges = RisingEdges()

    def shown(_w: Any, value: float) -> None:
        if edges.rose(value):
            vm = f.app.vm
            toasts.append({"text": toast.text, "searching": vm.searching, "detail": vm.detail is not None})

    toast.bind(shown=shown)
    f.app.vm.bind(flash_sku=lambda _vm, sku: flashes.append(sku) if sku else None)


def purchase(f: Fingers, c: FakeController, obs: dict[str, Any], lang: str) -> Iterator[Step]:
    other = "en" if lang == "zh_CN" else "zh_CN"
    toasts: list[dict[str, Any]] = []
    flashes: list[str] = []
    obs["toasts"], obs["flashes"] = toasts, flashes
    yield Until(lambda: f.showing("attract"), "attract")
    yield Do(lambda: watch(f, toasts, flashes), "watch the toast")
    if lang != "zh_CN":
        yield Tap(lambda: visible_button(f, f.screen, t("lang.en", "zh_CN")), "EN")
        yield Until(lambda: c.language == lang, "english")
    # a scan on the attract screen starts the sale, adds, beeps, and says "+1 ..."
    beeps = len([e for e in c.effects if isinstance(e, co.Beep)])
    yield Do(lambda: c.scan_product(WATER_BARCODE), "scan water on the attract screen")
    yield Until(lambda: f.showing("cart"), "cart")
    yield Until(lambda: len(toasts) == 1, "toast shown")
    yield Do(
        lambda: obs.__setitem__(
            "attract_scan_beeps", [e.error for e in c.effects[beeps:] if isinstance(e, co.Beep)]
        ),
        "note",
    )
    yield Shot(f"scan_toast_{lang}")
    # pictures: COLA330's loads, W550's fails and shows its initial
    yield Until(
        lambda: _picture(f, "COLA330") is not None and _picture(f, "COLA330").texture is not None,
        "picture loaded",
    )
    yield Until(lambda: _picture(f, "W550") is not None and _picture(f, "W550").failed, "bad picture refused")
    yield Do(lambda: obs.__setitem__("pictures", _pictures(f)), "note")
    # an unknown barcode says so
    yield Do(lambda: c.scan_product(UNKNOWN_BARCODE), "scan an unknown barcode")
    yield Until(lambda: f.app.vm.notice_text == notice_text(co.Notice.UNKNOWN_PRODUCT, lang), "unknown said")
    yield Frames(QUIET_FRAMES, "frames")
    yield Do(lambda: obs.__setitem__("unknown_on_screen", _notice_shown(f)), "note")
    # search by English name on the keypad
    yield Tap(lambda: visible_button(f, cart(f), t("shop.search", lang)), "search")
    yield Until(lambda: ids(f).search_panel.shown, "search panel")
    yield Do(lambda: obs.__setitem__("hint", sp(f).summary.text), "note")
    yield Frames(QUIET_FRAMES, "frames")
    yield Do(lambda: obs.__setitem__("stale_notice_in_search", _panel_notice(f)), "note")
    for k in "COLA":
        yield Tap(lambda k=k: key(f, k), f"key {k}")
    yield Until(lambda: tile(f, sp(f).results, "COLA330") is not None, "cola found")
    yield Frames(QUIET_FRAMES, "frames")
    yield Do(lambda: obs.__setitem__("query", f.app.vm.search_query), "note")
    yield Do(lambda: obs.__setitem__("results", [r["sku"] for r in f.app.vm.search_tiles]), "note")
    yield Do(lambda: obs.__setitem__("summary", sp(f).summary.text), "note")
    yield Do(lambda: obs.__setitem__("search_clipped", clipped(ids(f).search_panel)), "note")
    yield Shot(f"search_{lang}")
    # a scan while searching: added, and the toast shows over the panel
    yield Do(lambda: c.scan_product(WATER_BARCODE), "scan water while searching")
    yield Until(lambda: qty(c, "W550") == 2 and len(toasts) == 2, "water x2, said")
    # an unknown barcode while searching: said on the panel, which covers the catalog's notice bar
    yield Do(lambda: c.scan_product(UNKNOWN_BARCODE), "scan an unknown barcode while searching")
    yield Until(lambda: _panel_notice(f) == notice_text(co.Notice.UNKNOWN_PRODUCT, lang), "said on the panel")
    yield Do(lambda: obs.__setitem__("unknown_in_search", _panel_notice(f)), "note")
    yield Shot(f"search_unknown_{lang}")
    # the item detail from the result's info button: + + makes 3, add
    yield Tap(lambda: info_of(f, sp(f).results, "COLA330", lang), "cola info")
    yield Until(lambda: ids(f).detail.shown, "detail")
    yield Frames(QUIET_FRAMES, "frames")
    yield Do(
        lambda: obs.__setitem__("detail_names", [dt(f).name.text, dt(f).other_name.text, dt(f).price.text]),
        "note",
    )
    yield Tap(lambda: dt(f).more, "+")
    yield Tap(lambda: dt(f).more, "+")
    yield Until(lambda: dt(f).qty.text == "3", "three")
    yield Do(lambda: obs.__setitem__("add_text", dt(f).add.text), "note")
    yield Do(lambda: obs.__setitem__("detail_clipped", clipped(dt(f).card)), "note")
    yield Shot(f"detail_{lang}")
    # a scan while the detail is open: added, said, and the detail's "in the cart" follows
    yield Do(lambda: c.scan_product(WATER_BARCODE), "scan water in the detail")
    yield Until(lambda: qty(c, "W550") == 3 and len(toasts) == 3, "water x3, said")
    yield Tap(lambda: dt(f).add, "add to cart")
    yield Until(lambda: qty(c, "COLA330") == 3, "cola x3")
    yield Until(lambda: not ids(f).detail.shown and len(toasts) == 4, "detail closed, added said")
    yield Do(lambda: obs.__setitem__("cola_lines", len(c.state.cart.lines)), "note")
    # search by barcode digits: clear, 123, 6928
    yield Tap(lambda: key(f, "clear"), "clear")
    yield Tap(lambda: key(f, "digits"), "123")
    for k in "6928":
        yield Tap(lambda k=k: key(f, k), f"key {k}")
    yield Until(lambda: f.app.vm.search_query == "6928", "typed 6928")
    yield Do(lambda: obs.__setitem__("digit_results", [r["sku"] for r in f.app.vm.search_tiles]), "note")
    # switch language while searching: the panel follows at once
    yield Do(lambda: f.app.vm.set_language(other), "other language")
    yield Frames(QUIET_FRAMES, "frames")
    yield Do(lambda: obs.__setitem__("summary_other", sp(f).summary.text), "note")
    yield Do(lambda: f.app.vm.set_language(lang), "back")
    yield Frames(QUIET_FRAMES, "frames")
    yield Tap(lambda: sp(f).search_done, "done searching")
    yield Until(lambda: not ids(f).search_panel.shown, "search closed")
    # pay and finish
    yield Tap(lambda: ids(f).pay, "pay")
    yield Until(lambda: f.showing("pay"), "pay screen")
    yield Do(lambda: c.hold_up_sample("wechat_ok"), "hold up a code")
    yield Until(lambda: f.showing("done"), "done")
    yield Do(lambda: obs.__setitem__("paid", f.app.vm.done_total_text), "note")
    yield Do(
        lambda: obs.__setitem__("paid_lines", {li.product.sku: li.qty for li in c.state.cart.lines}), "note"
    )


def _picture(f: Fingers, sku: str) -> Any:
    from kiosk.ui.widgets import ProductPicture

    found = tile(f, ids(f).grid, sku)
    if found is None:
        return None
    return next((w for w in found.walk(restrict=True) if isinstance(w, ProductPicture)), None)


def _pictures(f: Fingers) -> dict[str, Any]:
    out = {}
    for sku in ("COLA330", "W550", "TEA500"):
        pic = _picture(f, sku)
        if pic is None:
            continue
        initial = pic.children[0]
        out[sku] = {
            "image_shown": pic.texture is not None and pic.children[1].opacity > 0,
            "initial_shown": initial.opacity > 0,
            "initial": initial.text,
        }
    return out


def _keys(f: Fingers) -> list[Any]:
    from kiosk.ui.widgets import KeyButton

    return [w for w in ids(f).search_panel.walk(restrict=True) if isinstance(w, KeyButton)]


def _panel_notice(f: Fingers) -> str:
    """The search panel's notice bar, when it is on screen ("" otherwise)."""
    from kiosk.ui.widgets import NoticeBar

    bar = next(w for w in ids(f).search_panel.walk(restrict=True) if isinstance(w, NoticeBar))
    return str(bar.text) if bar.opacity > 0 and bar.text else ""


def _notice_shown(f: Fingers) -> bool:
    from kiosk.ui.widgets import NoticeBar

    return any(
        isinstance(w, NoticeBar) and w.text == f.app.vm.notice_text and w.opacity > 0 and f.visible(w)
        for w in cart(f).walk(restrict=True)
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--lang", choices=("zh_CN", "en"), default="zh_CN")
    parser.add_argument("--width", type=int, default=800)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--timeout", type=float, default=SCRIPT_LIMIT_S)
    args = parser.parse_args()
    ui = UiSection(fullscreen=False, width=args.width, height=args.height)
    configure_kivy(ui, fullscreen=False)
    from kiosk.ui.app import KioskApp

    pictures = args.out / "pictures"
    pictures.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (120, 120), (200, 30, 30)).save(pictures / "COLA330.png")
    (pictures / "W550.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)  # will not decode
    controller = FakeController(answer_delay_s=0.05)
    controller.images = {"COLA330": str(pictures / "COLA330.png"), "W550": str(pictures / "W550.png")}
    app = KioskApp(
        controller, ui, fullscreen=False, kiosk_settings=KioskSection(store_name="便利店 Corner Shop")
    )
    obs: dict[str, Any] = {}
    return run_script(
        app,
        args.out,
        args.timeout,
        lambda f: purchase(f, controller, obs, args.lang),
        report=lambda: {"obs": obs},
    )


if __name__ == "__main__":
    sys.exit(main())
