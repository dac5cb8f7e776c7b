"""Timeout settings per tier: the one knob that decides how fast a kill is recovered.

Temporal learns that a worker died only from a timeout; it has no other signal. Tiers:

- ``fast``: every activity heartbeats with a 1 s heartbeat timeout, so an activity whose
  worker died is retried after about 1 s (100 ms retry interval); the worker sends a
  heartbeat every 0.2 s (the SDK's throttle would wait 0.8 s, 80 % of the timeout,
  leaving a loaded machine 0.2 s to deliver it before the activity is declared dead);
  sticky execution is off (``max_cached_workflows=0``), so no workflow task waits for
  a dead worker's sticky queue; workflow task timeout 2 s.
- ``default-timeouts``: what a user gets who sets only the required timeout: activity
  start-to-close 10 s and no heartbeat timeout, the SDK's default retry policy (1 s,
  backoff 2, at most 100 s), sticky execution on with its 5 s schedule-to-start timeout,
  workflow task timeout 10 s (Temporal's defaults). A kill then costs 10 s or more.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

__all__ = ["TIERS", "settings_for", "worker_options"]

TIERS = ("fast", "default-timeouts")

_SETTINGS: dict[str, dict[str, Any]] = {
    "fast": {
        "workflow": {"start_to_close": 300.0, "heartbeat": 1.0, "retry_initial": 0.1,
                     "retry_backoff": 1.0, "retry_max": 0.5, "workflow_task": 2.0},
        "worker": {"max_cached": 0, "heartbeat_throttle": 0.2},
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


def worker_options(worker: dict[str, Any]) -> dict[str, Any]:
    """``temporalio.worker.Worker`` keyword arguments from a tier's ``worker`` settings."""
    options: dict[str, Any] = {}
    if worker.get("max_cached") is not None:
        options["max_cached_workflows"] = int(worker["max_cached"])
    if worker.get("heartbeat_throttle") is not None:
        every = timedelta(seconds=float(worker["heartbeat_throttle"]))
        options["max_heartbeat_throttle_interval"] = every
        options["default_heartbeat_throttle_interval"] = every
    return options
