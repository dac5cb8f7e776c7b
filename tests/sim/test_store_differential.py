"""``SimStore`` against the real ``Store``: one seeded schedule, identical histories.

The simulator's default store is a Python re-implementation, for speed; these tests
are what allows that. The same seed drives the same scheduler over ``SimStore`` and
over ``Store`` on an in-memory SQLite database: any difference in ids, versions,
fencing, claim order, wake-ups or events changes the history, hence the digest.
"""

from __future__ import annotations

import dataclasses
import inspect
import random

import pytest

from reference_engine.sim import FaultRates, SimStore, Simulation
from reference_engine.sim.store import ProcessSummary
from reference_engine.sim.workload import PlanWorkflow, expected_acc, random_plan
from reference_engine.storage.records import ProcessRecord
from reference_engine.storage.store import Store
from tests.sim.workflows import Fanout, Nested, ThreeSteps

pytestmark = pytest.mark.simulation

CHAOS = FaultRates.chaos(0.05, max_faults=4)


def run(seed: int, store: str) -> Simulation:
    sim = Simulation(seed, workers=1 + seed % 3, faults=CHAOS, store=store)
    sim.submit(ThreeSteps, label="p", x=2, y=3, tag="p")
    sim.submit(Nested, label="n", x=1, tag="n")
    sim.submit(PlanWorkflow, label="plan", plan=random_plan(random.Random(seed), 8), acc=0)
    if seed % 4 == 0:
        sim.set_caching(enabled=["*plan_add", "*:double"])
    sim.run_until_quiet()
    if seed % 4 == 0:  # a second instance: its double is a cache hit
        sim.submit(ThreeSteps, label="p2", x=2, y=5, tag="p2")
        sim.run_until_quiet()
    if seed % 5 == 0:  # the operations between runs go through the same store methods
        fanout = sim.submit(Fanout, label="f", n=3, tag="f")
        sim.run_until_quiet(max_steps=12)  # mid-run: the kill meets children and leases
        sim.kill(fanout)
        sim.relaunch(1)
        sim.invalidate(2)
        sim.run_until_quiet()
    return sim


@pytest.mark.parametrize("seed", range(24))
def test_a_seed_gives_the_same_history_on_simstore_and_on_the_sqlite_store(seed: int) -> None:
    with run(seed, "memory") as fast, run(seed, "sqlite") as real:
        assert fast.history == real.history
        assert fast.digest == real.digest
        assert fast.list() == real.list()  # every column of every process record
        assert fast.store.events() == real.store.events()
        assert fast.store.armed() == real.store.armed()
        assert fast.caching() == real.caching()


def test_the_differential_runs_exercise_cache_hits_kills_and_fenced_writes() -> None:
    histories = [run(seed, "memory") for seed in (0, 4, 5)]
    assert any(p.cached_from for sim in histories for p in sim.list())
    assert any(e[0] == "api" and e[1] == "kill" and len(e[3]) > 1
               for sim in histories for e in sim.history)
    assert any(e[0] == "write" and not e[5] for sim in histories for e in sim.history)


def test_simstore_offers_every_public_method_of_store_with_the_same_parameters() -> None:
    def public(cls: type) -> dict[str, list[str]]:
        return {name: list(inspect.signature(member).parameters)
                for name, member in inspect.getmembers(cls, inspect.isfunction)
                if not name.startswith("_")}

    real, fast = public(Store), public(SimStore)
    missing = sorted(set(real) - set(fast))
    assert missing == [], f"SimStore lacks {missing}: mirror them from Store"
    assert {n: fast[n] for n in real} == real


def test_generated_plans_compute_their_expected_result_on_both_stores() -> None:
    for seed in range(6):
        plan = random_plan(random.Random(seed), 12)
        for store in ("memory", "sqlite"):
            with Simulation(seed, faults=CHAOS, store=store) as sim:
                pid = sim.submit(PlanWorkflow, plan=plan, acc=0)
                assert sim.run_until_quiet()
                assert sim.get(pid).outputs == {"acc": expected_acc(plan)}, (seed, store)


def test_simstore_records_carry_exactly_the_fields_of_process_record() -> None:
    with Simulation(0) as sim:
        pid = sim.submit(ThreeSteps, label="p", x=2, y=3, tag="p")
        sim.run_until_quiet()
        record = sim.get(pid)
    assert set(vars(record)) == {f.name for f in dataclasses.fields(ProcessRecord)}
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.state = "excepted"  # type: ignore[misc]  # still frozen


def _summary_fields(record: object) -> tuple[object, ...]:
    return tuple(getattr(record, name) for name in ProcessSummary._fields)


@pytest.mark.parametrize("seed", [0, 5, 20])
def test_summaries_say_what_the_records_say_on_both_stores(seed: int) -> None:
    """``list_summaries`` (what the harness observes) is the records minus inputs and
    checkpoint, on the sim store and, through the facade, on the SQLite store."""
    for store in ("memory", "sqlite"):
        with run(seed, store) as sim:
            records = sim.list()
            assert [tuple(s) for s in sim.list_summaries()] == [
                _summary_fields(r) for r in records]
            assert len(records) > 3


def test_summaries_of_a_store_that_changes_its_records_follow_the_change() -> None:
    """A subclass that reads records its own way (a broken variant) is summarised
    through that way, never around it."""

    class NoChildren(SimStore):
        def _load(self, pid: int) -> ProcessRecord:
            return dataclasses.replace(super()._load(pid), children=())

    for store, has_children in ((SimStore, True), (NoChildren, False)):
        with Simulation(3, store=store) as sim:
            sim.submit(Nested, label="n", x=1, tag="n")
            sim.run_until_quiet()
            assert any(s.children for s in sim.list_summaries()) is has_children
