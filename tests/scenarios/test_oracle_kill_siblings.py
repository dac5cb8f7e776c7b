"""The oracle's armed kill request floats over a group of concurrent sibling calls."""

from __future__ import annotations

from pathlib import Path

from harness.adapters import load_adapter
from scenarios.oracle import expect
from scenarios.scenario import Scenario

WITNESS = (Path(__file__).parents[1] / "services" / "data"
           / "n1_kill_after_claim_generated_3708575520711287220.json")


def test_every_sibling_of_the_group_the_kill_lands_in_may_not_run() -> None:
    """Launch B is killed at its second entry; its step's two digest calls run in any
    order, so whichever writes that entry, the other may never begin: both 0..1. Taken in
    written order, the first was "exactly 1" and a correct engine failed C4 when the
    second sibling wrote the entry (a real-tier campaign, seed 2026120410). Launch C has
    no kill request: its calls stay exact."""
    scenario = Scenario.from_json(WITNESS.read_text())
    effects = expect(scenario, load_adapter("reference", "sim")().capabilities()).effects
    assert [(effects[k].min, effects[k].max) for k in
            ("B/calc5", "B/calc5/0:digest", "B/calc5/1:digest")] == [(1, 1), (0, 1), (0, 1)]
    assert [(effects[k].min, effects[k].max) for k in
            ("C/calc5/0:digest", "C/calc5/1:digest")] == [(1, 1), (1, 1)]
