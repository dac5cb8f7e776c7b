"""``Simulation.queue_takeover``: a redelivery to a live worker, held until it is taken over."""

from __future__ import annotations

import pytest

from reference_engine.sim import InvalidSimulationArgumentError, Simulation, fencing_violations
from tests.sim.workflows import AsksForTakeover

pytestmark = pytest.mark.simulation


@pytest.mark.parametrize("kind", ["lease_expiry", "duplicate_delivery"])
def test_the_holder_commits_only_after_another_worker_took_its_task_and_is_refused(
        kind: str) -> None:
    for seed in range(10):
        with Simulation(seed, workers=2) as sim:
            pid = sim.submit(AsksForTakeover, label="a", kind=kind)
            assert sim.run_until_quiet()
            assert sim.get(pid).outputs == {"result": 1}
            assert sim.effect_counts()[(pid, "hit")] == 2  # the taker ran it again
            claims = [e for e in sim.history if e[0] == "claim" and e[2] == pid]
            writes = [e for e in sim.history if e[0] == "write" and e[3] == pid]
            holder, taker = claims[0][1], claims[1][1]
            assert holder != taker
            stale = next(w for w in writes if w[1] == holder)
            assert stale[4] == claims[0][5] and stale[5] is False  # refused by the fence
            assert sim.history.index(claims[1]) < sim.history.index(stale)
            assert fencing_violations(sim.history) == []
            assert not sim.stalled


def test_the_same_seed_gives_the_same_history_with_a_takeover() -> None:
    digests = set()
    for _ in range(2):
        with Simulation(5, workers=3) as sim:
            sim.submit(AsksForTakeover, label="a", kind="lease_expiry")
            sim.run_until_quiet()
            digests.add(sim.digest)
    assert len(digests) == 1


def test_with_one_worker_nobody_can_take_over_and_the_holder_goes_on() -> None:
    with Simulation(0, workers=1) as sim:
        pid = sim.submit(AsksForTakeover, label="a", kind="duplicate_delivery")
        assert sim.run_until_quiet()
        assert sim.get(pid).outputs == {"result": 1}


def test_queue_takeover_refuses_other_kinds() -> None:
    with Simulation(0) as sim, pytest.raises(InvalidSimulationArgumentError, match="kind"):
        sim.queue_takeover("kill")
