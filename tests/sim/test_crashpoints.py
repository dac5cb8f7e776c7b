"""A simulated kill at every crashpoint: the same process continues, nothing repeats.

Clauses C1..C6 on the simulation tier, with the effects read from the history (bodies
journal through ``record_effect``), and fencing (C5) checked under duplicated delivery,
lease expiry and broker and database restarts.
"""

from __future__ import annotations

from collections import Counter

import pytest

from reference_engine import CRASHPOINTS
from reference_engine.sim import FaultRates, Simulation, fencing_violations
from tests.sim.workflows import ThreeSteps

pytestmark = pytest.mark.simulation

STEPS = ("p.step1", "p.step2", "p.step3")
CALCS = ("p_double", "p_add")
# Where each crashpoint can land in ThreeSteps: after_claim names whole processes (and,
# since the executor knows the step only after control flow, ``Label.step`` too);
# while_waiting only follows steps that wait on a child.
TARGETS: dict[str, tuple[str, ...]] = {
    "after_claim": ("p", *STEPS, *CALCS),
    "before_effect": STEPS + CALCS,
    "after_effect_before_checkpoint": STEPS + CALCS,
    "after_checkpoint_before_ack": STEPS + CALCS,
    "while_waiting": STEPS[:2],
}
CASES = [(point, target) for point in CRASHPOINTS for target in TARGETS.get(point, ())]
FAULT_FREE_OUTPUTS = {"total": 7, "seen": [1, 2, 3]}
FAULT_FREE_COUNTS = Counter({"step1": 1, "step2": 1, "step3": 1, "double": 1, "add": 1})


def effects_by_name(sim: Simulation) -> Counter[str]:
    return Counter(e[3] for e in sim.history if e[0] == "effect")


def expected_counts(crashpoint: str, target: str) -> Counter[str]:
    """Killed after its effect but before its checkpoint, the effect runs once more (C3);
    anywhere else nothing is repeated (C2)."""
    expected = Counter(FAULT_FREE_COUNTS)
    if crashpoint == "after_effect_before_checkpoint":
        expected[target.rpartition(".")[2].removeprefix("p_")] += 1
    return expected


def test_every_crashpoint_has_targets_in_the_matrix() -> None:
    assert set(TARGETS) == set(CRASHPOINTS)


@pytest.mark.parametrize(("crashpoint", "target"), CASES, ids=[f"{p}-{t}" for p, t in CASES])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_kill_at_a_crashpoint_continues_the_same_process_without_repeating_effects(
    crashpoint: str, target: str, seed: int
) -> None:
    with Simulation(seed, workers=2) as sim:
        sim.arm(crashpoint, target, attempt=1)
        pid = sim.submit(ThreeSteps, label="p", x=2, y=3, tag="p")
        assert sim.run_until_quiet(max_steps=10_000)
        done = sim.get(pid)
        crashes = [e for e in sim.history if e[0] == "crash"]
        deaths = [e for e in sim.history if e[0] == "death"]

        assert crashes, f"{crashpoint} armed for {target} never fired"
        assert {(e[2], e[3]) for e in crashes} == {(crashpoint, target)}
        # after_claim on the whole workflow fires on attempt 1 of each of its step tasks.
        assert len(crashes) == (3 if target == "p" else 1) == len(deaths)
        assert (done.id, done.state, done.exit_status) == (pid, "finished", 0)  # C1
        assert done.outputs == FAULT_FREE_OUTPUTS  # C4
        assert effects_by_name(sim) == expected_counts(crashpoint, target)  # C2, C3
        assert fencing_violations(sim.history) == []  # C5
        kids = [sim.get(c) for c in done.children]
        assert sorted(k.parent_key or "" for k in kids) == ["a", "d"]  # C6
        assert sim.store.active_without_task() == [] and sim.store.task_count() == 0
        assert sim.crashes == []


def run_chaos(seed: int, faults: FaultRates) -> Simulation:
    sim = Simulation(seed, workers=3, faults=faults)
    for tag in ("p", "q"):
        sim.submit(ThreeSteps, label=tag, x=2, y=3, tag=tag)
    assert sim.run_until_quiet(), f"seed {seed} did not quiesce"
    return sim


def assert_fault_free_results(sim: Simulation, seed: int) -> None:
    for record in sim.list():
        if record.parent_id is None:
            assert (record.state, record.outputs) == ("finished", FAULT_FREE_OUTPUTS), seed
    assert fencing_violations(sim.history) == [], seed
    assert sim.crashes == [], seed


def test_duplicated_delivery_never_lets_two_workers_advance_one_process() -> None:
    faults = FaultRates(duplicate_delivery=0.15, lease_expiry=0.05, max_faults=6)
    fenced = 0
    for seed in range(150):
        with run_chaos(seed, faults) as sim:
            assert_fault_free_results(sim, seed)
            fenced += sum(1 for e in sim.history if e[0] == "write" and not e[5])
    assert fenced > 50, f"only {fenced} stale writes were fenced: the test lost its teeth"


def test_kills_and_database_restarts_anywhere_lose_only_uncommitted_work() -> None:
    faults = FaultRates(kill=0.06, db_restart=0.06, max_faults=5)
    lost = Counter[bool]()
    for seed in range(150):
        with run_chaos(seed, faults) as sim:
            assert_fault_free_results(sim, seed)
            lost.update(e[3] for e in sim.history if e[0] == "lost")
            counts = Counter((e[2], e[3]) for e in sim.history if e[0] == "effect")
            deaths = sum(1 for e in sim.history if e[0] == "death")
            assert all(n <= deaths + 1 for n in counts.values()), (seed, counts)  # C3
    assert lost[True] and lost[False], f"database restarts cut no commit in both ways: {lost}"


def test_broker_restarts_redeliver_but_each_delivery_runs_an_effect_at_most_once() -> None:
    """Returned deliveries make effects run again (at least once), never twice per claim."""
    faults = FaultRates(broker_restart=0.08, max_faults=5)
    repeated = 0
    for seed in range(150):
        with run_chaos(seed, faults) as sim:
            assert_fault_free_results(sim, seed)
            runs = Counter((e[2], e[3], e[4]) for e in sim.history if e[0] == "effect")
            assert max(runs.values()) == 1, (seed, runs)
            repeated += len(runs) - len({key[:2] for key in runs})
    assert repeated > 20, f"only {repeated} redelivered effects: the test lost its teeth"


def test_a_killed_worker_is_replaced_and_its_lease_released_at_once() -> None:
    with Simulation(0, workers=2) as sim:
        sim.arm("after_effect_before_checkpoint", "p.step2", attempt=1)
        sim.submit(ThreeSteps, label="p", x=2, y=3, tag="p")
        assert sim.run_until_quiet()
        assert len(sim.workers) == 2 and "w3" in sim.workers
        expired = [e for e in sim.history if e[0] == "expired"]
        assert expired == [], "continuation waited for a lease to expire"


def test_without_release_on_death_the_process_continues_after_its_lease_expires() -> None:
    with Simulation(0, workers=1, release_on_death=False) as sim:
        sim.arm("before_effect", "p.step2", attempt=1)
        pid = sim.submit(ThreeSteps, label="p", x=2, y=3, tag="p")
        assert sim.run_until_quiet()
        assert sim.get(pid).outputs == FAULT_FREE_OUTPUTS
        assert [e[0] for e in sim.history if e[0] == "expired"] == ["expired"]
