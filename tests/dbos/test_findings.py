"""DBOS's semantics as the harness finds them: new instances, no cache, and the two
findings of docs/results/dbos-3.md (a changed application version orphans a killed
workflow; a reused workflow id returns the stored result whatever the inputs)."""

from __future__ import annotations

import pytest

from harness.checks.result import FAIL, PASS
from harness.errors import AdapterSpecError, Unsupported
from harness.runner import RunOptions, ScenarioRun, run_scenario
from scenarios.catalog import by_name

from .conftest import needs_dbos

pytestmark = [needs_dbos]


def _run(name: str, tier: str = "sqlite", chaos: float = 60.0, heal: float = 30.0
         ) -> ScenarioRun:
    from harness.adapters.dbos import DbosAdapter

    run = run_scenario(lambda: DbosAdapter(tier=tier), by_name(name),
                       RunOptions(chaos_timeout=chaos, heal_timeout=heal))
    assert run.status in ("ran", "aborted"), (run.reasons, run.traceback)
    return run


def _result(run: ScenarioRun, clause: str):  # type: ignore[no-untyped-def]  # ClauseResult
    return next(r for r in run.results if r.clause == clause)


@pytest.mark.slow
@pytest.mark.embedded
def test_relaunch_is_a_new_workflow_id_that_starts_from_the_first_step() -> None:
    run = _run("n2_relaunch_makes_new_id")
    assert {_result(run, c).verdict for c in ("N1", "N2", "N3", "L2")} == {PASS}, run.results


@pytest.mark.slow
@pytest.mark.embedded
def test_a_worker_restarted_under_another_application_version_orphans_the_killed_workflow(
        ) -> None:
    """DBOS recovers a PENDING workflow only in a worker with its executor id *and* its
    application version: the killed workflow never continues (C1, L1 fail, declared)."""
    run = _run("c2_checkpointed_effect_not_repeated", tier="version-change", chaos=15.0,
               heal=5.0)
    c1, l1 = _result(run, "C1"), _result(run, "L1")
    assert c1.verdict == FAIL and l1.verdict == FAIL, run.results
    assert "orphaned" in l1.sentence and "wfc-v1" in l1.sentence, l1.sentence


@pytest.mark.slow
@pytest.mark.embedded
def test_a_reused_workflow_id_returns_the_stored_outcome_whatever_the_inputs() -> None:
    """Launch B (x=2) takes the id launch A (x=1, killed) had: DBOS returns A's outcome."""
    run = _run("n1_killed_process_never_runs_again", tier="reused-ids")
    c4 = _result(run, "C4")
    assert c4.verdict == FAIL and "B" in c4.sentence, c4.sentence


def test_turning_caching_on_is_declared_unsupported_not_faked() -> None:
    from harness.adapters.dbos import DbosAdapter

    adapter = DbosAdapter()
    adapter.set_caching(False, (), ())  # caching off: what DBOS always does
    with pytest.raises(Unsupported, match="no result cache"):
        adapter.set_caching(True, (), ())
    caps = adapter.capabilities()
    assert "K1" not in caps.promised and "K6" in caps.promised and "C2" in caps.promised


def test_faults_dbos_cannot_take_are_declared_per_fault() -> None:
    from harness.adapters.dbos import DbosAdapter

    adapter = DbosAdapter()
    assert not adapter.supports("restart_broker") and adapter.supports("kill_process")
    with pytest.raises(Unsupported, match="no message broker"):
        adapter.restart_broker(hard=True)


def test_an_unknown_tier_is_a_one_line_error() -> None:
    from harness.adapters.dbos import DbosAdapter

    with pytest.raises(AdapterSpecError, match="version-change"):
        DbosAdapter(tier="mysql")
