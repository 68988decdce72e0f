"""Clipped text and small touch targets, found by walking a live Kivy widget tree (issue 12).

Used inside the Xvfb child processes (``ui_clip_main.py``); import it only after Kivy is set up.
``check_tree(root, window_size)`` looks at every Label a customer can see under ``root``:

- ``shortened``: Kivy replaced part of the text with "..." / "…" (``shorten``), which the source
  text did not hold;
- ``lines dropped``: fewer characters were laid out than the text has (``max_lines``, or a
  ``text_size`` height too small for the wrapped lines);
- ``overflows its box``: the rendered texture is wider or taller than the label, so it spills over
  its neighbours or is cut by the screen;
- ``off the window``: the label (outside any scrolling list) is not wholly inside the window;
- ``word broken``: wrapping broke a Latin word or a number inside itself ("¥12.0" over "0" on a tile
  price): a line ends and the next begins inside a token that had no space or hyphen there. Chinese
  and other wide (CJK) characters may break anywhere, as Chinese typesetting does.

``check_touch_targets(root, min_px)`` finds buttons smaller than ``min_px`` on either side.
A screen added later is covered by walking it too: nothing here knows any screen.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

#: a pixel's slack for rounding in Kivy's layout
SLACK_PX = 1.0
ELLIPSES = ("...", "…")


@dataclass(frozen=True)
class Problem:
    kind: str
    widget: str
    text: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def shown(w: Any) -> bool:
    """Drawn at all: attached to the window, and neither it nor a parent fully transparent."""
    if w.get_root_window() is None:
        return False
    node = w
    while node is not None:
        if getattr(node, "opacity", 1) <= 0:
            return False
        parent = node.parent
        if parent is node:
            break
        node = parent
    return True


def scroller_of(w: Any) -> Any:
    """The nearest scrolling ancestor (ScrollView, RecycleView), or None."""
    node = w.parent
    while node is not None and node is not node.parent:
        if type(node).__name__ in ("ScrollView", "RecycleView", "TabBar") or hasattr(node, "scroll_y"):
            return node
        node = node.parent
    return None


def describe(w: Any) -> str:
    """Where a widget is, by class names from its screen down (tests read this in a failure)."""
    names = []
    node = w
    while node is not None and node is not node.parent and len(names) < 6:
        names.append(type(node).__name__)
        if type(node).__name__.endswith(("Screen", "Dialog")):
            break
        node = node.parent
    return "/".join(reversed(names))


def labels(root: Any) -> Iterator[Any]:
    from kivy.uix.label import Label

    for w in root.walk(restrict=True):
        if isinstance(w, Label) and shown(w) and w.text.strip():
            yield w


def _squash(text: str) -> str:
    return "".join(text.split())


def rendered_text(label: Any) -> str:
    """What Kivy actually laid out for ``label``, from its core label's lines."""
    core = label._label
    lines = getattr(core, "_cached_lines", None) or []
    return "".join(word.text for line in lines for word in line.words)


def _breaks_anywhere(ch: str) -> bool:
    """A line may end or begin at this character whatever is next to it: a space, or a wide (CJK)
    character, which Chinese typesetting breaks between."""
    return ch.isspace() or unicodedata.east_asian_width(ch) in ("W", "F")


def broken_words(text: str, lines: list[str]) -> list[str]:
    """The tokens of ``text`` that its laid-out ``lines`` break inside, as "left|right".

    Each line is found in the text after the previous one; a line that starts exactly where the
    previous ended (no space or newline was used up between them) broke the text there. That break
    is a broken word unless a hyphen ends the first part or a wide (CJK) character is on either
    side. Pure: the unit tests and the self-test call it without a window.
    """
    found: list[str] = []
    pos = 0
    prev_end: int | None = None
    for line in lines:
        body = line.strip()
        if not body:
            continue
        at = text.find(body, pos)
        if at < 0:
            return found  # the layout is not the text ("shortened" / "lines dropped" say so)
        if prev_end is not None and at == prev_end and at > 0:
            a, b = text[at - 1], text[at]
            if not (_breaks_anywhere(a) or _breaks_anywhere(b) or a in "-\u2010"):
                start, end = at, at
                while start > 0 and not _breaks_anywhere(text[start - 1]):
                    start -= 1
                while end < len(text) and not _breaks_anywhere(text[end]):
                    end += 1
                found.append(f"{text[start:at]}|{text[at:end]}")
        pos = prev_end = at + len(body)
    return found


def laid_out_lines(label: Any) -> list[str]:
    """The label's text as Kivy laid it out, line by line."""
    lines = getattr(label._label, "_cached_lines", None) or []
    return ["".join(word.text for word in line.words) for line in lines]


def window_rect(w: Any) -> tuple[float, float, float, float]:
    x, y = w.to_window(w.x, w.y)
    return x, y, x + w.width, y + w.height


def check_label(label: Any, window_size: tuple[int, int]) -> list[Problem]:
    label.texture_update()
    found: list[Problem] = []
    text = label.text
    where = describe(label)
    short = text[:60]

    def problem(kind: str, detail: str) -> None:
        found.append(Problem(kind, where, short, detail))

    if label.markup:
        return found  # markup is not used on the customer's screens; its layout differs
    laid_out = rendered_text(label)
    if getattr(label._label, "is_shortened", False) or any(e in laid_out and e not in text for e in ELLIPSES):
        problem("shortened", f"shown as {laid_out[:60]!r}")
    elif laid_out and len(_squash(laid_out)) < len(_squash(text)):
        problem("lines dropped", f"laid out {laid_out[:60]!r}")
    tw, th = label.texture_size
    if tw > label.width + SLACK_PX or th > label.height + SLACK_PX:
        problem(
            "overflows its box", f"text {tw:.0f}x{th:.0f} in a box of {label.width:.0f}x{label.height:.0f}"
        )
    for token in broken_words(text, laid_out_lines(label)):
        problem("word broken", f"wrapped inside {token!r}")
    if scroller_of(label) is None:
        x0, y0, x1, y1 = window_rect(label)
        w, h = window_size
        if x0 < -SLACK_PX or y0 < -SLACK_PX or x1 > w + SLACK_PX or y1 > h + SLACK_PX:
            problem("off the window", f"at ({x0:.0f},{y0:.0f})-({x1:.0f},{y1:.0f}) in {w}x{h}")
    return found


def check_tree(root: Any, window_size: tuple[int, int]) -> tuple[list[Problem], int]:
    """Every problem with the labels under ``root``, and how many labels were checked."""
    problems: list[Problem] = []
    count = 0
    for label in labels(root):
        count += 1
        problems.extend(check_label(label, window_size))
    return problems, count


def touch_targets(root: Any) -> Iterator[Any]:
    from kivy.uix.behaviors import ButtonBehavior

    for w in root.walk(restrict=True):
        if isinstance(w, ButtonBehavior) and shown(w) and w.width > 0 and w.height > 0:
            yield w


def check_touch_targets(root: Any, min_px: int) -> tuple[list[Problem], int]:
    """Buttons a finger may find too small: either side under ``min_px`` (9 mm on the display)."""
    problems: list[Problem] = []
    count = 0
    for w in touch_targets(root):
        count += 1
        if w.width + SLACK_PX < min_px or w.height + SLACK_PX < min_px:
            problems.append(
                Problem(
                    "small touch target",
                    describe(w),
                    str(getattr(w, "text", ""))[:60],
                    f"{w.width:.0f}x{w.height:.0f} px, under {min_px} px (9 mm)",
                )
            )
    return problems, count
