"""The 15.6" full-HD monitor, landscape and portrait, of the clipping matrix (tests/ui/test_ui_clipping.py has the scenes, the sizes and the checks).

A file of its own so that ``--dist loadfile`` can run it beside the other sizes on another worker.
"""

from __future__ import annotations

import pytest
from test_ui_clipping import check_run

pytestmark = [pytest.mark.ui, pytest.mark.slow]

HERE = ("15in-1920x1080", "15in-1080x1920")


@pytest.mark.parametrize("name", HERE)
def test_no_text_is_clipped_and_every_button_is_9_mm(
    xvfb_display: str, tmp_path_factory: pytest.TempPathFactory, name: str
) -> None:
    check_run(xvfb_display, tmp_path_factory, name)
