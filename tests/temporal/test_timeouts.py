"""The timeout tiers: what decides how fast Temporal recovers from a dead worker (pure)."""

from __future__ import annotations

from datetime import timedelta

from harness.adapters.temporal.timeouts import TIERS, settings_for, worker_options


def test_the_fast_tier_heartbeats_well_inside_its_heartbeat_timeout_without_sticky_queues(
) -> None:
    fast = settings_for("fast")
    options = worker_options(fast["worker"])
    assert options["max_cached_workflows"] == 0  # no sticky queue to wait out after a kill
    timeout = timedelta(seconds=fast["workflow"]["heartbeat"])
    # the SDK's own throttle (80 % of the timeout) would leave a loaded machine 0.2 s
    assert options["max_heartbeat_throttle_interval"] <= timeout / 4


def test_the_default_timeouts_tier_leaves_temporal_s_defaults_alone() -> None:
    default = settings_for("default-timeouts")
    assert worker_options(default["worker"]) == {}
    assert default["workflow"]["heartbeat"] is None
    assert default["workflow"]["workflow_task"] is None
    assert set(TIERS) == {"fast", "default-timeouts"}
