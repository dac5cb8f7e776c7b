"""Faults of the real services against the real runtime, on servers the harness started.

Every test checks the outcome against the effect log the workflow bodies write (the
ground truth of what executed), not only against the engine's tables.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from harness.services import (
    Services,
    connections,
    cut_connections,
    restart_broker,
    restart_database,
    set_consumer_timeout,
)
from reference_engine import Daemon, Engine, ProcessRecord
from reference_engine.storage.schema import events, processes, tasks
from tests.engine.workflows import (
    SLOW,
    ThreeSteps,
    double,
    effect_counts,
    overlapping_effects,
    read_effects,
)

pytestmark = [pytest.mark.services, pytest.mark.slow]
STEPS = ("step1", "step2", "step3")
WORKER = re.compile(r"^w[0-9a-f]{8}$")  # the daemon's worker owner names


@contextmanager
def running(pg_url: str, broker_url: str, env: dict[str, str], **daemon_options: float
            ) -> Iterator[tuple[Engine, Daemon]]:
    with Engine(pg_url, broker_url=broker_url) as engine, \
            engine.daemon(2, env, **daemon_options) as daemon:  # type: ignore[arg-type]
        daemon.wait_for_workers()
        yield engine, daemon


def wait_all(engine: Engine, pids: list[int], timeout: float) -> dict[int, ProcessRecord]:
    """Wait for every process, riding out a database that is restarting."""
    deadline, done = time.monotonic() + timeout, dict[int, ProcessRecord]()
    while len(done) < len(pids):
        assert time.monotonic() < deadline, f"{len(pids) - len(done)} processes not terminal"
        try:
            for pid in pids:
                if pid not in done and (record := engine.get(pid)).is_terminal:
                    done[pid] = record
        except DBAPIError:
            pass
        time.sleep(0.05)
    return done


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"{what} did not happen in {timeout} s"
        time.sleep(0.01)


def finished_count(engine: Engine, pids: list[int]) -> int:
    """One query, so polling it is quick next to the work it watches."""
    with engine.store.db.connect() as conn:
        return len(conn.execute(select(processes.c.id).where(
            processes.c.id.in_(pids), processes.c.state == "finished")).all())


def expected_effects(engine: Engine, pids: list[int]) -> set[tuple[int, str]]:
    """(process id, name) of every effect a ThreeSteps run must leave: its three steps
    under its own id, ``double`` and ``add`` under its children's ids."""
    keys = set()
    for pid in pids:
        keys |= {(pid, step) for step in STEPS}
        keys |= {(child, engine.get(child).label) for child in engine.get(pid).children}
    return keys


def assert_each_effect_once(engine: Engine, effect_log: Path, pids: list[int],
                            at_most: int = 1) -> None:
    effects = read_effects(effect_log)
    counts = effect_counts(effects)
    expected = expected_effects(engine, pids)
    assert len(expected) == 5 * len(pids)
    wrong = {key: counts[key] for key in expected if not 1 <= counts[key] <= at_most}
    assert not wrong, f"effects not run 1..{at_most} times: {dict(list(wrong.items())[:5])}"
    assert overlapping_effects(effects) == []  # C5


def assert_right_outputs(done: dict[int, ProcessRecord], xs: dict[int, int], y: int) -> None:
    wrong = {pid: (r.state, r.outputs) for pid, r in done.items()
             if r.state != "finished" or r.outputs != {"total": 2 * xs[pid] + y,
                                                       "seen": [1, 2, 3]}}
    assert not wrong, f"{len(wrong)} processes wrong, e.g. {list(wrong.items())[:3]}"


def dropped_hints(engine: Engine, pids: list[int]) -> int:
    """Hints for these processes or their children that a worker found already taken."""
    tree = set(pids) | {c for p in pids for c in engine.get(p).children}
    with engine.store.db.connect() as conn:
        return len(conn.execute(select(events.c.id).where(
            events.c.state == "hint-dropped", events.c.process_id.in_(tree))).all())


def lease_owner(engine: Engine, pid: int) -> str | None:
    with engine.store.db.connect() as conn:
        return conn.execute(select(tasks.c.lease_owner)
                            .where(tasks.c.process_id == pid)).scalar()


def test_a_broker_kill_9_in_the_middle_of_200_workflows_loses_and_repeats_nothing(
    local_services: Services, local_pg_url: str, local_broker_url: str,
    worker_env: dict[str, str], effect_log: Path,
) -> None:
    # 5 ms per step and calculation: 200 workflows take at least 2.5 s of the two
    # workers' time, so the kill lands in the middle however fast the pipeline is
    paced = {**worker_env, SLOW: "0.005"}
    with running(local_pg_url, local_broker_url, paced, sweep_after=1.0) as (engine, _):
        xs = {engine.submit(ThreeSteps, x=x, y=1): x for x in range(200)}
        pids = list(xs)
        wait_for(lambda: finished_count(engine, pids) >= 20, 60, "20 workflows finishing")
        # counted just before the kill: the pipeline can finish all 200 within a restart
        unfinished_at_kill = 200 - finished_count(engine, pids)
        fault = restart_broker(local_services.rabbitmq, kill=True)
        done = wait_all(engine, pids, timeout=120)
    assert unfinished_at_kill > 0, "the kill landed after the work; nothing was tested"
    assert fault.seconds > 0
    assert_right_outputs(done, xs, 1)
    assert_each_effect_once(engine, effect_log, pids)
    assert engine.store.active_without_task() == []


def test_a_cut_connection_never_gives_one_process_two_concurrent_executors(
    local_services: Services, local_pg_url: str, local_broker_url: str,
    worker_env: dict[str, str], effect_log: Path,
) -> None:
    """The broker closes the executing worker's connection mid-calculation; its hint
    goes to the other worker, which must find the task leased and drop it (C5)."""
    broker = local_services.rabbitmq
    env = {**worker_env, SLOW: "3.0"}  # the calculation outlasts the cut by far
    with running(local_pg_url, local_broker_url, env) as (engine, _):
        wait_for(lambda: len([c for c in connections(broker) if WORKER.match(c[1])]) >= 2,
                 30, "both workers connecting")
        listing = connections(broker)
        pid = engine.submit(double, x=21)
        wait_for(lambda: lease_owner(engine, pid) is not None, 15, "a worker claiming")
        owner = lease_owner(engine, pid)
        cut = cut_connections(broker, owner or "?", listing=listing)
        still_running = lease_owner(engine, pid) == owner
        done = wait_all(engine, [pid], timeout=60)
    assert cut.detail == owner, f"cut {cut.detail!r}, wanted the executing worker {owner}"
    assert still_running, "the cut landed after the calculation; nothing was tested"
    assert done[pid].state == "finished" and done[pid].outputs == {"result": 42}
    effects = [e for e in read_effects(effect_log) if e.process == pid]
    assert len(effects) == 1 and overlapping_effects(effects) == []
    assert dropped_hints(engine, [pid]) >= 1, "the redelivered hint never reached a worker"


def test_a_lease_shorter_than_a_calculation_is_renewed_so_no_second_executor_starts(
    local_pg_url: str, local_broker_url: str, worker_env: dict[str, str], effect_log: Path,
) -> None:
    """A 0.4 s lease, 1.5 s calculations and a sweeper that re-announces after 0.2 s:
    without the heartbeat the lease would lapse and a second worker would start."""
    env = {**worker_env, SLOW: "1.5"}
    with running(local_pg_url, local_broker_url, env, lease_seconds=0.4,
                 sweep_after=0.2) as (engine, _):
        pids = [engine.submit(double, x=x) for x in range(3)]
        done = wait_all(engine, pids, timeout=60)
    assert [done[p].outputs for p in pids] == [{"result": 2 * x} for x in range(3)]
    effects = [e for e in read_effects(effect_log) if e.process in pids]
    assert sorted(e.process for e in effects) == sorted(pids)  # each exactly once
    assert overlapping_effects(effects) == []


def test_a_consumer_timeout_shorter_than_a_calculation_neither_loses_nor_repeats_work(
    local_services: Services, local_pg_url: str, local_broker_url: str,
    worker_env: dict[str, str], effect_log: Path,
) -> None:
    """RabbitMQ takes back a delivery unacked for 1 s (AiiDA #5105) while the calculation
    runs 3 s: the hint goes to the other worker, which finds the task leased."""
    set_consumer_timeout(local_services.rabbitmq, 1000)
    try:
        env = {**worker_env, SLOW: "3.0"}
        with running(local_pg_url, local_broker_url, env) as (engine, _):
            pid = engine.submit(double, x=8)
            done = wait_all(engine, [pid], timeout=60)
            took_back = dropped_hints(engine, [pid])
    finally:
        set_consumer_timeout(local_services.rabbitmq, None)
    assert done[pid].state == "finished" and done[pid].outputs == {"result": 16}
    effects = [e for e in read_effects(effect_log) if e.process == pid]
    assert len(effects) == 1
    assert took_back >= 1, "the broker never took a delivery back: the fault did not fire"


def test_a_database_kill_9_in_the_middle_of_the_run_loses_nothing(
    local_services: Services, local_pg_url: str, local_broker_url: str,
    worker_env: dict[str, str], effect_log: Path,
) -> None:
    with running(local_pg_url, local_broker_url, worker_env, lease_seconds=3.0,
                 sweep_after=1.0) as (engine, _):
        xs = {engine.submit(ThreeSteps, x=x, y=7): x for x in range(60)}
        pids = list(xs)
        wait_for(lambda: finished_count(engine, pids) >= 10, 60, "10 workflows finishing")
        restart_database(local_services.postgres, kill=True)
        done = wait_all(engine, pids, timeout=120)
    assert_right_outputs(done, xs, 7)
    # A commit lost with the database may make its effect run again, once (C3 counts
    # the crash like a kill); never concurrently (C5).
    assert_each_effect_once(engine, effect_log, pids, at_most=2)
