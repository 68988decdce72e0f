"""Widgets shared by the screens: a flat touch button, the language toggle, header, notice bar, and
the rows of the catalog grid and the cart list. Their look is in widgets.kv; behaviour only here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.core.image import Image as ImageLoader
from kivy.core.text import Label as CoreLabel
from kivy.graphics.texture import Texture
from kivy.properties import (
    BooleanProperty,
    ColorProperty,
    NumericProperty,
    ObjectProperty,
    StringProperty,
)
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.label import Label
from kivy.uix.scrollview import ScrollView
from kivy.uix.widget import Widget
from PIL import Image as PILImage

from kiosk.core.images import picture_file
from kiosk.ui import busy, present, theme
from kiosk.ui.wrapping import breaks_a_word

log = logging.getLogger(__name__)


class KButton(ButtonBehavior, Label):  # type: ignore[misc]
    """A flat, rounded button at least ``theme.BUTTON_MIN_H`` high; colours come from the theme."""

    bg = ColorProperty(theme.NEUTRAL)
    bg_down = ColorProperty(theme.NEUTRAL_DOWN)
    fg = ColorProperty(theme.TEXT)
    edge = ColorProperty((0, 0, 0, 0))
    radius = NumericProperty(theme.RADIUS)
    #: what the font size is multiplied by; 0 follows the customer's (``vm.text_scale``). Set here
    #: rather than by overriding ``font_size`` in a screen's rule: the class rule's binding to
    #: ``vm.text_scale`` would still fire and win whenever the customer's size changes
    text_scale = NumericProperty(0)


class PrimaryButton(KButton):
    pass


class DangerButton(KButton):
    pass


class CategoryTab(KButton):
    """One category tab. Its width fits its label on one line (``text_width``, measured in bold so
    selecting it does not resize it); measured apart from the button's own texture, which depends
    on the width and would loop."""

    code = StringProperty("")
    selected = BooleanProperty(False)
    #: the label's width on one line, in bold, at the tab's font size (pixels)
    text_width = NumericProperty(0)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fbind("text", self._measure)
        self.fbind("font_size", self._measure)
        self.fbind("font_name", self._measure)
        self._measure()

    def _measure(self, *_args: Any) -> None:
        core = CoreLabel(text=self.text, font_size=self.font_size, font_name=self.font_name, bold=True)
        self.text_width = core.get_extents(self.text)[0] if self.text else 0

    def on_release(self) -> None:
        App.get_running_app().vm.select_category(self.code)


def rewind(view: Any, *, x: float | None = None, y: float | None = None) -> None:
    """Put a ScrollView at ``x`` and/or ``y`` and stop its scroll effects there.

    Setting ``scroll_x``/``scroll_y`` alone leaves each scroll effect at its own old position: a
    spring back still under way (a finger flung the view past its end) then carried the view back to
    where the last customer left it. So the effect is stopped and moved too: its velocity, and its
    value where Kivy's ScrollView puts it for that scroll position (which ends any overscroll).
    """
    if x is not None:
        view.effect_x.velocity = 0
        view.effect_x.value = (view.width - view.viewport_size[0]) * x
        view.scroll_x = x
    if y is not None:
        view.effect_y.velocity = 0
        view.effect_y.value = (view.height - view.viewport_size[1]) * y
        view.scroll_y = y


class TabBar(ScrollView):  # type: ignore[misc]
    """The category tabs' sideways bar: a finger drags it, and so does a mouse wheel, including the
    ordinary vertical wheel (Kivy's ScrollView ignores a vertical wheel on a sideways view)."""

    def on_touch_down(self, touch: Any) -> bool:
        button = getattr(touch, "button", "") if "button" in touch.profile else ""
        if button.startswith("scroll") and self.collide_point(*touch.pos):
            content = self.children[0] if self.children else None
            spare = (content.width - self.width) if content is not None else 0
            if spare <= 0:
                return True  # everything fits: nothing to scroll, and nothing underneath to wheel
            now = float(getattr(self, "scroll_x", 0.0))  # a Kivy property: untyped for mypy
            moved = present.wheel_scroll_x(button, now, float(self.scroll_wheel_distance) / spare)
            if moved is not None:
                self.scroll_x = moved
                return True
        return bool(super().on_touch_down(touch))

    def reset(self) -> None:
        """Back to the first tab (a new customer)."""
        rewind(self, x=0.0)


class ConfirmOverlay(FloatLayout):  # type: ignore[misc]
    """A question over the whole screen (a dimmed backdrop and a card). While ``shown``, it takes
    every touch, so nothing underneath can be pressed; hidden, it takes none and draws nothing."""

    shown = BooleanProperty(False)

    def on_touch_down(self, touch: Any) -> bool:
        if not self.shown:
            return False
        super().on_touch_down(touch)
        return True

    def on_touch_move(self, touch: Any) -> bool:
        if not self.shown:
            return False
        super().on_touch_move(touch)
        return True

    def on_touch_up(self, touch: Any) -> bool:
        if not self.shown:
            return False
        super().on_touch_up(touch)
        return True


class SampleButton(KButton):
    """Demo only: holds one sample payment code up to the simulated camera."""

    sample = StringProperty("")

    def on_release(self) -> None:
        App.get_running_app().vm.hold_up_sample(self.sample)


class LanguageToggle(BoxLayout):  # type: ignore[misc]
    """中文 | EN on every screen; the current language is the filled half."""

    #: the language shown as chosen and the text size; "" and 0 follow the customer's
    #: (``vm.language``, ``vm.text_scale``). The done screen passes its own, kept while it fades out
    language = StringProperty("")
    text_scale = NumericProperty(0)

    def choose(self, language: str) -> None:
        App.get_running_app().vm.set_language(language)


class TextSizeToggle(KButton):
    """ "大字 / Aa": bigger text for this customer (``vm.large_text``); filled while it is on."""

    def on_release(self) -> None:
        App.get_running_app().vm.toggle_large_text()


class HeaderBar(BoxLayout):  # type: ignore[misc]
    title = StringProperty("")
    bg = ColorProperty(theme.BRAND)
    #: show the large-text button (the shopping screens: the cart; the attract screen has its own)
    text_toggle = BooleanProperty(False)
    #: the language and text size to draw in; "" and 0 follow the customer's (``vm.language``,
    #: ``vm.text_scale``). Set, not bound in a class rule: a class rule's binding would fire too
    language = StringProperty("")
    text_scale = NumericProperty(0)


class NoticeBar(Label):  # type: ignore[misc]
    """A notice for the customer, wrapped onto as many lines as it needs (never shortened with "...");
    at least one line high even when empty, so nothing jumps when it appears."""


class ProductTile(ButtonBehavior, BoxLayout):  # type: ignore[misc]
    """One product on the catalog grid (and in the search results): a tap adds one; its info
    button opens the item detail (kiosk/ui/shop.kv draws the picture and the button)."""

    sku = StringProperty("")
    name = StringProperty("")
    price_text = StringProperty("")
    qty = NumericProperty(0)
    #: staff marked it out of stock: drawn dimmed with "sold out" for its price; a tap says so
    sold_out = BooleanProperty(False)
    #: the checked picture file ("" for none: the initial shows), and the name's first character
    image = StringProperty("")
    initial = StringProperty("")
    #: just added (a scan, a tap): drawn highlighted while the "+1" toast shows
    flash = BooleanProperty(False)

    def on_release(self) -> None:
        App.get_running_app().vm.tap_product(self.sku)

    def show_detail(self) -> None:
        App.get_running_app().vm.open_detail(self.sku)


class ProductPicture(FloatLayout):  # type: ignore[misc]
    """A product's picture, or its initial on a soft disc when it has none or the file cannot be
    decoded. The file is read and decoded on the pictures' own thread (``load_picture``); only the
    texture is made on the UI thread, once per file (``_TEXTURES``), so recycled tiles do not load
    the same picture again."""

    source = StringProperty("")
    initial = StringProperty("")
    failed = BooleanProperty(False)
    texture = ObjectProperty(None, allownone=True)

    def on_source(self, *_args: Any) -> None:
        # a recycled tile: the new product's picture gets its own chance, the old one goes
        self.failed = self.source in _FAILED
        self.texture = _TEXTURES.get(self.source)
        if self.source and self.texture is None and not self.failed:
            load_picture(self.source, self._loaded)

    def _loaded(self, source: str, texture: Texture | None) -> None:
        if source != self.source:
            return  # the tile shows another product by now
        self.texture = texture
        self.failed = texture is None


#: decoded pictures by file (a catalog's worth: a few hundred small textures)
_TEXTURES: dict[str, Texture] = {}
_TEXTURES_MAX = 600
#: files that would not decode: not tried again (and not logged again) until the kiosk restarts
_FAILED: set[str] = set()
_picture_pool: ThreadPoolExecutor | None = None


def load_picture(source: str, done: Callable[[str, Texture | None], None]) -> None:
    """Decode ``source`` off the UI thread, then ``done(source, texture or None)`` on it."""
    global _picture_pool
    if _picture_pool is None:  # started on first use, never at import
        _picture_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pictures")

    def work() -> None:
        try:
            data = ImageLoader.load(str(picture_file(source)), keep_data=True)
        except Exception:  # a damaged file: the initial shows
            log.warning("product picture %s cannot be decoded", source)
            data = None
        Clock.schedule_once(lambda _dt: finish(data), 0)

    def finish(data: Any) -> None:
        texture = None
        if data is not None:
            try:
                texture = data.texture
            except Exception:
                log.warning("product picture %s cannot be shown", source)
        if texture is None:
            _FAILED.add(source)
        else:
            if len(_TEXTURES) >= _TEXTURES_MAX:
                _TEXTURES.clear()
            _TEXTURES[source] = texture
        done(source, texture)

    _picture_pool.submit(work)


class KeyButton(KButton):
    """One key of the search keypad."""

    key = StringProperty("")

    def on_release(self) -> None:
        App.get_running_app().vm.press_key(self.key)


class CartRow(BoxLayout):  # type: ignore[misc]
    sku = StringProperty("")
    name = StringProperty("")
    qty = NumericProperty(0)
    unit_text = StringProperty("")
    total_text = StringProperty("")

    def change(self, delta: int) -> None:
        App.get_running_app().vm.change_qty(self.sku, delta)


class FitLabel(Label):  # type: ignore[misc]
    """A label whose text always fits its box: wrapped to the box's width, and its font made smaller
    (from ``base_font_size`` down to ``min_scale`` of it) until every line fits the box's height
    and no word is cut at the box's edge (``kiosk.ui.wrapping``).

    For text whose length the screen cannot know: product names, long English strings. Kivy's own
    answers cut the text ("..." from ``shorten``, lines dropped by ``max_lines``), which a customer
    cannot read. If even the smallest size does not fit, the text stays at that size (and the
    clipping test, tests/ui/clipcheck.py, reports it: the box must grow).
    A .kv file sets ``base_font_size`` (scaled: ``sp(theme.FONT_BODY) * app.vm.text_scale``), never
    ``font_size``, and gives the label a size; ``text_size`` is the box.
    """

    base_font_size = NumericProperty(0)
    #: the smallest size, as a fraction of ``base_font_size``
    min_scale = NumericProperty(0.7)
    #: the text must stay on one line (a price: "¥12.0" over "0" is not a price), so it only shrinks
    one_line = BooleanProperty(False)

    def __init__(self, **kwargs: Any) -> None:
        self._fit_trigger = Clock.create_trigger(self._fit, -1)
        super().__init__(**kwargs)
        for name in ("text", "size", "base_font_size", "min_scale", "font_name", "bold", "one_line"):
            self.fbind(name, self._fit_trigger)
        self._fit_trigger()

    def fits(self, font_size: float) -> bool:
        """Would the whole text, wrapped to the width, fit the box at ``font_size``?"""
        if not self.text or self.width <= 0:
            return True
        core = CoreLabel(
            text=self.text,
            font_size=font_size,
            font_name=self.font_name,
            bold=self.bold,
            text_size=(self.width, None),
            halign=self.halign,
            padding=self.padding,
        )
        core.refresh()
        w, h = core.content_size
        lines = ["".join(word.text for word in line.words) for line in core._cached_lines if line.words]
        laid_out = "".join(lines)
        whole = len("".join(laid_out.split())) >= len("".join(self.text.split()))
        if self.one_line and len(lines) > 1:
            return False
        # a word cut at the box's edge ("Coca-Co" over "la") reads as two wrong words: smaller instead
        return bool(whole and w <= self.width and h <= self.height and not breaks_a_word(self.text, lines))

    def _fit(self, *_args: Any) -> None:
        base = float(self.base_font_size)
        if base <= 0:
            return  # no base size given: a plain label
        floor = max(1.0, base * float(self.min_scale))
        size = base
        while size > floor and not self.fits(size):
            size = max(floor, size - max(1.0, base * 0.05))
        self.font_size = size
        self.text_size = (self.width, self.height)


class CheckMark(Widget):  # type: ignore[misc]
    """A green circle with a tick: "paid" and "done" at a glance, without relying on a font glyph."""

    #: the circle's diameter (set in widgets.kv from the widget's size)
    d = NumericProperty(0)


def picture_texture(picture: PILImage.Image, sharp: bool = False) -> Texture:
    """A Pillow RGBA picture (a QR, a painted receipt) as a texture; ``sharp`` keeps a QR's modules
    crisp at any scale. The done, help and enrolment screens all draw their pictures this way."""
    tex = Texture.create(size=picture.size, colorfmt="rgba")
    # Pillow's row 0 is the top, OpenGL's the bottom
    tex.blit_buffer(
        picture.transpose(PILImage.Transpose.FLIP_TOP_BOTTOM).tobytes(), colorfmt="rgba", bufferfmt="ubyte"
    )
    if sharp:
        tex.mag_filter = "nearest"
    return tex


def show_frame(
    image: Any, texture: Texture | None, pixels: Any, width: int, height: int, fmt: str
) -> Texture:
    """Draw one camera frame (``present.frame_to_rgb``'s answer) on ``image``; the texture to keep.

    The pay screen's preview and the diagnostics camera view both call this each frame: the
    texture is made again only when the frame's size or format changes, otherwise refilled.
    """
    if texture is None or texture.size != (width, height) or texture.colorfmt != fmt:
        texture = Texture.create(size=(width, height), colorfmt=fmt)
    texture.blit_buffer(pixels.tobytes(), colorfmt=fmt, bufferfmt="ubyte")
    if image.texture is not texture:
        image.texture = texture
    else:
        image.canvas.ask_update()
    return texture


class BusySpinner(Widget):  # type: ignore[misc]
    """The one "please wait" sign (kiosk.ui.busy says when): a turning arc over the screen.

    Shown the moment ``active`` goes True (opacity is set here, not in the next frame) and turned by
    Kivy's Clock on the UI thread, never by a thread; hidden, it costs nothing and takes no touch.
    """

    active = BooleanProperty(False)
    angle = NumericProperty(0.0)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.opacity = 0
        self._turning: Any = None

    def on_active(self, _widget: Any, active: bool) -> None:
        if active:
            self.opacity = 1
            if self._turning is None:
                self._turning = Clock.schedule_interval(self._turn, 0)
        else:
            self.opacity = 0
            if self._turning is not None:
                self._turning.cancel()
                self._turning = None

    def _turn(self, dt: float) -> None:
        self.angle = busy.next_angle(self.angle, dt)

    def on_touch_down(self, touch: Any) -> bool:
        return False


class DiscountRow(BoxLayout):  # type: ignore[misc]
    """A promotion on the cart: its name on the left, what it takes off on the right (widgets.kv)."""

    name = StringProperty("")
    amount_text = StringProperty("")
