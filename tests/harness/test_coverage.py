"""Kill-point coverage: crashpoint x step kind x fault kind, aggregated over sim runs."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from harness.adapters import load_adapter
from harness.coverage import CoverageCollector, CoverageTable, step_kind_table
from harness.runner import run_scenario
from scenarios.catalog import by_name

pytestmark = pytest.mark.simulation


def test_merging_counts_reports_only_cells_hit_for_the_first_time() -> None:
    table = CoverageTable()
    run = {("before_effect", "compute", "kill"): 2, ("after_claim", "launch", "kill"): 1}
    assert table.merge(run) == 2
    assert table.merge(run) == 0
    assert table.merge({("before_effect", "compute", "armed_kill"): 1,
                        ("after_claim", "finish", "kill"): 0}) == 1
    assert table.counts[("before_effect", "compute", "kill")] == 4
    assert ("after_claim", "finish", "kill") in table.missing()


def test_the_grid_leaves_out_cells_no_fault_can_reach() -> None:
    grid = CoverageTable().grid()
    assert ("while_waiting", "launch", "kill") in grid
    assert ("while_waiting", "calculation", "kill") not in grid
    assert ("before_effect", "calculation", "broker_restart") in grid


def test_the_text_table_marks_hits_and_misses_and_ends_with_the_covered_count() -> None:
    table = CoverageTable()
    table.merge({("before_effect", "compute", "kill"): 3})
    text = table.format(points=("before_effect",), step_kinds=("compute", "calculation"),
                        fault_kinds=("kill", "armed_kill"))
    lines = text.splitlines()
    assert lines[0].split()[-2:] == ["kill", "armed_kill"]
    assert lines[1].split()[-2:] == ["3", "-"] and lines[1].startswith("before_effect / compute")
    assert lines[2].split()[-2:] == ["-", "-"]
    assert lines[-1] == "1/4 cells covered"


def test_engine_steps_map_to_the_scenarios_step_kinds() -> None:
    kind = step_kind_table(by_name("c6_children_awaited_not_relaunched"))
    workflow = SimpleNamespace(kind="workflow", label="A@Fan")
    assert kind(workflow, "s_fan") == "launch"
    assert kind(workflow, "k_fan") == "collect"
    assert kind(workflow, "finish") == "finish"
    assert kind(SimpleNamespace(kind="calculation", label="A/fan/0:add"), None) == "calculation"
    assert kind(None, None) == "idle"


def test_sim_runs_fill_the_cells_their_faults_landed_in() -> None:
    collector = CoverageCollector(load_adapter("reference", "sim"))
    run_scenario(collector, by_name("k1_hit_executes_no_effect"))
    assert collector.collect() == 0  # no fault, no cell
    run_scenario(collector, by_name("c1_kill_while_waiting_keeps_id"))
    assert collector.collect() == 1
    run_scenario(collector, by_name("c3_in_flight_effect_at_most_kills_plus_one"))
    assert collector.collect() == 1
    run_scenario(collector, by_name("l1_every_launch_terminates_after_faults"))
    assert collector.collect() >= 1
    counts = collector.table.counts
    assert counts[("while_waiting", "launch", "armed_kill")] == 1
    assert counts[("after_effect_before_checkpoint", "compute", "armed_kill")] == 2
    assert counts[("after_effect_before_checkpoint", "calculation", "kill")] == 1
    assert collector.table.format().splitlines()[-1].endswith("cells covered")
