"""Child-process entry point of the clipping matrix (tests/ui/test_ui_clipping.py): the real KioskApp
and the FakeController, resized in-process (``Window.size`` under Xvfb) through the supported
screen sizes; at each, in both languages, every customer screen and dialog is put up and
``clipcheck`` walks the window's widget tree: no label shortened, cut or off the window, no button
under 9 mm on that size's display.

Run as ``python tests/ui/ui_clip_main.py OUT_DIR --sizes 800x480,1024x600 [--large-text]`` with
``KIVY_NO_ARGS=1``, ``KIVY_HOME`` and a ``DISPLAY`` (Xvfb). Prints one JSON line: the problems found
(``problems``), how many labels and buttons each scene had (``checked``), and a failure, if any.

Screens are reached by giving the fake controller the checkout state they show (the layout is what
is under test here; the purchases themselves are driven by touch in the other ui_*_main scripts).
A scene is checked once its layout has settled: the same labels, sizes and textures on consecutive
polls, never after a wall-clock wait. The check runs in the poll that saw the layout settle, and the
next scene goes up in that same poll: a scene costs its STABLE_POLLS polls and nothing more, which
matters at 27 scenes x 2 languages x 10 sizes.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import clipcheck
from fake_controller import CATALOG, FakeController, enrolment_desk
from ui_maint_main import SCRIPT_LIMIT_S, Do, Fingers, Frames, Step, Tap, Until, run_script

from kiosk.core import checkout as co
from kiosk.core.availability import OutOfService
from kiosk.core.cart import Cart, Product
from kiosk.settings import KioskSection, UiSection
from kiosk.ui import theme
from kiosk.ui.kivy_config import configure_kivy

#: the supported displays and their diagonals (inches): the 7" Pi touchscreen, a 7" 1024x600 panel,
#: a 10.1" 1280x800 panel and a 15.6" full-HD monitor; portrait is the same glass turned
DIAGONAL_IN: dict[tuple[int, int], float] = {
    (800, 480): 7.0,
    (1024, 600): 7.0,
    (1280, 800): 10.1,
    (1920, 1080): 15.6,
}
#: polls with an unchanged layout before a scene is checked
STABLE_POLLS = 3
#: bounds a scene that never settles (a layout that keeps changing is a finding too)
MAX_POLLS = 400

#: long English names (and a price in the thousands) for the cart's worst case
LONG: tuple[Product, ...] = (
    Product(
        "NOODLE5",
        "康师傅 红烧牛肉面 五连包 家庭装",
        "Master Kong braised beef instant noodles, family pack of five",
        1990,
        None,
        "food",
    ),
    Product(
        "RICE10",
        "五常 稻花香 大米 10kg",
        "Wuchang fragrant rice, 10 kg bag, new harvest",
        12900,
        None,
        "food",
    ),
    Product("TV55", "小米 电视 55英寸", "Xiaomi 55-inch 4K television (display model)", 219900, None, "home"),
    Product(
        "YOGURT",
        "安慕希 希腊风味酸奶 205g×12",
        "Ambrosial Greek-style yogurt, 12 bottles",
        6990,
        None,
        "daily",
    ),
)
FULL_CATALOG = CATALOG + LONG


def diagonal(size: tuple[int, int]) -> float:
    return DIAGONAL_IN[(max(size), min(size))]


def full_cart() -> Cart:
    cart = Cart()
    for i, product in enumerate(FULL_CATALOG):
        cart = cart.add(product, 1 + (i * 7) % 12)
    return cart.set_qty(LONG[2], 9)  # ¥19,791.00 on one line


class Scenes:
    """Puts each screen up through the fake controller, as the checkout would."""

    def __init__(self, f: Fingers, c: FakeController, large_text: bool) -> None:
        self.f, self.c, self.large_text = f, c, large_text

    @property
    def vm(self) -> Any:
        return self.f.app.vm

    def put(self, state: co.Checkout, *, printed: bool = False) -> None:
        c = self.c
        c._state = state
        c._printed = None
        c._receipt = ""
        if printed and state.order_id:
            receipt = c._receipt_layout(state.order_id)
            c._printed, c._receipt = (state.order_id, receipt), receipt.text()
        c._notify()
        self.vm.confirming_cancel = False
        if self.large_text:
            self.vm.large_text = True  # this customer pressed "大字 / Aa"

    def all(self) -> list[tuple[str, str, Callable[[], None]]]:
        """(name, the screen it shows, how to put it up)."""
        cart = full_cart()
        paying = co.Checkout(
            phase=co.Phase.PAYING, cart=cart, order_id="9f1c2d3e-0000-4000-8000-00000000abcd"
        )
        charging = replace(paying, charging=True)
        s = self

        def empty_catalog() -> None:
            s.put(co.Checkout(phase=co.Phase.CART))
            s.c._catalog = []
            s.put(co.Checkout())  # back on the attract screen: the catalog is read again, and is empty
            s.vm.start()  # reads the catalog again, finds nothing, starts no sale

        def enrol_failed() -> None:
            desk = enrolment_desk(s.c, other_hq=True)
            s.c.set_enrolment(desk)
            desk.take("KIOSKENROL1:https://hq-north.example-retail-group.com.cn:8443:K7QF-2M9X-PA3L-H8RD")
            s.c._notify()

        def with_catalog(state: co.Checkout, then: Callable[[], None] | None = None) -> Callable[[], None]:
            def go() -> None:
                s.c._catalog = list(FULL_CATALOG)
                s.put(state)
                if then is not None:
                    then()

            return go

        def members_on(state: co.Checkout) -> Callable[[], None]:
            """The cart of a kiosk that offers members (its header has the member button too); the
            next scene's put reads the controller again and hides the button."""

            def go() -> None:
                s.c.members_enabled = True
                try:
                    with_catalog(state)()
                finally:
                    s.c.members_enabled = False

            return go

        def search(query: str) -> Callable[[], None]:
            def go() -> None:
                s.vm.open_search()
                for key in query:
                    s.vm.press_key(key)

            return go

        on_member_screen = co.Checkout(phase=co.Phase.CART, cart=cart, member_screen=True)

        def type_phone() -> None:
            s.f.app.sm.get_screen("member").digits = "13812345678"

        def maint_menu() -> None:
            s.c.maintenance_unlock_pin("222222")
            s.f.app.show_menu()

        def done(printed: bool) -> Callable[[], None]:
            def go() -> None:
                s.c.receipt_base = None if printed else "https://hq.example.cn"
                s.put(replace(paying, phase=co.Phase.DONE, paid_channel="wechat"), printed=printed)

            return go

        return [
            ("attract", "attract", with_catalog(co.Checkout())),
            ("attract_no_products", "attract", empty_catalog),
            ("cart_empty", "cart", with_catalog(co.Checkout(phase=co.Phase.CART))),
            (
                "cart_full",
                "cart",
                with_catalog(co.Checkout(phase=co.Phase.CART, cart=cart, notice=co.Notice.UNKNOWN_PRODUCT)),
            ),
            ("cart_members", "cart", members_on(co.Checkout(phase=co.Phase.CART, cart=cart))),
            (
                "cart_cancel_confirm",
                "cart",
                with_catalog(co.Checkout(phase=co.Phase.CART, cart=cart), lambda: s.vm.ask_cancel()),
            ),
            (
                "cart_still_there",
                "cart",
                with_catalog(co.Checkout(phase=co.Phase.CART, cart=cart, still_there_s=20)),
            ),
            ("pay_show_code", "pay", with_catalog(paying)),
            ("pay_charging", "pay", with_catalog(charging)),
            ("pay_password", "pay", with_catalog(replace(charging, pay_stage=co.PayStage.USER_PAYING))),
            ("pay_checking", "pay", with_catalog(replace(charging, pay_stage=co.PayStage.CHECKING))),
            ("pay_declined", "pay", with_catalog(replace(paying, notice=co.Notice.PAYMENT_DECLINED))),
            ("pay_still_there", "pay", with_catalog(replace(paying, still_there_s=20))),
            (
                "printing",
                "pay",
                with_catalog(replace(paying, phase=co.Phase.PRINTING, paid_channel="wechat")),
            ),
            ("done_receipt", "done", done(printed=True)),
            ("done_e_receipt", "done", done(printed=False)),
            (
                "help_printer",
                "help",
                with_catalog(
                    replace(
                        paying,
                        phase=co.Phase.NEEDS_HELP,
                        notice=co.Notice.PRINTER_NOT_READY,
                        detail="printer: paper out, cover open (DLE EOT 2 = 0x16)",
                    )
                ),
            ),
            (
                "help_receipt_qr",
                "help",
                lambda: (
                    setattr(s.c, "receipt_base", "https://hq.example.cn"),
                    with_catalog(
                        replace(
                            paying,
                            phase=co.Phase.NEEDS_HELP,
                            notice=co.Notice.RECEIPT_FAILED,
                            detail="paper: out",
                        )
                    )(),
                ),
            ),
            ("recovering", "recovering", with_catalog(co.Checkout(phase=co.Phase.RECOVERING))),
            ("cart_search", "cart", with_catalog(co.Checkout(phase=co.Phase.CART, cart=cart), search("WU"))),
            ("cart_search_none", "cart", with_catalog(co.Checkout(phase=co.Phase.CART), search("QQQQ"))),
            (
                "cart_detail",
                "cart",
                with_catalog(co.Checkout(phase=co.Phase.CART, cart=cart), lambda: s.vm.open_detail("RICE10")),
            ),
            ("attract_offline", "attract", with_catalog(co.Checkout(), lambda: s.c.set_hq_offline(True))),
            (
                "out_of_service",
                "out_of_service",
                with_catalog(co.Checkout(), lambda: s.c.set_out_of_service(OutOfService.STORE_NOT_WRITABLE)),
            ),
            ("enrol", "enrol", with_catalog(co.Checkout(), lambda: s.c.set_enrolment(enrolment_desk(s.c)))),
            ("enrol_failed", "enrol", with_catalog(co.Checkout(), lambda: enrol_failed())),
            (
                "cart_printer_offer",
                "cart",
                with_catalog(co.Checkout(phase=co.Phase.CART, cart=cart, printer_offer=True)),
            ),
            (
                "help_camera_fault",
                "help",
                with_catalog(
                    co.Checkout(
                        phase=co.Phase.NEEDS_HELP,
                        cart=cart,
                        notice=co.Notice.CAMERA_FAULT,
                        detail="camera: no frames for 2 s (/dev/kiosk-camera)",
                    )
                ),
            ),
            ("member_screen", "member", with_catalog(on_member_screen)),
            (
                "member_refused",
                "member",
                with_catalog(replace(on_member_screen, notice=co.Notice.NOT_A_MEMBER_CODE), type_phone),
            ),
            ("member_still_there", "member", with_catalog(replace(on_member_screen, still_there_s=20))),
            ("pin_pad", "pin", lambda: (with_catalog(co.Checkout())(), s.f.app.open_pin("menu"))),
            ("maintenance_menu", "maint", lambda: (with_catalog(co.Checkout())(), maint_menu())),
        ]

    def leave(self, screen: str) -> None:
        if screen in ("pin", "maint"):
            self.f.app.leave_maintenance()
        self.vm.close_search()
        self.vm.close_detail()
        self.c.set_hq_offline(False)
        self.c.set_enrolment(None)
        self.c.set_out_of_service(None)


def signature(f: Fingers) -> tuple[Any, ...]:
    from kivy.core.window import Window

    sig: list[Any] = [tuple(Window.size)]
    for root in Window.children:
        for label in clipcheck.labels(root):
            sig.append((label.text, tuple(label.size), tuple(label.pos), tuple(label.texture_size)))
    return tuple(sig)


def settled(
    f: Fingers, screen: str, want_dialog: bool, language: str, then: Callable[[], None]
) -> Callable[[], bool]:
    """Ready once ``screen`` has shown the same layout for STABLE_POLLS polls in a row; ``then`` (the
    check) runs in that same poll, on the very layout that was seen to hold still."""
    seen: list[Any] = []
    polls = [0]

    def ready() -> bool:
        polls[0] += 1
        if polls[0] > MAX_POLLS:
            raise AssertionError(
                f"{screen} never settled: showing {f.app.sm.current}, dialog {f.app.still_there.showing}"
            )
        if f.app.vm.language != language:
            # a scene back on the attract screen resets the language for the next customer (next
            # frame): this customer chooses theirs again
            f.app.vm.set_language(language)
            seen.clear()
            return False
        if not f.showing(screen) or f.app.still_there.showing != want_dialog:
            seen.clear()
            return False
        sig = signature(f)
        if seen and seen[-1] != sig:
            import os

            if os.environ.get("CLIP_DEBUG"):
                print("unsettled", set(sig) ^ set(seen[-1]), file=sys.stderr)
            seen.clear()
        seen.append(sig)
        if len(seen) < STABLE_POLLS:
            return False
        then()
        return True

    return ready


def check(f: Fingers, where: dict[str, Any], problems: list[dict[str, Any]], checked: dict[str, Any]) -> None:
    from kivy.core.window import Window

    size = tuple(Window.size)
    min_px = theme.min_touch_px(size[0], size[1], diagonal(size))
    labels = buttons = 0
    for root in list(Window.children):
        found, n = clipcheck.check_tree(root, size)
        small, m = clipcheck.check_touch_targets(root, min_px)
        labels, buttons = labels + n, buttons + m
        problems.extend({**where, **p.as_dict()} for p in found + small)
    checked[f"{where['size']} {where['lang']} {where['scene']}"] = [labels, buttons]


def matrix(
    f: Fingers,
    c: FakeController,
    sizes: list[tuple[int, int]],
    large_text: bool,
    problems: list[dict[str, Any]],
    checked: dict[str, Any],
    shots: Path | None,
    obs: dict[str, Any],
) -> Iterator[Step]:
    from kivy.core.window import Window
    from kivy.uix.screenmanager import NoTransition

    f.app.sm.transition = NoTransition()  # layout, not animation, is under test here
    scenes = Scenes(f, c, large_text)
    yield from selftest(f, obs)
    if large_text:
        yield from large_text_by_touch(f, c, scenes, obs)

    def finish(where: dict[str, Any], screen: str) -> None:
        check(f, where, problems, checked)
        if shots is not None:
            f.app.screenshot(shots / f"{where['size']}_{where['lang']}_{where['scene']}.png")
        scenes.leave(screen)
        if c.state.still_there_s:
            scenes.put(co.Checkout())  # the dialog closes before the next scene

    def check_then_next(where: dict[str, Any], screen: str, setup_next: Callable[[], None] | None) -> None:
        finish(where, screen)
        if setup_next is not None:
            setup_next()  # the next scene goes up in the poll that checked this one: no poll idles

    for size in sizes:
        yield Do(lambda s=size: setattr(Window, "size", s), f"resize to {size}")
        yield Until(lambda s=size: tuple(Window.size) == s and tuple(f.app.root.size) == s, f"{size} applied")
        for lang in ("zh_CN", "en"):
            yield Do(lambda lg=lang: f.app.vm.set_language(lg), lang)
            all_scenes = scenes.all()
            yield Do(all_scenes[0][2], f"{all_scenes[0][0]} up")
            for i, (name, screen, _setup) in enumerate(all_scenes):
                where = {
                    "size": f"{size[0]}x{size[1]}",
                    "lang": lang,
                    "scene": name,
                    "large_text": large_text,
                }
                setup_next = all_scenes[i + 1][2] if i + 1 < len(all_scenes) else None
                dialog = name.endswith("still_there")
                then = functools.partial(check_then_next, where, screen, setup_next)
                yield Until(settled(f, screen, dialog, lang, then), f"{name} settled at {size} in {lang}")


def selftest(f: Fingers, obs: dict[str, Any]) -> Iterator[Step]:
    """The checker finds what it looks for: a shortened label, dropped lines, text bigger than its
    box, a label off the window, a price wrapped inside itself and a button under 9 mm, put on the
    window for one check; and it passes labels wrapped where text may break."""
    from kivy.core.window import Window
    from kivy.uix.floatlayout import FloatLayout
    from kivy.uix.label import Label

    from kiosk.ui.widgets import KButton

    box = FloatLayout()
    long = "a sentence far too long for its little box"
    box.add_widget(
        Label(
            text=long, size_hint=(None, None), size=(80, 30), text_size=(80, 30), shorten=True, pos=(10, 10)
        )
    )
    box.add_widget(
        Label(text=long, size_hint=(None, None), size=(80, 30), text_size=(80, 30), max_lines=1, pos=(10, 60))
    )
    box.add_widget(Label(text=long, size_hint=(None, None), size=(40, 20), pos=(10, 110)))
    box.add_widget(Label(text="off", size_hint=(None, None), size=(60, 30), pos=(-50, 160)))
    box.add_widget(KButton(text="x", size_hint=(None, None), size=(20, 20), pos=(10, 200)))
    # a price wrapped inside itself, in a box tall enough that nothing else is wrong with it
    box.add_widget(
        Label(text="¥12.00", size_hint=(None, None), size=(30, 300), text_size=(30, None), pos=(200, 10))
    )
    # wraps that are right: at spaces, after a hyphen, and Chinese between any two characters
    fine = FloatLayout()
    for i, text in enumerate(("one two three four", "self-checkout-kiosk", "请向工作人员出示付款码")):
        fine.add_widget(
            Label(
                text=text,
                size_hint=(None, None),
                # wide enough for "checkout-" whole (at 70 px Kivy had to break it), and inside
                # the smallest window either way up (480 wide, 480 high)
                size=(100, 200),
                text_size=(100, None),
                pos=(10 + 110 * i, 250),
            )
        )
    yield Do(lambda: (Window.add_widget(box), Window.add_widget(fine)), "self-test widgets up")
    yield Frames(3, "laid out")

    def check_box() -> None:
        found, _ = clipcheck.check_tree(box, tuple(Window.size))
        small, _ = clipcheck.check_touch_targets(box, 48)
        obs["selftest"] = sorted({p.kind for p in found + small})
        clean, count = clipcheck.check_tree(fine, tuple(Window.size))
        wrapped = [len(label._label._cached_lines) > 1 for label in clipcheck.labels(fine)]
        obs["selftest_clean"] = {
            "problems": [p.as_dict() for p in clean],
            "labels": count,
            "wrapped": wrapped,
        }
        Window.remove_widget(box)
        Window.remove_widget(fine)

    yield Do(check_box, "self-test checked")


def large_text_by_touch(f: Fingers, c: FakeController, scenes: Scenes, obs: dict[str, Any]) -> Iterator[Step]:
    """A customer taps "大字 / Aa" on the attract screen: the text grows; the next customer's does not."""
    from kiosk.ui.widgets import FitLabel, TextSizeToggle

    def toggle() -> Any:
        return next((w for w in f.screen.walk(restrict=True) if isinstance(w, TextSizeToggle)), None)

    def title_size() -> float:
        label = next(w for w in f.app.sm.get_screen("attract").walk(restrict=True) if isinstance(w, FitLabel))
        return float(label.base_font_size)

    yield Do(lambda: scenes.put(co.Checkout()), "attract")
    yield Do(lambda: setattr(f.app.vm, "large_text", False), "normal text")
    yield Until(lambda: f.showing("attract") and toggle() is not None, "attract")
    yield Do(lambda: obs.__setitem__("size_before", title_size()), "note")
    yield Tap(toggle, "大字 / Aa")
    yield Until(lambda: f.app.vm.large_text, "large text on")
    yield Do(lambda: obs.__setitem__("size_after", title_size()), "note")
    yield Do(lambda: c.dispatch(co.StartTapped()), "the customer starts")
    yield Until(lambda: f.showing("cart"), "cart")
    yield Do(lambda: obs.__setitem__("large_in_cart", f.app.vm.large_text), "note")
    yield Tap(toggle, "大字 / Aa in the cart header")
    yield Until(lambda: not f.app.vm.large_text, "large text off again")
    yield Tap(toggle, "and on")
    yield Until(lambda: f.app.vm.large_text, "large text on again")
    yield Do(lambda: c.dispatch(co.CancelTapped()), "the customer leaves")
    yield Until(lambda: f.showing("attract"), "attract")
    yield Do(lambda: obs.__setitem__("large_for_next", f.app.vm.large_text), "note")
    yield Do(lambda: obs.__setitem__("size_for_next", title_size()), "note")


def skip_drawing() -> None:
    """No frame is drawn: what is checked here is the layout (each label's box, its text's texture,
    each button's size), which Kivy works out on its clock whether or not the window is painted.
    Painting a full-HD window in software (Xvfb's llvmpipe) was most of this script's time; with
    ``--shots`` the window is painted, for the pictures."""
    from kivy.core.window import Window

    Window.on_draw = lambda *_args: None  # type: ignore[method-assign]


def parse_sizes(text: str) -> list[tuple[int, int]]:
    sizes = []
    for part in text.split(","):
        w, _, h = part.partition("x")
        size = (int(w), int(h))
        if (max(size), min(size)) not in DIAGONAL_IN:
            raise SystemExit(f"unsupported size {part}: choose from {sorted(DIAGONAL_IN)} (either way round)")
        sizes.append(size)
    return sizes


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--sizes", required=True, help="e.g. 800x480,480x800")
    parser.add_argument("--large-text", action="store_true")
    parser.add_argument("--shots", action="store_true", help="also save a screenshot of every scene")
    parser.add_argument("--timeout", type=float, default=SCRIPT_LIMIT_S)
    args = parser.parse_args()
    sizes = parse_sizes(args.sizes)
    ui = UiSection(fullscreen=False, width=sizes[0][0], height=sizes[0][1], demo_buttons=True)
    configure_kivy(ui, fullscreen=False)
    from kiosk.ui.app import KioskApp

    # a clock that never moves: no idle timer takes a scene away while it is checked
    controller = FakeController(catalog=FULL_CATALOG, answer_delay_s=0.05, clock=lambda: 0.0)
    app = KioskApp(
        controller, ui, fullscreen=False, kiosk_settings=KioskSection(store_name="便利店 Corner Shop 24h")
    )
    problems: list[dict[str, Any]] = []
    checked: dict[str, Any] = {}
    obs: dict[str, Any] = {}
    shots = args.out / "clip" if args.shots else None
    if shots is None:
        skip_drawing()
    return run_script(
        app,
        args.out,
        args.timeout,
        lambda f: matrix(f, controller, sizes, args.large_text, problems, checked, shots, obs),
        report=lambda: {"problems": problems, "checked": checked, "obs": obs},
    )


if __name__ == "__main__":
    sys.exit(main())
