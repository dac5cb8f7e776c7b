"""Creation and claims mean the same on SQLite and on PostgreSQL.

The two databases run different statements on this path (``statements.py`` on SQLite;
one data-modifying CTE per claim or creation on PostgreSQL, ``statements_pg.py``), so
each test runs on both and checks what a worker relies on: attempt counts, the version
fence, the lease, the event log, the armed crashpoints, and the N1 path of a task whose
process is already terminal.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete, insert

from reference_engine.core.checkpoint import Checkpoint
from reference_engine.core.interpreter import Transition
from reference_engine.storage.schema import events, faults, processes, settings, tasks
from reference_engine.storage.store import Store

THREE = "tests.engine.workflows:ThreeSteps"


class Clock:
    """A settable clock, so a lease can expire without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.services)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        url = str(tmp_path / "engine.db")
    else:
        url = request.getfixturevalue("pg_url")
    store = Store(url, clock=Clock())
    with store.db.begin() as conn:  # the module's PostgreSQL database is shared: empty it
        for table in (tasks, events, faults, settings):
            conn.execute(delete(table))
        conn.execute(delete(processes).where(processes.c.parent_id.is_not(None)))
        conn.execute(delete(processes))
    yield store
    store.close()


def _states(store: Store, pid: int) -> list[tuple[str, str | None]]:
    return [(e["state"], e["worker"]) for e in store.events() if e["process_id"] == pid]


def test_creation_writes_the_process_its_free_task_and_a_created_event(store: Store) -> None:
    pid = store.create_process(THREE, "Three", "workflow", {"x": 1, "y": 2})
    record = store.get(pid)
    assert (record.state, record.version, record.inputs) == ("created", 0, {"x": 1, "y": 2})
    assert (record.cache_valid, record.exit_invalidates_cache) == (True, False)
    assert store.unleased_tasks() == [pid]
    assert _states(store, pid) == [("created", None)]


def test_a_claim_leases_the_task_bumps_the_version_and_logs_who_claimed(store: Store) -> None:
    pid = store.create_process(THREE, "Three", "workflow", {"x": 1, "y": 2})
    claimed = store.claim_process(pid, "w1", 30.0)
    assert claimed is not None
    assert (claimed.attempt, claimed.owner, claimed.process.id) == (1, "w1", pid)
    assert (claimed.process.state, claimed.process.version) == ("running", 1)
    assert claimed.process.inputs == {"x": 1, "y": 2}
    assert store.get(pid).version == 1
    assert store.unleased_tasks() == []
    assert _states(store, pid) == [("created", None), ("claimed", "w1")]


def test_a_live_lease_refuses_a_second_claim_and_an_expired_one_counts_attempt_two(
        store: Store) -> None:
    pid = store.create_process(THREE, "Three", "workflow", {"x": 1, "y": 2})
    first = store.claim_process(pid, "w1", 30.0)
    assert first is not None
    assert store.claim_process(pid, "w2", 30.0) is None
    store.clock.now += 31.0  # type: ignore[attr-defined]  # the test's Clock
    second = store.claim_process(pid, "w2", 30.0)
    assert second is not None
    assert (second.attempt, second.process.version) == (2, 2)
    transition = Transition("finished", Checkpoint(3, {}, {"s": 3}, {}, 3), "step3",
                            outputs={"s": 3})
    assert not store.commit_transition(first, transition, {})  # fenced: w2 claimed since
    assert store.commit_transition(second, transition, {})
    assert store.get(pid).state == "finished"


def test_a_claim_carries_the_crashpoints_armed_at_that_moment_in_arming_order(
        store: Store) -> None:
    store.arm("before_effect", "Three.step1", 1)
    store.arm("after_claim", "Three", None)
    pid = store.create_process(THREE, "Three", "workflow", {"x": 1, "y": 2})
    claimed = store.claim_process(pid, "w1")
    assert claimed is not None
    assert claimed.armed == (("before_effect", "Three.step1", 1), ("after_claim", "Three", None))
    store.disarm_all()
    store.clock.now += 61.0  # type: ignore[attr-defined]  # the test's Clock
    again = store.claim_process(pid, "w2")
    assert again is not None and again.armed == ()


def test_a_task_left_on_a_terminal_process_is_claimed_as_terminal_and_not_bumped(
        store: Store) -> None:
    pid = store.create_process(THREE, "Three", "workflow", {"x": 1, "y": 2})
    claimed = store.claim_process(pid, "w1")
    assert claimed is not None
    finished = Transition("finished", Checkpoint(3, {}, {"s": 3}, {}, 3), "step3",
                          outputs={"s": 3})
    assert store.commit_transition(claimed, finished, {})
    with store.db.begin() as conn:  # a stale task row, as a redelivery race can leave
        conn.execute(insert(tasks).values(process_id=pid, attempts=0))
    stale = store.claim_process(pid, "w2")
    assert stale is not None
    assert stale.process.is_terminal and stale.process.version == 2
    assert stale.process.outputs == {"s": 3}


def test_the_oldest_free_task_is_claimed_first(store: Store) -> None:
    first = store.create_process(THREE, "Three", "workflow", {"x": 1, "y": 2})
    second = store.create_process(THREE, "Three", "workflow", {"x": 3, "y": 4})
    a, b = store.claim("w1"), store.claim("w2")
    assert a is not None and b is not None
    assert (a.process.id, b.process.id) == (first, second)
    assert store.claim("w3") is None


@pytest.mark.services
def test_on_postgresql_a_claim_holds_the_task_row_before_it_waits_for_the_process_row(
        pg_url: str) -> None:
    """The lock order every writer keeps (task, then process): a claim blocked on the
    process row must already hold its task row. A claim that took them the other way
    round would deadlock with the fence, which retry_transient would hide as 1 s stalls."""
    import threading

    from sqlalchemy import select, text
    from sqlalchemy.exc import OperationalError

    store = Store(pg_url)
    try:
        pid = store.create_process(THREE, "Three", "workflow", {"x": 1, "y": 2})
        holder = store.db.connect()
        holder.begin()
        holder.execute(select(processes.c.id).where(processes.c.id == pid).with_for_update())
        claimed: list[object] = []
        claimer = threading.Thread(target=lambda: claimed.append(store.claim_process(pid, "w")))
        claimer.start()
        try:
            # Wait until the claim blocks on a lock (only the process row is held), then
            # probe its task row without waiting; probing earlier could make the claim's
            # SKIP LOCKED skip the task.
            for _ in range(250):
                with store.db.connect() as conn:
                    waiting = conn.execute(text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                        "current_database() AND wait_event_type = 'Lock'")).scalar_one()
                if waiting:
                    break
                claimer.join(0.02)
            assert waiting, "the claim never waited for the process row"
            with store.db.connect() as probe, probe.begin(), \
                    pytest.raises(OperationalError, match="could not obtain lock"):
                probe.execute(select(tasks.c.id).where(tasks.c.process_id == pid)
                              .with_for_update(nowait=True)).all()
            assert claimer.is_alive()
        finally:
            holder.rollback()
            holder.close()
            claimer.join(10)
        assert len(claimed) == 1 and claimed[0] is not None
    finally:
        store.close()
