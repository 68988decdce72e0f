"""Child-process entry point of the receipt preview's UI test: an English purchase by touch.

The real KioskApp with the FakeController (an enrolled kiosk: the receipt's QR is the e-receipt
URL). A customer's fingers, through Kivy's input: EN, start, two products, pay, the demo's WeChat
sample code (the camera edge), then the done screen, scrolled to the receipt's end.

Run as ``python tests/ui/ui_receipt_main.py OUT_DIR`` with ``KIVY_NO_ARGS=1``, ``KIVY_HOME`` and a
``DISPLAY`` (Xvfb). Prints one JSON line: what the script observed (``obs``) and a failure, if any.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from fake_controller import FakeController
from ui_maint_main import SCRIPT_LIMIT_S, Do, Fingers, Frames, Shot, Step, Tap, Until, run_script

from kiosk.settings import KioskSection, UiSection
from kiosk.ui.kivy_config import configure_kivy


def _button(f: Fingers, accept: Callable[[Any], bool]) -> Any:
    """The first button on screen that ``accept`` picks, when a finger can reach it."""
    from kivy.uix.behaviors import ButtonBehavior

    for w in f.screen.walk(restrict=True):
        if isinstance(w, ButtonBehavior) and accept(w) and not w.disabled and f.visible(w):
            return w
    return None


def _text_is(text: str) -> Callable[[Any], bool]:
    return lambda w: getattr(w, "text", None) == text


def _scroll_receipt_to_end(f: Fingers) -> None:
    """The receipt is taller than its panel: show its end (the footer and the QR), as a finger would."""
    image = f.screen.ids.receipt
    image.parent.scroll_y = 0


def purchase(f: Fingers, c: FakeController, obs: dict[str, Any]) -> Iterator[Step]:
    catalog = c.catalog()
    first, second = catalog[0], catalog[4]
    yield Until(lambda: f.showing("attract"), "the attract screen")
    yield Frames(5, "the first frames lay the screen out")
    yield Tap(lambda: _button(f, _text_is("EN")), "EN")
    yield Until(lambda: c.language == "en", "English")
    yield Tap(lambda: _button(f, _text_is("Tap to start")), "start")
    yield Until(lambda: f.showing("cart"), "the cart screen")
    yield Frames(5, "laid out")
    yield Tap(lambda: _button(f, _text_is("Big text")), "big text")
    yield Until(lambda: f.app.vm.large_text, "large text on")
    yield Frames(5, "laid out again")
    yield Tap(lambda: _button(f, lambda w: getattr(w, "sku", "") == first.sku), "tile")
    yield Tap(lambda: _button(f, lambda w: getattr(w, "sku", "") == second.sku), "another tile")
    yield Until(lambda: c.state.cart.item_count == 2, "two in the cart")
    yield Tap(lambda: _button(f, lambda w: str(getattr(w, "text", "")).startswith("Pay ")), "pay")
    yield Until(lambda: f.showing("pay"), "the pay screen")
    yield Frames(5, "laid out")
    yield Tap(
        lambda: _button(f, lambda w: getattr(w, "sample", "") == "wechat_ok"), "hold up the WeChat code"
    )
    yield Until(lambda: f.showing("done") and f.screen.panel == "paper", "the receipt on screen")
    yield Do(lambda: _scroll_receipt_to_end(f), "scroll to the receipt's end")
    yield Shot("done_en")
    yield Do(lambda: obs.update(_observe(f, c), done_sizes=_done_sizes(f)), "note what the done screen shows")
    # "Done": the attract screen fades in for the next customer, in the kiosk's language (zh_CN)
    yield Tap(lambda: _button(f, _text_is("Done")), "done")
    yield Until(lambda: c.language == "zh_CN", "the next customer's language")
    yield Do(
        lambda: obs.update(fading=_done_texts(f), fading_sizes=_done_sizes(f)),
        "note what the fading done screen says, and how large",
    )


def _done_texts(f: Fingers) -> list[str]:
    """Every label's text on the done screen, which is still drawn while it fades out."""
    from kivy.uix.label import Label

    done = f.app.sm.get_screen("done")
    return [w.text for w in done.walk(restrict=True) if isinstance(w, Label) and w.text]


def _done_sizes(f: Fingers) -> list[list[Any]]:
    """The done screen's labels that can be seen (not hidden at opacity 0), with their font sizes."""
    from kivy.uix.label import Label

    def seen(w: Any) -> bool:
        while w is not None and w is not w.parent:
            if w.opacity == 0:
                return False
            w = w.parent
        return True

    done = f.app.sm.get_screen("done")
    return [
        [w.text, round(float(w.font_size), 2)]
        for w in done.walk(restrict=True)
        if isinstance(w, Label) and w.text and seen(w)
    ]


def _observe(f: Fingers, c: FakeController) -> dict[str, Any]:
    from kiosk.ui.receipt_view import paper_of

    screen = f.screen
    printed = screen.vm.receipt_layout
    paper = paper_of(printed)
    image = screen.ids.receipt
    x, y = image.to_window(image.x, image.y)
    return {
        "panel": screen.panel,
        "receipt_texture": list(image.texture.size) if image.texture is not None else None,
        # the receipt picture's place in the window (Kivy's y is from the bottom)
        "receipt_box": [x, y, image.width, image.height],
        "window": [screen.get_root_window().width, screen.get_root_window().height],
        "body": list(printed.body),
        "footer": [[line.text, line.indent] for line in paper.lines[-len(printed.footer) :]],
        "qr_payload": paper.qr_payload,
        "e_receipt_url": c.current_receipt_url(),
        "names": {p.sku: (p.name_zh, p.name_en) for p in c.catalog()},
        "cart": [li.product.sku for li in c.state.cart.lines],
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--timeout", type=float, default=SCRIPT_LIMIT_S)
    args = parser.parse_args()
    ui = UiSection(fullscreen=False, width=1024, height=600)
    configure_kivy(ui, fullscreen=False)
    from kiosk.ui.app import KioskApp

    controller = FakeController(answer_delay_s=0.05, receipt_base="https://hq.example.com")
    app = KioskApp(
        controller, ui, fullscreen=False, kiosk_settings=KioskSection(store_name="便利店 Corner Shop")
    )
    obs: dict[str, Any] = {}
    return run_script(
        app, args.out, args.timeout, lambda f: purchase(f, controller, obs), report=lambda: {"obs": obs}
    )


if __name__ == "__main__":
    sys.exit(main())
