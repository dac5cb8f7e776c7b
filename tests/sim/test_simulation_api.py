"""The ``Simulation`` API: validation at the entry points, manual faults, coverage, exports."""

from __future__ import annotations

import gc
import random
import threading
import weakref

import pytest

import reference_engine.sim as sim_package
from reference_engine import CRASHPOINTS, InvalidInputsError
from reference_engine.sim import (
    FaultRates,
    InvalidSimulationArgumentError,
    KillCoverage,
    Simulation,
    fencing_violations,
    in_simulation,
    record_effect,
)
from reference_engine.sim.workload import PlanWorkflow, count_steps, expected_acc, random_plan
from tests.sim.workflows import AsksForFaults, ThreeSteps

pytestmark = pytest.mark.simulation


def test_the_sim_package_declares_its_exports_sorted_and_all_present() -> None:
    assert sim_package.__all__ == sorted(sim_package.__all__)
    assert all(hasattr(sim_package, name) for name in sim_package.__all__)
    assert {"Simulation", "FaultRates", "KillCoverage", "record_effect"} <= set(
        sim_package.__all__)


@pytest.mark.parametrize(("kwargs", "name"), [
    ({"seed": "1"}, "seed"),
    ({"seed": 1, "workers": 0}, "workers"),
    ({"seed": 1, "workers": 2.0}, "workers"),
    ({"seed": 1, "store": "postgres"}, "store"),
    ({"seed": 1, "lease_seconds": 0}, "lease_seconds"),
    ({"seed": 1, "faults": {"kill": 0.1}}, "faults"),
])
def test_bad_simulation_arguments_are_refused_with_the_argument_named(
    kwargs: dict[str, object], name: str
) -> None:
    with pytest.raises(InvalidSimulationArgumentError) as caught:
        Simulation(**kwargs)  # type: ignore[arg-type]  # deliberately wrong
    assert caught.value.name == name and name in str(caught.value)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(("kwargs", "name"), [
    ({"kill": 1.5}, "kill"),
    ({"lease_expiry": -0.1}, "lease_expiry"),
    ({"max_faults": -1}, "max_faults"),
    ({"kill": 0.6, "db_restart": 0.6}, "sum of fault rates"),
])
def test_bad_fault_rates_are_refused_with_the_rate_named(
    kwargs: dict[str, float], name: str
) -> None:
    with pytest.raises(InvalidSimulationArgumentError) as caught:
        FaultRates(**kwargs)  # type: ignore[arg-type]
    assert caught.value.name == name


def test_submit_validates_inputs_as_the_engine_does() -> None:
    with Simulation(0) as sim, pytest.raises(InvalidInputsError, match="missing input 'y'"):
        sim.submit(ThreeSteps, x=1, tag="p")


def test_arm_refuses_an_unknown_crashpoint_and_names_the_known_ones() -> None:
    with Simulation(0) as sim, pytest.raises(ValueError, match="before_effect"):
        sim.arm("somewhere", "p.step1")


def test_run_until_quiet_reports_an_exhausted_step_budget() -> None:
    with Simulation(0) as sim:
        pid = sim.submit(ThreeSteps, label="p", x=2, y=3, tag="p")
        assert sim.run_until_quiet(max_steps=5) is False
        assert not sim.get(pid).is_terminal
        assert sim.run_until_quiet() is True and sim.get(pid).state == "finished"


def test_a_crashpoint_armed_for_every_attempt_is_not_quiet_and_says_so() -> None:
    with Simulation(0) as sim:
        sim.arm("before_effect", "p.step1", attempt=None)
        pid = sim.submit(ThreeSteps, label="p", x=2, y=3, tag="p")
        assert sim.run_until_quiet(max_steps=40) is False
        assert sim.get(pid).state == "running"
        sim.disarm_all()
        assert sim.run_until_quiet() and sim.get(pid).state == "finished"


def test_a_crashpoint_armed_for_every_attempt_ends_in_quarantine_not_a_loop() -> None:
    """A step that kills its worker on every claim is a crash loop: after MAX_CLAIMS
    claims the process is excepted with the reason (issue 12), never retried forever."""
    with Simulation(0) as sim:
        sim.arm("before_effect", "p.step1", attempt=None)
        pid = sim.submit(ThreeSteps, label="p", x=2, y=3, tag="p")
        assert sim.run_until_quiet(max_steps=2_000) is True
        view = sim.get(pid)
        assert view.state == "excepted" and "quarantined" in view.message


@pytest.mark.parametrize("operation", ["kill_worker", "restart_database", "restart_broker",
                                       "expire_leases", "duplicate_delivery"])
def test_manual_faults_between_runs_keep_results_and_fencing(operation: str) -> None:
    for seed in range(20):
        with Simulation(seed, workers=2) as sim:
            pid = sim.submit(ThreeSteps, label="p", x=2, y=3, tag="p")
            for budget in (7, 11, 13):
                sim.run_until_quiet(max_steps=budget)
                getattr(sim, operation)()
            assert sim.run_until_quiet()
            assert sim.get(pid).outputs == {"total": 7, "seen": [1, 2, 3]}
            assert fencing_violations(sim.history) == []
            assert sim.crashes == []


def test_kill_worker_replaces_the_worker_with_a_new_owner() -> None:
    with Simulation(0, workers=2) as sim:
        owner = sim.kill_worker(1)
        assert owner == "w2" and sim.workers == ("w1", "w3")
        with pytest.raises(InvalidSimulationArgumentError):
            sim.kill_worker(5)


def test_coverage_counts_faults_per_crashpoint_step_kind_and_fault_kind() -> None:
    total = KillCoverage()
    new_cells = 0
    for seed in range(200):
        with Simulation(seed, faults=FaultRates.chaos(0.05)) as sim:
            sim.arm("while_waiting", "p.step1")
            sim.submit(ThreeSteps, label="p", x=2, y=3, tag="p")
            sim.run_until_quiet()
            new_cells += total.merge(sim.coverage)
    assert new_cells == len(total.counts)
    # Attempt 1 fires unless a random fault ended that attempt before it got there.
    assert 20 < total.counts[("while_waiting", "workflow_step", "armed_kill")] <= 200
    assert total.counts[("before_effect", "calculation", "kill")] > 0
    table = total.table()
    assert len(table) == (len(CRASHPOINTS) * 2 - 1) * 5  # a calculation never waits
    assert {row[0] for row in table} == set(CRASHPOINTS)
    assert len(total.missing()) == sum(1 for row in table if row[3] == 0)
    assert "cells covered" in total.format()


def test_a_custom_step_kind_names_the_coverage_rows() -> None:
    def kind(process: object, step: str | None) -> str:
        return f"kind:{step}"

    with Simulation(0, step_kind=kind) as sim:  # type: ignore[arg-type]
        sim.arm("before_effect", "p.step2")
        sim.submit(ThreeSteps, label="p", x=2, y=3, tag="p")
        sim.run_until_quiet()
        assert dict(sim.coverage.counts) == {("before_effect", "kind:step2", "armed_kill"): 1}


def test_record_effect_outside_a_simulation_records_nothing() -> None:
    assert record_effect("anything") is False
    assert in_simulation() is False


def test_random_plans_stay_within_the_step_bound_and_compute_their_expected_result() -> None:
    for seed in range(40):
        rng = random.Random(seed)
        plan = random_plan(rng, max_steps=20)
        assert 2 <= count_steps(plan) <= 20
        with Simulation(seed, workers=3, faults=FaultRates.chaos(0.03)) as sim:
            pid = sim.submit(PlanWorkflow, plan=plan, acc=0)
            assert sim.run_until_quiet()
            assert sim.get(pid).outputs == {"acc": expected_acc(plan)}
            steps = sum(1 for e in sim.history if e[0] == "effect" and e[3] != "plan_add")
            assert steps >= count_steps(plan)  # repeats only add


def test_launch_takes_inputs_whose_names_clash_with_submit_parameters() -> None:
    with Simulation(0) as sim:
        pid = sim.launch("tests.sim.workflows:ThreeSteps", "p", {"x": 2, "y": 3, "tag": "p"})
        assert sim.run_until_quiet() and sim.get(pid).label == "p"
        with pytest.raises(InvalidInputsError):
            sim.launch("tests.sim.workflows:ThreeSteps", "p", {"x": 2})


def test_disarm_removes_one_crashpoint_and_target_and_keeps_the_others() -> None:
    with Simulation(0) as sim:
        sim.arm("before_effect", "p.step1", 1)
        sim.arm("before_effect", "p.step2", None)
        sim.arm("while_waiting", "p.step1", 2)
        sim.disarm("before_effect", "p.step2")
        assert sim.store.armed() == [("before_effect", "p.step1", 1),
                                     ("while_waiting", "p.step1", 2)]


@pytest.mark.parametrize("kind", ["kill", "duplicate_delivery", "lease_expiry",
                                  "db_restart", "broker_restart"])
def test_a_body_can_queue_a_fault_that_lands_before_its_checkpoint(kind: str) -> None:
    for seed in range(10):
        with Simulation(seed, workers=2) as sim:
            pid = sim.submit(AsksForFaults, label="a", fault=kind)
            assert sim.run_until_quiet()
            assert sim.get(pid).outputs == {"result": 8}
            faults = [e for e in sim.history if e[0] == "fault"]
            assert faults and faults[0][1] == kind
            if kind == "kill":  # killed between effect and checkpoint: the step runs again
                assert faults[0][3] == "after_effect_before_checkpoint"
                assert sim.effect_counts()[(pid, "hit")] == 2
            assert fencing_violations(sim.history) == []


def test_queue_fault_refuses_an_unknown_kind() -> None:
    with Simulation(0) as sim, pytest.raises(InvalidSimulationArgumentError, match="kind"):
        sim.queue_fault("meteor")


def test_a_closed_simulation_is_freed_even_when_stopped_mid_run() -> None:
    """Greenlets are invisible to the cycle collector: close() must free everything."""
    refs = []
    for seed in range(30):
        with Simulation(seed, workers=3, faults=FaultRates.chaos(0.05)) as sim:
            sim.submit(ThreeSteps, label="p", x=2, y=3, tag="p")
            sim.run_until_quiet(max_steps=40 + seed)  # some stop mid-run
            refs.append(weakref.ref(sim))
    del sim
    gc.collect()
    assert sum(ref() is not None for ref in refs) == 0


def test_a_simulation_runs_in_another_thread_too() -> None:
    results: list[object] = []

    def body() -> None:
        with Simulation(1) as sim:
            pid = sim.submit(ThreeSteps, label="p", x=2, y=3, tag="p")
            sim.run_until_quiet()
            results.append(sim.get(pid).outputs)

    thread = threading.Thread(target=body)
    thread.start()
    thread.join()
    assert results == [{"total": 7, "seen": [1, 2, 3]}]


class _InterruptedOnce(ThreeSteps):
    """Ctrl-C arrives while a body runs inside a simulated worker."""

    def step1(self) -> None:
        raise KeyboardInterrupt


def test_ctrl_c_inside_a_body_reaches_the_caller_and_close_does_not_replace_it() -> None:
    sim = Simulation(seed=3, workers=2)
    sim.submit(_InterruptedOnce, label="p", x=1, y=2, tag="p")
    with pytest.raises(KeyboardInterrupt):
        sim.run_until_quiet()
    sim.close()  # raised _Retire from a dead greenlet before the fix
