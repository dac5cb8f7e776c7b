"""The reference engine's real runtime: PostgreSQL store, RabbitMQ hints, worker processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import insert

from reference_engine import Daemon, Engine
from reference_engine.brokers.rabbitmq import RabbitBroker
from reference_engine.storage.schema import tasks
from tests.engine.workflows import (
    Failing,
    Loop,
    Parent,
    ThreeSteps,
    echo,
    effect_counts,
    read_effects,
)

pytestmark = pytest.mark.services


@pytest.fixture
def engine(pg_url: str, broker_url: str) -> Iterator[Engine]:
    with Engine(pg_url, broker_url=broker_url) as eng:
        yield eng


@pytest.fixture
def daemon(engine: Engine, worker_env: dict[str, str]) -> Iterator[Daemon]:
    with engine.daemon(2, worker_env, sweep_after=0.5) as d:
        d.wait_for_workers()
        yield d


def test_workflows_with_children_loops_and_sub_workflows_finish(
    engine: Engine, daemon: Daemon, effect_log: Path
) -> None:
    three = [engine.submit(ThreeSteps, x=x, y=3) for x in range(5)]
    loop, parent = engine.submit(Loop, n=5), engine.submit(Parent, x=4)
    for x, pid in enumerate(three):
        done = engine.wait(pid, timeout=30)
        assert done.state == "finished" and done.outputs == {"total": 2 * x + 3,
                                                             "seen": [1, 2, 3]}
        assert [engine.get(c).label for c in done.children] == ["double", "add"]
    assert engine.wait(loop, timeout=30).outputs == {"seen": [2, 4]}
    assert engine.wait(parent, timeout=30).outputs == {"child_total": 9}
    counts = effect_counts(read_effects(effect_log))
    assert all(counts[(pid, step)] == 1 for pid in three for step in ("step1", "step2",
                                                                      "step3"))
    assert engine.store.active_without_task() == []


def test_an_excepted_process_is_never_run_again_by_a_redelivered_hint(
    engine: Engine, daemon: Daemon, effect_log: Path, broker_url: str
) -> None:
    done = engine.wait(engine.submit(Failing, x=1), timeout=30)
    assert done.state == "excepted" and "second step is broken" in (done.exception or "")
    before = [e for e in read_effects(effect_log) if e.process == done.id]
    # A broker may deliver an old hint again; here with a stray task row too (N1).
    with engine.store.db.begin() as conn:
        conn.execute(insert(tasks).values(process_id=done.id, attempts=0))
    broker = RabbitBroker(broker_url, name="test-redeliver")
    try:
        broker.publish([done.id, done.id])
    finally:
        broker.close()
    engine.wait(engine.submit(ThreeSteps, x=1, y=1), timeout=30)
    _wait_until(lambda: engine.store.task_count() == 0)
    assert [e for e in read_effects(effect_log) if e.process == done.id] == before
    assert engine.get(done.id).state == "excepted"


def test_relaunch_starts_over_and_caching_serves_the_calculation(
    engine: Engine, daemon: Daemon, effect_log: Path
) -> None:
    engine.set_caching(enabled=["*:echo"])
    first = engine.wait(engine.submit(echo, value={"a": [1, 2.0]}), timeout=30)
    second = engine.wait(engine.relaunch(first.id), timeout=30)
    assert second.id != first.id and second.restart_of == first.id
    assert second.cached_from == first.id and second.outputs == first.outputs
    assert [e.process for e in read_effects(effect_log) if e.name == "echo"] == [first.id]


def test_a_task_without_a_hint_is_announced_by_the_sweeper(
    engine: Engine, pg_url: str, broker_url: str, worker_env: dict[str, str]
) -> None:
    # Created straight in the store: no message is ever published for it (a lost hint).
    silent = Engine(pg_url)
    try:
        pid = silent.submit(ThreeSteps, x=2, y=2)
    finally:
        silent.close()
    with engine.daemon(1, worker_env, sweep_after=0.3) as daemon:
        done = engine.wait(pid, timeout=30)
        assert daemon.sweeper is not None and daemon.sweeper.republished >= 1
    assert done.state == "finished" and done.outputs == {"total": 6, "seen": [1, 2, 3]}


def test_a_worker_killed_after_its_effect_is_continued_from_the_checkpoint(
    engine: Engine, daemon: Daemon, effect_log: Path
) -> None:
    engine.arm("after_effect_before_checkpoint", "ThreeSteps.step2", attempt=1)
    pid = engine.submit(ThreeSteps, x=5, y=1)
    done = engine.wait(pid, timeout=30)
    assert done.state == "finished", (done.message, done.exception)
    assert done.outputs == {"total": 11, "seen": [1, 2, 3]}
    counts = effect_counts(read_effects(effect_log))
    assert counts[(pid, "step1")] == 1 and counts[(pid, "step2")] == 2  # C3: kills + 1
    assert len(daemon.deaths) == 1


def _wait_until(predicate: object, timeout: float = 15.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]  # a zero-argument callable
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def test_warm_amqp_workers_take_their_broker_from_the_assignment_and_serve(
    engine: Engine, worker_env: dict[str, str], effect_log: Path
) -> None:
    """The real runtime's workers from a pool (`runtime.warm`): booted before the daemon
    existed, they read the broker URL and the effect log from the assignment's
    environment, consume, and a crash-point kill is continued by a warm replacement."""
    from reference_engine.runtime.daemon import worker_module
    from reference_engine.runtime.warm import warm_workers

    assert engine.broker_url is not None
    module = worker_module(engine.broker_url)
    with warm_workers(2, module) as pool:
        pool.start()
        _wait_until(lambda: len([w for w in pool._idle if w.proc.poll() is None]) == 2, 60)
        booted = {w.proc.pid for w in pool._idle}
        with Daemon(engine.url, 1, worker_env, broker_url=engine.broker_url,
                    sweep_after=0.5, warm=pool) as daemon:
            assert set(daemon.worker_pids()) <= booted and daemon.wait_serving(60) == 1
            engine.arm("after_effect_before_checkpoint", "ThreeSteps.step2", attempt=1)
            done = engine.wait(engine.submit(ThreeSteps, x=5, y=1), timeout=60)
            assert done.state == "finished", (done.message, done.exception)
            assert len(daemon.deaths) == 1
        workers = {e.worker for e in read_effects(effect_log)}
        assert len(workers) == 2 and workers <= booted  # both came warm
