"""Server faults and declarations through the Temporal adapter (the CI smoke part's
second file, so the two run on the two xdist workers)."""

from __future__ import annotations

import pytest

from harness.conformance import run_conformance
from harness.errors import AdapterSpecError, Unsupported
from scenarios import by_name
from tests.temporal.conftest import my_workers, needs_temporal

pytestmark = [needs_temporal]


def _verdicts(run):
    return {r.clause: r.verdict for r in run.results}


@pytest.mark.slow
def test_a_dev_server_kill_and_restart_loses_no_workflow(server_stopped_after) -> None:
    from harness.adapters.temporal import make_adapter

    names = ("n1_excepted_process_never_runs_again", "c5_no_overlap_after_redelivery",
             "k6_caching_off_never_hits", "k6_workflows_never_cached")
    result = run_conformance(make_adapter, [by_name(name) for name in names])
    runs = {run.scenario.name: run for run in result.runs}
    assert not result.errors, [run.traceback for run in result.errors]
    # the server is killed (kill -9) and started on its port and SQLite file while the
    # workflow runs: the excepted launch stays excepted, the relaunch finishes
    n1 = runs["n1_excepted_process_never_runs_again"]
    assert _verdicts(n1)["N1"] == "pass" and _verdicts(n1)["L1"] == "pass"
    c5 = runs["c5_no_overlap_after_redelivery"]
    assert _verdicts(c5)["C5"] == "pass" and _verdicts(c5)["C1"] == "pass"
    # the connection drop is declared per fault: the rest of the scenario ran
    assert any("drop" in reason for reason in c5.reasons), c5.reasons
    assert _verdicts(runs["k6_caching_off_never_hits"])["K6"] == "pass"
    refused = runs["k6_workflows_never_cached"]
    assert refused.status == "aborted" and "no result cache" in " ".join(refused.reasons)
    assert not my_workers()


def test_caching_on_is_refused_and_the_cache_clauses_are_not_promised() -> None:
    from harness.adapters.temporal import TemporalAdapter

    adapter = TemporalAdapter()
    adapter.set_caching(False, (), ())  # caching off: what Temporal always does
    with pytest.raises(Unsupported, match="no result cache"):
        adapter.set_caching(True, (), ())
    promised = adapter.capabilities().promised
    assert "K1" not in promised and "N4" not in promised and "K6" in promised


def test_an_unknown_tier_is_a_one_line_error() -> None:
    from harness.adapters.temporal import TemporalAdapter

    with pytest.raises(AdapterSpecError, match="default-timeouts"):
        TemporalAdapter(tier="sticky")
