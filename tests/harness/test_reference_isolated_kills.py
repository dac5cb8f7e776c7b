"""The reference engine declares isolated kills, and its embedded tier meets the exact
bounds that follow (one task per worker; children created in the parent's commit)."""

from __future__ import annotations

import pytest

from harness.adapters import load_adapter
from harness.adapters.reference import ReferenceAdapter
from harness.checks.result import FAIL
from harness.runner import RunOptions, run_scenario
from scenarios import KillAtCrashpoint, KillOnEffect, Launch, Scenario
from scenarios.catalog import ADD, ADD_THREE


def test_the_reference_engine_declares_isolated_kills_on_every_tier() -> None:
    for tier in ("embedded", "real"):
        assert ReferenceAdapter(tier).capabilities().isolated_kills


@pytest.mark.embedded
@pytest.mark.parametrize("fault", [
    KillAtCrashpoint("after_effect_before_checkpoint", "calc:add", 1),
    KillAtCrashpoint("while_waiting", "AddThreeNumbers.add_xy", 1),
    KillOnEffect(2),
], ids=["child_redo", "parent_while_waiting", "placed_kill_at_child_entry"])
def test_a_placed_kill_meets_exact_bounds_on_worker_processes(fault) -> None:
    scenario = Scenario("exact", (ADD_THREE,), (ADD,),
                        (Launch("A", "AddThreeNumbers", {"x": 1, "y": 2, "z": 3}),), (fault,))
    run = run_scenario(load_adapter("reference", "embedded"), scenario,
                       RunOptions(chaos_timeout=30.0, heal_timeout=10.0))
    assert run.status == "ran" and run.expectation is not None
    assert all(b.exact for b in run.expectation.effects.values())
    assert [f"{r.clause}: {r.sentence}" for r in run.results if r.verdict == FAIL] == []
