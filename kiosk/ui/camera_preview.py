"""The camera's live picture on a customer screen: the pay screen and the member screen show it alike.

There is one camera pipeline: the scanner decodes every frame for the controller (``on_codes``)
whichever screen is up, and keeps a copy of its newest frame. A screen that asks the customer to
show a code only draws that copy (``vm.latest_frame``) while it is entered, at a rate that follows
what the redraws cost (``present.preview_interval``), so a slow Pi shows fewer frames rather than
falling behind the touches. The screen's kv rule names the picture's ``Image`` ``preview``.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from typing import Any

from kivy.clock import Clock
from kivy.properties import BooleanProperty, ObjectProperty
from kivy.uix.screenmanager import Screen

from kiosk.ui.present import FrameError, frame_to_rgb, preview_interval
from kiosk.ui.widgets import show_frame

log = logging.getLogger(__name__)

#: how many of the last redraws' costs choose the preview's rate (present.preview_interval)
REDRAW_SAMPLES = 5


class CameraPreviewScreen(Screen):  # type: ignore[misc]
    vm = ObjectProperty(None)
    #: a frame is on screen (the kv shows "the camera is starting" until there is one)
    has_frame = BooleanProperty(False)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._preview_event: Any = None
        self._probe_event: Any = None
        self._texture: Any = None
        self._bad_frame_logged = False
        #: seconds the last few preview redraws took (from the frame's upload to the next clock tick)
        self.redraw_s: deque[float] = deque(maxlen=REDRAW_SAMPLES)
        #: when the last frame was uploaded, and in which clock frame (None: nothing to time)
        self._uploaded: tuple[float, int] | None = None
        #: the wait chosen before the next preview frame, seconds, and how many frames were shown:
        #: what the UI tests read to see the rate follow the redraws' cost
        self.next_frame_s = 0.0
        self.frames_shown = 0

    def on_enter(self, *_args: Any) -> None:
        self._update_preview(0)
        self._probe_event = Clock.schedule_interval(self._time_redraw, 0)

    def on_leave(self, *_args: Any) -> None:
        for event in (self._preview_event, self._probe_event):
            if event is not None:
                event.cancel()
        self._preview_event = self._probe_event = None
        self._uploaded = None
        self.has_frame = False

    def _time_redraw(self, _dt: float) -> None:
        """The first clock tick after an upload: the frame between was drawn and shown (the window's
        whole redraw, the cost the preview's rate is chosen by)."""
        if self._uploaded is not None and Clock.frames > self._uploaded[1]:
            self.redraw_s.append(time.perf_counter() - self._uploaded[0])
            self._uploaded = None

    def _update_preview(self, _dt: float) -> None:
        self.next_frame_s = preview_interval(self.redraw_s)
        self._preview_event = Clock.schedule_once(self._update_preview, self.next_frame_s)
        self._show_latest()

    def _show_latest(self) -> None:
        try:
            frame = self.vm.latest_frame()
        except Exception:  # a camera fault must not freeze the screen: the customer can still type
            log.exception("camera frame could not be read")
            frame = None
        if frame is None:
            self.has_frame = False
            return
        try:
            pixels, width, height, fmt = frame_to_rgb(frame)
        except FrameError as exc:
            if not self._bad_frame_logged:
                log.warning("camera preview skipped a frame it cannot show: %s", exc)
                self._bad_frame_logged = True
            self.has_frame = False
            return
        self._texture = show_frame(self.ids.preview, self._texture, pixels, width, height, fmt)
        self.has_frame = True
        self.frames_shown += 1
        self._uploaded = (time.perf_counter(), Clock.frames)
