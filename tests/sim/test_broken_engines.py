"""Deliberately broken stores are caught by seeded simulation within seconds.

Each variant breaks one rule the reference engine's correctness rests on; a small fuzz
loop (seed after seed of chaotic runs, checked for C1/C2/C3/C4/C5/L1) must find a
witness in under 10 s, and the correct ``SimStore`` must survive the same loop.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from reference_engine.sim import FaultRates, SimStore, Simulation, fencing_violations
from reference_engine.storage.records import ClaimedTask
from tests.sim.workflows import Fanout, ThreeSteps

pytestmark = pytest.mark.simulation

CHAOS = FaultRates(kill=0.03, duplicate_delivery=0.03, lease_expiry=0.02, db_restart=0.02,
                   broker_restart=0.02, max_faults=4)
EXPECTED = {"p": {"total": 7, "seen": [1, 2, 3]}, "f": {"sum": 6}}
BUDGET_SECONDS = 10.0


class NoFenceStore(SimStore):
    """Commits without the owner and version check: a stale holder overwrites."""

    def _fence(self, claimed: ClaimedTask) -> bool:
        row = self._rows.get(claimed.process.id)
        return claimed.task_id in self._tasks and row is not None and row.state == "running"


class LostWakeUpStore(SimStore):
    """Wakes a parent only when its last child is the first one awaited."""

    def _wake_parent(self, parent_id: int | None) -> None:
        parent = self._rows.get(parent_id) if parent_id is not None else None
        if parent is not None and len(parent.awaiting) > 1:
            return
        super()._wake_parent(parent_id)


class StaleCheckpointStore(SimStore):
    """Acknowledges a step but keeps the old checkpoint when the process continues."""

    def commit_transition(self, claimed: ClaimedTask, transition: Any,
                          child_kinds: dict[str, str]) -> bool:
        before = self._rows[claimed.process.id].checkpoint
        done = super().commit_transition(claimed, transition, child_kinds)
        if done and transition.outcome == "continue" and claimed.attempt > 1:
            self._rows[claimed.process.id].checkpoint = before
        return done


def witness(seed: int, factory: Callable[[Any], Any]) -> str | None:
    """Why this seeded run violates a clause, or None."""
    with Simulation(seed, workers=3, faults=CHAOS, store=factory) as sim:
        ids = {"p": sim.submit(ThreeSteps, label="p", x=2, y=3, tag="p"),
               "f": sim.submit(Fanout, label="f", n=3, tag="f")}
        if not sim.run_until_quiet(max_steps=5_000):
            return "L1: not quiet after 5000 steps"
        for label, pid in ids.items():
            record = sim.get(pid)
            if (record.state, record.outputs) != ("finished", EXPECTED[label]):
                return f"C1/C4/L1: {label} is {record.state} with {record.outputs}"
        problems = fencing_violations(sim.history)
        if problems:
            return f"C5: {problems[0]}"
        runs = Counter((e[2], e[3], e[4]) for e in sim.history if e[0] == "effect")
        if runs and max(runs.values()) > 1:
            return f"C2/C3: an effect ran twice in one delivery {runs.most_common(1)}"
        return None


def hunt(factory: Callable[[Any], Any], seeds: range) -> tuple[int, str, float] | None:
    start = time.process_time()
    for seed in seeds:
        found = witness(seed, factory)
        if found is not None:
            return seed, found, time.process_time() - start
        if time.process_time() - start > BUDGET_SECONDS:
            return None
    return None


@pytest.mark.parametrize("broken", [NoFenceStore, LostWakeUpStore, StaleCheckpointStore],
                         ids=lambda cls: cls.__name__)
def test_a_broken_store_is_found_by_seeded_simulation_in_under_ten_seconds(
    broken: type[SimStore],
) -> None:
    found = hunt(broken, range(100_000))
    assert found is not None, f"{broken.__name__} survived {BUDGET_SECONDS} s of seeds"
    seed, reason, seconds = found
    assert seconds < BUDGET_SECONDS, (seed, reason)
    assert witness(seed, broken) == reason, "the witness must replay from its seed"


def test_the_correct_store_survives_the_same_hunt() -> None:
    assert hunt(SimStore, range(300)) is None
