"""First boot's enrolment screen under Xvfb, against a real HQ on 127.0.0.1 (tests/ui/ui_enrol_main.py).

GIVEN a kiosk built as ``kiosk run`` builds it, with no HQ credentials, its camera the demo's held
      picture source, and a real HQ with a one-time code for it
WHEN  the installer looks at the screen, staff hold the hidden corner, then a picture of a wrong
      code and then of HQ's enrolment QR is held up to the camera
THEN  the enrolment screen (not the shopping screens) shows the kiosk's id and fingerprint, the
      corner opens the PIN pad, the wrong code is refused with what to do, and HQ's code enrols
      the kiosk, which goes on to the attract screen without a restart.
"""

from __future__ import annotations

import re

import pytest
from ui_harness import distinct_colours, run_tour

pytestmark = pytest.mark.ui


def test_the_enrolment_screen_enrols_the_kiosk_from_a_scanned_code(
    xvfb_display: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    run = run_tour(xvfb_display, tmp_path_factory.mktemp("enrol"), "ui_enrol_main.py")
    assert run.returncode == 0, run.result.get("failure") or run.log[-3000:]
    obs = run.result["obs"]
    texts = " | ".join(obs["texts"])
    assert "Kiosk id: kiosk-1a2b3c4d" in texts
    assert re.fullmatch(r"[0-9a-f]{4}(-[0-9a-f]{4}){3}", obs["fingerprint"])
    assert f"Device key fingerprint: {obs['fingerprint']}" in texts
    assert "Scan the enrolment code from HQ" in texts
    assert obs["corner"] == "pin", "the hidden corner opens the PIN pad on the enrolment screen"
    assert "wrong, already used or expired" in obs["wrong"]
    assert obs["status"] == "done"
    assert obs["devices"] == ["kiosk-1a2b3c4d"] and obs["credentials"] is True
    assert obs["hq_client"] == "HttpHqClient"
    assert run.result["shots"] == ["enrol", "enrol-failed", "attract"]
    for name in run.result["shots"]:
        assert distinct_colours(run.out_dir / f"{name}.png") > 2
