"""The variant stale_commit_after_takeover is caught by C5, and only through the engine record.

Its fence checks only that the task exists and the process runs: a worker whose task
was taken over (lease expiry, duplicate delivery) commits its stale step. Nothing
overlaps in the journal, so with the engine's record hidden the same run passes C5.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.adapters import load_adapter
from harness.adapters.broken_reference_sim import BrokenSimReferenceAdapter
from harness.checks.result import FAIL, PASS, ClauseResult
from harness.runner import ScenarioRun, run_scenario
from harness.selftest import check_variant
from scenarios.catalog import by_name

pytestmark = pytest.mark.simulation

NAME = "stale_commit_after_takeover"
SCENARIO = "c5_stale_commit_refused_after_takeover"


class _NoRecord(BrokenSimReferenceAdapter):
    """The broken engine behind an adapter that offers no record of claims and commits."""

    def supports(self, operation: str) -> bool:
        return operation != "ownership" and super().supports(operation)


def _c5(run: ScenarioRun) -> ClauseResult:
    return {r.clause: r for r in run.results}["C5"]


def test_the_variant_is_caught_by_c5_on_sim_within_30_s_with_a_short_witness(
        tmp_path: Path) -> None:
    outcome = check_variant(NAME, tmp_path, shrink_time=10, tier="sim", detect_budget=30)
    assert outcome.caught, outcome.line()
    assert outcome.failure is not None and outcome.failure.clause == "C5"
    result = _c5(outcome.failure.original)
    assert result.verdict == FAIL
    assert "a worker whose task was taken over advanced it" in result.sentence
    assert 1 <= len(result.witness) <= 6


def test_with_the_engine_record_hidden_the_same_bug_passes_c5() -> None:
    scenario = by_name(SCENARIO)
    hidden = run_scenario(lambda: _NoRecord(NAME), scenario)
    assert _c5(hidden).verdict == PASS
    assert "journal only" in _c5(hidden).sentence
    shown = run_scenario(load_adapter(f"harness.adapters.broken_reference:{NAME}", "sim"),
                         scenario)
    assert _c5(shown).verdict == FAIL


def test_the_correct_engine_passes_the_same_scenario_on_sim() -> None:
    run = run_scenario(load_adapter("reference", "sim"), by_name(SCENARIO))
    assert run.status == "ran" and run.failed() == ()
    assert _c5(run).verdict == PASS
