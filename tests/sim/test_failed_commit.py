"""A refused checkpoint commit on the simulation tier: a failed attempt, redelivered.

The ``fail_commit`` fault point makes the store refuse the transaction after the effect
(state, checkpoint, children and task completion all roll back). The worker lives; the
executor gives the task back and the next attempt runs the effect again, as after a
kill at ``after_effect_before_checkpoint``, and the outputs are the fault-free ones.
"""

from __future__ import annotations

from collections import Counter

import pytest

from reference_engine import CommitRefusedError
from reference_engine.sim import SimStore, Simulation, fencing_violations
from tests.sim.workflows import ThreeSteps

pytestmark = pytest.mark.simulation

TARGETS = ("p.step1", "p.step2", "p.step3", "p_double", "p_add")
FAULT_FREE_OUTPUTS = {"total": 7, "seen": [1, 2, 3]}
FAULT_FREE_COUNTS = Counter({"step1": 1, "step2": 1, "step3": 1, "double": 1, "add": 1})


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("seed", [0, 1])
def test_a_refused_commit_redelivers_the_task_and_runs_the_effect_once_more(
    target: str, seed: int
) -> None:
    with Simulation(seed, workers=2) as sim:
        sim.arm("fail_commit", target, attempt=1)
        pid = sim.submit(ThreeSteps, label="p", x=2, y=3, tag="p")
        assert sim.run_until_quiet(max_steps=10_000)
        done = sim.get(pid)
        refused = [e["state"] for e in sim.store.events()
                   if e["state"].startswith("commit_refused:")]
        assert refused == [f"commit_refused:{target}"]
        assert [e for e in sim.history if e[0] in ("crash", "death")] == []  # nobody died
        assert (done.id, done.state, done.exit_status) == (pid, "finished", 0)
        assert done.outputs == FAULT_FREE_OUTPUTS
        expected = Counter(FAULT_FREE_COUNTS)
        expected[target.rpartition(".")[2].removeprefix("p_")] += 1
        assert Counter(e[3] for e in sim.history if e[0] == "effect") == expected
        assert fencing_violations(sim.history) == []
        assert sorted(sim.get(c).parent_key or "" for c in done.children) == ["a", "d"]
        assert sim.store.active_without_task() == [] and sim.store.task_count() == 0


def test_an_unarmed_fault_point_changes_nothing() -> None:
    with Simulation(3, workers=2) as sim:
        sim.arm("fail_commit", "p.step2", attempt=2)  # attempt 2 never comes
        pid = sim.submit(ThreeSteps, label="p", x=2, y=3, tag="p")
        assert sim.run_until_quiet(max_steps=10_000)
        assert sim.get(pid).outputs == FAULT_FREE_OUTPUTS
        assert not any(e["state"].startswith("commit_refused:") for e in sim.store.events())


def test_simstore_refuses_a_commit_without_writing_and_release_gives_the_next_attempt() -> None:
    store = SimStore(lambda: 0.0)
    pid = store.create_process("m:calc", "c", "calculation", {"x": 1})
    claimed = store.claim("w1")
    assert claimed is not None and claimed.attempt == 1
    with pytest.raises(CommitRefusedError) as refused:
        store.finish_calculation(claimed, {"y": 2}, 0, "h", refuse=True)
    assert (refused.value.process_id, refused.value.name, refused.value.attempt) == (pid, "c", 1)
    record = store.get(pid)
    assert (record.state, record.outputs, record.version) == ("running", None,
                                                              claimed.process.version)
    assert store.claim("w2") is None  # still leased to w1
    assert store.release_task(claimed)
    again = store.claim("w2")
    assert again is not None and again.attempt == 2
    assert not store.release_task(claimed)  # no longer ours
