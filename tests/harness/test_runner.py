"""Running one scenario: isolation, cleanup (also on Ctrl-C), faults, liveness, replay."""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

import pytest

from harness.adapter import Handle
from harness.adapters.reference import ReferenceAdapter
from harness.checks import FAIL, PASS, UNKNOWN
from harness.runner import RunOptions, ScenarioRun, run_scenario
from scenarios.catalog import by_name
from scenarios.faults import KillOnEffect
from scenarios.plan import Launch
from scenarios.scenario import Scenario
from tests.harness.broken import LostTaskAdapter

pytestmark = pytest.mark.embedded


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        return stat.read().split()[2] != "Z"


def _workers(run: ScenarioRun) -> set[int]:
    assert run.history is not None
    return {int(line["worker"]) for line in run.history.of("effect")}


def test_a_scenario_with_kills_passes_and_leaves_no_process_or_file(tmp_path: Path) -> None:
    run = run_scenario(ReferenceAdapter, by_name("c3_in_flight_effect_at_most_kills_plus_one"),
                       RunOptions(workdir_root=str(tmp_path)))
    assert run.status == "ran" and not run.failed()
    assert {r.clause for r in run.results if r.verdict == PASS} >= {"C1", "C2", "C3", "C4"}
    assert len(_workers(run)) >= 3, "two workers were killed and replaced"
    assert not any(_alive(pid) for pid in _workers(run))
    assert list(tmp_path.iterdir()) == []


def test_a_scenario_needing_a_broker_runs_without_it_and_leaves_nothing(
        tmp_path: Path) -> None:
    run = run_scenario(ReferenceAdapter, by_name("c5_no_overlap_after_redelivery"),
                       RunOptions(workdir_root=str(tmp_path)))
    assert run.status == "ran" and not run.failed()
    assert any("restart broker" in reason and "skipped" in reason for reason in run.reasons)
    assert [r.verdict for r in run.results if r.clause == "C5"] == [UNKNOWN]
    assert list(tmp_path.iterdir()) == []


def test_a_plan_operation_the_engine_cannot_do_makes_the_scenario_not_applicable(
        tmp_path: Path) -> None:
    class NoRelaunch(ReferenceAdapter):
        def supports(self, operation: str) -> bool:
            return operation != "relaunch" and super().supports(operation)

    run = run_scenario(NoRelaunch, by_name("add_three_numbers_relaunch_uncached"),
                       RunOptions(workdir_root=str(tmp_path)))
    assert run.status == "not_applicable" and run.history is None
    assert any("cannot relaunch" in reason for reason in run.reasons), run.reasons
    assert list(tmp_path.iterdir()) == []


def test_a_kill_at_a_journal_entry_lands_while_that_body_waits(tmp_path: Path) -> None:
    base = by_name("c2_checkpointed_effect_not_repeated")
    scenario = Scenario("kill_on_entry_two", base.workflows, (),
                        (Launch("A", "Steps", {"x": 7}),), (KillOnEffect(2),))
    for _ in range(2):  # deterministic: the same landing every run
        run = run_scenario(ReferenceAdapter, scenario, RunOptions(workdir_root=str(tmp_path)))
        assert run.history is not None and not run.failed()
        (fired,) = [f for f in run.history.of("fault") if f.get("status") == "fired"]
        assert (fired["fault"], fired["key"], fired["entry"]) == ("kill_on_effect", "A/s2", 2)
        keys = [line["key"] for line in run.history.of("effect")]
        assert keys == ["A/s1", "A/s2", "A/s2", "A/s3"]


class _Interrupting(ReferenceAdapter):
    """Presses Ctrl-C in the middle of the first wait, after the workers started."""

    pids: ClassVar[list[int]] = []

    def wait(self, handle: Handle, timeout: float) -> str | None:
        assert self.daemon is not None
        self.daemon.wait_for_workers()
        _Interrupting.pids = self.daemon.worker_pids()
        raise KeyboardInterrupt


def test_ctrl_c_mid_run_stops_every_worker_and_removes_the_work_directory(
        tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt):
        run_scenario(_Interrupting, by_name("c2_checkpointed_effect_not_repeated"),
                     RunOptions(workdir_root=str(tmp_path)))
    assert len(_Interrupting.pids) == 2
    assert not any(_alive(pid) for pid in _Interrupting.pids)
    assert list(tmp_path.iterdir()) == []


def test_a_lost_task_fails_l1_with_a_classified_reason(tmp_path: Path) -> None:
    run = run_scenario(LostTaskAdapter, by_name("k6_workflows_never_cached"),
                       RunOptions(chaos_timeout=1.0, heal_timeout=1.0,
                                  workdir_root=str(tmp_path)))
    (l1,) = [r for r in run.results if r.clause == "L1"]
    assert l1.verdict == FAIL
    assert "process 1 (A) is still created" in l1.sentence and "no task" in l1.sentence
    assert list(tmp_path.iterdir()) == []


def test_replaying_a_scenario_gives_the_same_verdicts(tmp_path: Path) -> None:
    scenario = by_name("c6_children_awaited_not_relaunched")
    options = RunOptions(workdir_root=str(tmp_path))
    first, second = (run_scenario(ReferenceAdapter, scenario, options) for _ in range(2))
    assert [(r.clause, r.verdict, r.exercised) for r in first.results] == \
        [(r.clause, r.verdict, r.exercised) for r in second.results]


def test_replaying_a_failure_gives_the_same_verdict_and_sentence(tmp_path: Path) -> None:
    scenario = by_name("k6_workflows_never_cached")
    options = RunOptions(chaos_timeout=0.5, heal_timeout=0.5, workdir_root=str(tmp_path))
    first, second = (run_scenario(LostTaskAdapter, scenario, options) for _ in range(2))
    assert [(r.clause, r.verdict, r.sentence) for r in first.failed()] == \
        [(r.clause, r.verdict, r.sentence) for r in second.failed()]
    assert first.failed()


class _Crashing(ReferenceAdapter):
    def launch(self, label: str, workflow: str, inputs: object) -> Handle:  # type: ignore[override]  # the test double only raises
        raise RuntimeError("engine fell over")


def test_an_adapter_that_crashes_makes_every_clause_unknown_not_pass(tmp_path: Path) -> None:
    run = run_scenario(_Crashing, by_name("k6_workflows_never_cached"),
                       RunOptions(workdir_root=str(tmp_path)))
    assert run.status == "error"
    assert {r.verdict for r in run.results} == {UNKNOWN}
    assert "RuntimeError: engine fell over" in run.results[0].sentence
    assert list(tmp_path.iterdir()) == []
