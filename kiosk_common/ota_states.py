"""The states an update goes through on a kiosk, as the agent reports them to HQ (docs/ota.md).

One list for the three places that read them: HQ's report API (``hq.ota``), the kiosk's heartbeat
field (``kiosk.ota_link``) and IT's update screen (``kiosk.staff_it``). The agent's own state
machine (``ota.agent_core.Phase``) has these plus ``idle``; a test keeps the two in step.
"""

from __future__ import annotations

#: what the agent reports about a release, in the order an update goes through them
REPORT_STATES: tuple[str, ...] = (
    "downloading",
    "downloaded",
    "installed",
    "waiting_idle",
    "switched",
    "healthy",
    "failed",
    "rolled_back",
)
#: the agent's phases: the report states, and idle (nothing to report about a release)
AGENT_PHASES: frozenset[str] = frozenset(("idle", *REPORT_STATES))
