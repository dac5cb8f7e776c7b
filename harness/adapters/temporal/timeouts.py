"""Timeout settings per tier: the one knob that decides how fast a kill is recovered.

Temporal learns that a worker died only from a timeout; it has no other signal. Tiers:

- ``fast``: every activity heartbeats (``HEARTBEAT_EVERY``) with a 1 s heartbeat timeout,
  so an activity whose worker died is retried after about 1 s (100 ms retry interval);
  sticky execution is off (``max_cached_workflows=0``), so no workflow task waits for
  a dead worker's sticky queue; workflow task timeout 2 s.
- ``default-timeouts``: what a user gets who sets only the required timeout: activity
  start-to-close 10 s and no heartbeat timeout, the SDK's default retry policy (1 s,
  backoff 2, at most 100 s), sticky execution on with its 5 s schedule-to-start timeout,
  workflow task timeout 10 s (Temporal's defaults). A kill then costs 10 s or more.
"""

from __future__ import annotations

from typing import Any

__all__ = ["TIERS", "settings_for"]

TIERS = ("fast", "default-timeouts")

_SETTINGS: dict[str, dict[str, Any]] = {
    "fast": {
        "workflow": {"start_to_close": 300.0, "heartbeat": 1.0, "retry_initial": 0.1,
                     "retry_backoff": 1.0, "retry_max": 0.5, "workflow_task": 2.0},
        "worker": {"max_cached": 0},
    },
    "default-timeouts": {
        "workflow": {"start_to_close": 10.0, "heartbeat": None, "retry_initial": 1.0,
                     "retry_backoff": 2.0, "retry_max": 100.0, "workflow_task": None},
        "worker": {},
    },
}


def settings_for(tier: str) -> dict[str, Any]:
    """A copy of the settings of ``tier`` (``workflow``: activity and workflow-task
    timeouts, passed inside each workflow request; ``worker``: Worker options)."""
    return {part: dict(values) for part, values in _SETTINGS[tier].items()}
