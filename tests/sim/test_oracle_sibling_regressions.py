"""Fuzz witnesses of false alarms on the correct engine replay clean on the sim tier.

Both are two calls of one calculation type in one step with a fault on that type's
attempt 1: the sim's scheduler began the second call first, so the fault landed there,
while the oracle once gave attempt 1 to the first call in call order.

- ``sibling_redo_kill_hypothesis_50_8``: ``wfconform fuzz --tier sim --generator
  hypothesis --seed 1``, shrunk; failed C4 ("ran 1 times ... allowed 2..3").
- ``sibling_raise_generated_3135``: ``wfconform fuzz --tier sim --seed 7`` (and
  ``--seed 3135``), shrunk; failed N4, K1, K4 and K5.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.adapters import load_adapter
from harness.checks.result import FAIL
from harness.runner import RunOptions, run_scenario
from scenarios.scenario import Scenario

pytestmark = pytest.mark.simulation

DATA = Path(__file__).resolve().parent / "data"
WITNESSES = ("sibling_redo_kill_hypothesis_50_8", "sibling_raise_generated_3135")


def _scenario(name: str) -> Scenario:
    return Scenario.from_json((DATA / f"{name}.json").read_text())


@pytest.mark.parametrize("name", WITNESSES)
def test_a_fault_on_the_attempt_a_later_sibling_began_is_no_false_alarm(name: str) -> None:
    run = run_scenario(load_adapter("reference", "sim"), _scenario(name),
                       RunOptions(chaos_timeout=10.0, heal_timeout=5.0))
    assert run.status == "ran" and run.history is not None
    # still a witness: the sim began call 1 first, so attempt 1 (the fault) was call 1's
    first = [line for line in run.history.of("effect")
             if line["attempt"] == 1 and line["target"].startswith("calc:")]
    assert len(first) == 1 and "/1:" in first[0]["key"], first
    failed = [f"{r.clause}: {r.sentence}" for r in run.results if r.verdict == FAIL]
    assert failed == []
    assert run.expectation is not None and not run.expectation.undecided
