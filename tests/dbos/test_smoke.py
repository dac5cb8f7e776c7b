"""CI smoke: catalog scenarios through the DBOS adapter on SQLite, with real verdicts.

Each scenario gets its own DBOS system database (a SQLite file in the run's folder) and
two worker processes with pinned executor ids; kills are real SIGKILLs of a worker, and
the adapter restarts it with the same executor id, whose ``DBOS.launch()`` recovers the
killed workflows under their ids.
"""

from __future__ import annotations

import pytest

from harness.checks.result import PASS
from harness.runner import RunOptions, ScenarioRun, run_scenario
from scenarios.catalog import by_name

from .conftest import needs_dbos

pytestmark = [needs_dbos, pytest.mark.slow, pytest.mark.embedded]


def _run(name: str, tier: str = "sqlite", **options: float) -> ScenarioRun:
    from harness.adapters.dbos import DbosAdapter

    run = run_scenario(lambda: DbosAdapter(tier=tier), by_name(name),
                       RunOptions(**{"chaos_timeout": 60.0, "heal_timeout": 30.0, **options}))
    assert run.status in ("ran", "aborted"), (run.reasons, run.traceback)
    return run


def _verdicts(run: ScenarioRun) -> dict[str, str]:
    return {r.clause: r.verdict for r in run.results}


def test_killed_worker_resumes_the_same_workflow_without_redoing_completed_steps() -> None:
    """A kill after step s2's output was recorded (emulated after_checkpoint_before_ack):
    the restarted executor recovers the workflow under its id; s1 and s2 are replayed
    from DBOS's records, only s3 runs."""
    run = _run("c2_checkpointed_effect_not_repeated")
    verdicts = _verdicts(run)
    assert {verdicts[c] for c in ("C1", "C2", "C4", "L1", "P2")} == {PASS}, run.results
    assert run.history is not None
    effects = [line for line in run.history.of("effect")]
    assert [e["key"] for e in effects] == ["A/s1", "A/s2", "A/s3"]
    # DBOS's own dispatch count: s3 ran in the second dispatch, in another worker process
    assert effects[2]["engine_attempt"] == effects[0]["engine_attempt"] + 1
    assert effects[2]["worker"] != effects[0]["worker"]
    assert len({e["process"] for e in effects}) == 1


def test_kills_inside_a_step_rerun_only_that_step_at_most_kills_plus_one_times() -> None:
    run = _run("c3_in_flight_effect_at_most_kills_plus_one")
    verdicts = _verdicts(run)
    assert {verdicts[c] for c in ("C1", "C3", "C4", "C5")} == {PASS}, run.results
