"""Pay screen: live camera preview, how to show the payment code, the amount, and (demo) sample codes.

In the printing phase the same screen says "payment received, printing your receipt": the
customer has nothing to do, and a separate screen for two seconds would only flicker.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from typing import Any

from kivy.clock import Clock
from kivy.properties import BooleanProperty, ObjectProperty
from kivy.uix.screenmanager import Screen

from kiosk.core.checkout import Phase
from kiosk.ui.present import FrameError, frame_to_rgb, preview_interval
from kiosk.ui.widgets import SampleButton, show_frame

log = logging.getLogger(__name__)

#: how many of the last redraws' costs choose the preview's rate (present.preview_interval)
REDRAW_SAMPLES = 5


class PayScreen(Screen):  # type: ignore[misc]
    vm = ObjectProperty(None)
    has_frame = BooleanProperty(False)
    printing = BooleanProperty(False)

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

    def on_kv_post(self, base_widget: Any) -> None:
        self.vm.bind(samples=self._build_samples, phase=self._on_phase)
        self._build_samples()
        self._on_phase()

    def _on_phase(self, *_args: Any) -> None:
        self.printing = self.vm.phase == Phase.PRINTING.value

    def _build_samples(self, *_args: Any) -> None:
        """Demo buttons, one per sample code, under the preview; none outside the demo."""
        box = self.ids.samples
        box.clear_widgets()
        for sample in self.vm.samples:
            box.add_widget(SampleButton(sample=sample["name"], text=sample["label"]))

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
        except Exception:  # a camera fault must not freeze the pay screen
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
