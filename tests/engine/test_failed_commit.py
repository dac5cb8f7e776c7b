"""A refused checkpoint commit on the embedded runtime: a failed attempt, redelivered.

The ``fail_commit`` fault point makes the SQLite transaction that saves the checkpoint,
the state and the task's completion roll back. The worker survives, gives its task back,
and the next attempt runs the effect once more; the outputs equal the fault-free ones.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from reference_engine import CommitRefusedError, Daemon, Engine
from tests.engine.workflows import ThreeSteps, read_effects

pytestmark = pytest.mark.embedded

FAULT_FREE_OUTPUTS = {"total": 7, "seen": [1, 2, 3]}
FAULT_FREE_COUNTS = Counter({"step1": 1, "step2": 1, "step3": 1, "double": 1, "add": 1})


@pytest.mark.parametrize("target", ["ThreeSteps.step1", "ThreeSteps.step3", "double"])
def test_a_refused_commit_redelivers_the_task_and_runs_the_effect_once_more(
    engine: Engine, daemon: Daemon, effect_log: Path, target: str
) -> None:
    engine.arm("fail_commit", target, attempt=1)
    pid = engine.submit(ThreeSteps, x=2, y=3)
    done = engine.wait(pid, timeout=30)

    events = [e["state"] for e in engine.store.events()]
    assert [s for s in events if s.startswith("commit_refused:")] == [
        f"commit_refused:{target}"]
    assert not any(s.startswith("crash:") for s in events) and daemon.deaths == []
    assert (done.id, done.state, done.exit_status) == (pid, "finished", 0)
    assert done.outputs == FAULT_FREE_OUTPUTS
    expected = Counter(FAULT_FREE_COUNTS)
    expected[target.rpartition(".")[2]] += 1
    assert Counter(e.name for e in read_effects(effect_log)) == expected
    assert sorted(engine.get(c).parent_key or "" for c in done.children) == ["a", "d"]
    assert engine.store.active_without_task() == [] and engine.store.task_count() == 0


def test_the_sqlite_store_rolls_a_refused_commit_back_whole(engine: Engine) -> None:
    store = engine.store
    pid = store.create_process("m:calc", "c", "calculation", {"x": 1})
    claimed = store.claim("w1")
    assert claimed is not None and claimed.attempt == 1
    with pytest.raises(CommitRefusedError):
        store.finish_calculation(claimed, {"y": 2}, 0, "h", refuse=True)
    record = store.get(pid)
    assert (record.state, record.outputs, record.hash, record.version) == (
        "running", None, None, claimed.process.version)
    assert [e["state"] for e in store.events()] == ["created", "claimed"]
    assert store.claim("w2") is None  # the lease is still w1's
    assert store.release_task(claimed)
    again = store.claim("w2")
    assert again is not None and again.attempt == 2
    assert store.finish_calculation(again, {"y": 2}, 0, "h")
    assert store.get(pid).state == "finished"


def test_engine_arm_accepts_the_fault_point_and_names_it_when_misspelt(engine: Engine) -> None:
    engine.arm("fail_commit", "x", 1)
    assert ("fail_commit", "x", 1) in engine.store.armed()
    with pytest.raises(ValueError, match="fail_commit"):
        engine.arm("fail_comit", "x", 1)
