"""Pay screen: live camera preview, how to show the payment code, the amount, and (demo) sample codes.

In the printing phase the same screen says "payment received, printing your receipt": the
customer has nothing to do, and a separate screen for two seconds would only flicker. The camera's
picture is ``camera_preview.CameraPreviewScreen``'s, shared with the member screen.
"""

from __future__ import annotations

from typing import Any

from kivy.properties import BooleanProperty

from kiosk.core.checkout import Phase
from kiosk.ui.camera_preview import CameraPreviewScreen
from kiosk.ui.widgets import SampleButton


class PayScreen(CameraPreviewScreen):
    printing = BooleanProperty(False)

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
