"""Catalog scenarios through the Temporal adapter on a real dev server, real SIGKILLs.

The smoke part CI runs (with ``test_smoke_server.py``, the server faults): each scenario
starts two worker processes on a task queue of its own on this test process's dev
server; kills land inside bodies and in the workflow task after a completed activity,
and Temporal resumes the same workflow run. Nothing may outlive the module: workers,
the dev server and its folder.
"""

from __future__ import annotations

import pytest

from harness.conformance import run_conformance
from scenarios import by_name
from tests.temporal.conftest import my_workers, needs_temporal

pytestmark = [needs_temporal]

SMOKE = ("c3_in_flight_effect_at_most_kills_plus_one", "c2_checkpointed_effect_not_repeated",
         "n2_relaunch_makes_new_id", "p1_kill_propagates_to_children")


def _verdicts(run):
    return {r.clause: r.verdict for r in run.results}


@pytest.mark.slow
def test_worker_kills_resume_the_same_run_and_verdicts_hold(server_stopped_after) -> None:
    from harness.adapters.temporal import make_adapter

    result = run_conformance(make_adapter, [by_name(name) for name in SMOKE])
    runs = {run.scenario.name: run for run in result.runs}
    assert not result.errors, [run.traceback for run in result.errors]
    # two SIGKILLs inside step s2: the activity is retried (heartbeat timeout) on a live
    # worker, in the same workflow run; at most kills + 1 executions
    c3 = _verdicts(runs["c3_in_flight_effect_at_most_kills_plus_one"])
    assert c3["C3"] == c3["C1"] == c3["C4"] == "pass"
    # a kill in the workflow task after s2's completion is in the history: s2 not redone
    c2 = _verdicts(runs["c2_checkpointed_effect_not_repeated"])
    assert c2["C2"] == c2["C1"] == "pass"
    assert _verdicts(runs["n2_relaunch_makes_new_id"])["N2"] == "pass"
    p1 = _verdicts(runs["p1_kill_propagates_to_children"])
    assert p1["P1"] == p1["L1"] == "pass"
    assert not my_workers(), "a worker outlived its scenario"
