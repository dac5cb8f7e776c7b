"""The store's transactions under PostgreSQL's READ COMMITTED, raced on purpose.

SQLite serialises writers (BEGIN IMMEDIATE), so these races only exist on PostgreSQL.
Each test drives two store instances (two connection pools, as two workers have) into
the interleaving that broke an invariant, and checks the invariant.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import pytest
from sqlalchemy import select

from reference_engine.core.checkpoint import Checkpoint
from reference_engine.core.interpreter import Transition
from reference_engine.core.process import ChildRequest
from reference_engine.storage.records import ClaimedTask
from reference_engine.storage.schema import tasks
from reference_engine.storage.store import Store

pytestmark = pytest.mark.services
THREE = "tests.engine.workflows:ThreeSteps"
DOUBLE = "tests.engine.workflows:double"


@pytest.fixture
def stores(pg_url: str) -> Iterator[tuple[Store, Store]]:
    first, second = Store(pg_url), Store(pg_url)
    yield first, second
    first.close()
    second.close()


def _waiting_parent(store: Store, children: int) -> tuple[int, list[int]]:
    """A workflow that waits on ``children`` calculations (each with its own task)."""
    pid = store.create_process(THREE, "ThreeSteps", "workflow", {"x": 1, "y": 1})
    claimed = _claim(store, pid, "parent-worker")
    launches = tuple(ChildRequest(f"c{i}", DOUBLE, {"x": i}, "double") for i in range(children))
    transition = Transition("wait", Checkpoint(1, {}, {}, {}, 1), "step1", launches)
    assert store.commit_transition(claimed, transition, {r.key: "calculation" for r in launches})
    return pid, list(store.get(pid).children)


def _claim(store: Store, pid: int, owner: str, lease: float = 60.0) -> ClaimedTask:
    claimed = store.claim_process(pid, owner, lease)
    assert claimed is not None, f"process {pid} had no free task for {owner}"
    return claimed


def _together(*calls: Callable[[], object]) -> list[object]:
    """Run the calls in threads released by one barrier, as close to at once as we can."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], object]) -> object:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return [f.result() for f in [pool.submit(run, c) for c in calls]]


def _parent_tasks(store: Store, pid: int) -> int:
    with store.db.connect() as conn:
        return len(conn.execute(select(tasks.c.id).where(tasks.c.process_id == pid)).all())


def test_siblings_finishing_at_once_wake_their_parent_exactly_once(
    stores: tuple[Store, Store],
) -> None:
    first, second = stores
    for _ in range(15):
        parent, (a, b) = _waiting_parent(first, 2)
        claim_a, claim_b = _claim(first, a, "wa"), _claim(second, b, "wb")
        results = _together(
            partial(first.finish_calculation, claim_a, {"result": 0}, 0, None),
            partial(second.finish_calculation, claim_b, {"result": 2}, 0, None),
        )
        assert results == [True, True]
        assert _parent_tasks(first, parent) == 1, f"parent {parent} not woken exactly once"


def test_a_stale_holder_cannot_commit_after_a_new_worker_claimed(
    stores: tuple[Store, Store],
) -> None:
    """The fence race: A checks the fence, B claims (bumps the version), A writes.

    The store promises that a claim fences out every older holder. Before the fence
    locked its rows, A passed the check, B's claim committed in between, and A's write
    still went through (and handed the task back to nobody). Now B's claim skips the
    row A is committing, or comes after A's commit; never in between.
    """
    first, second = stores
    pid = first.create_process(DOUBLE, "double", "calculation", {"x": 1})
    stale = _claim(first, pid, "A", lease=-1.0)  # already expired: B may take it over
    fence_checked, b_tried = threading.Event(), threading.Event()
    original = first._fence

    def slow_fence(conn: object, claimed: ClaimedTask) -> bool:
        ok = original(conn, claimed)  # type: ignore[arg-type]  # a Connection
        fence_checked.set()
        b_tried.wait(5)
        return ok

    first._fence = slow_fence  # type: ignore[method-assign]  # widen the race window
    newer: list[ClaimedTask | None] = []

    def b_claims() -> None:
        fence_checked.wait(5)
        newer.append(second.claim_process(pid, "B"))
        b_tried.set()

    thread = threading.Thread(target=b_claims)
    thread.start()
    a_ok = first.finish_calculation(stale, {"result": 2}, 0, None)
    thread.join(10)
    b_ok = newer[0] is not None and second.finish_calculation(newer[0], {"result": 2}, 0, None)
    assert a_ok != b_ok, f"A committed: {a_ok}, B committed: {b_ok}; exactly one may"
    assert not (newer[0] is not None and a_ok), "A committed after B's claim fenced it out"
    record = first.get(pid)
    assert record.state == "finished" and record.version == stale.process.version + 1


def test_a_kill_never_turns_a_child_that_finished_into_killed(
    stores: tuple[Store, Store],
) -> None:
    first, second = stores
    for _ in range(15):
        parent, (child,) = _waiting_parent(first, 1)
        claimed = _claim(second, child, "w")
        finished, killed = _together(
            partial(second.finish_calculation, claimed, {"result": 0}, 0, None),
            partial(first.kill, parent),
        )
        state = first.get(child).state
        assert state == ("finished" if finished else "killed"), (finished, killed, state)
        assert first.get(parent).state == "killed"
        assert _parent_tasks(first, parent) == 0


def test_claim_and_kill_at_once_leave_a_killed_process_that_no_worker_advances(
    stores: tuple[Store, Store],
) -> None:
    first, second = stores
    for _ in range(15):
        pid = first.create_process(DOUBLE, "double", "calculation", {"x": 1})
        claimed, killed = _together(partial(second.claim_process, pid, "w"),
                                    partial(first.kill, pid))
        assert killed == [pid] and first.get(pid).state == "killed"
        if isinstance(claimed, ClaimedTask):
            assert not second.finish_calculation(claimed, {"result": 2}, 0, None)
        assert first.get(pid).state == "killed" and _parent_tasks(first, pid) == 0


def test_caching_configuration_written_by_two_clients_at_once_does_not_collide(
    stores: tuple[Store, Store],
) -> None:
    from reference_engine.core.caching import CachingConfig

    first, second = stores
    for i in range(20):
        _together(partial(first.set_caching_config, CachingConfig(enabled=("a:*",))),
                  partial(second.set_caching_config, CachingConfig(enabled=(f"b{i}:*",))))
    assert first.caching_config().enabled in (("a:*",), ("b19:*",))


def test_workers_opening_a_fresh_database_together_create_the_schema_once(
    services: object, pg_url: str
) -> None:
    from harness.services import Services

    assert isinstance(services, Services)
    name = f"wfc_schema_{threading.get_ident() % 100000}"
    url = services.postgres.isolation.create(name)
    try:
        opened = _together(*[partial(Store, url) for _ in range(6)])
        for store in opened:
            assert isinstance(store, Store)
            store.close()
    finally:
        services.postgres.isolation.remove(name)
