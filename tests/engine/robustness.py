"""Issue 12's checks, written once and run on the embedded tier (``test_poison_inputs``)
and the real tier (``tests/services/test_poison_inputs_real``).

Each takes an ``Engine`` whose daemon is running (and the effect log its bodies write),
so the same assertion proves the same behaviour on SQLite and on PostgreSQL + RabbitMQ.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reference_engine import Daemon, Engine, StorageLimitError
from tests.engine.poison import (
    BadChildKey,
    BadChildLabel,
    SurrogateOut,
    dies_every_time,
    echo,
    nested,
    surrogate_result,
)
from tests.engine.workflows import ThreeSteps, read_effects

UNRELATED = 5


def submit_unrelated(engine: Engine) -> list[int]:
    return [engine.submit(ThreeSteps, x=x, y=1) for x in range(UNRELATED)]


def assert_unrelated_finish(engine: Engine, pids: list[int], timeout: float = 60) -> None:
    for pid in pids:
        assert engine.wait(pid, timeout=timeout).state == "finished"


def refuses_deep_and_bad_inputs_at_submit(engine: Engine) -> None:
    """Item 1 and 4 at submit: one clear error naming the input and the path."""
    before = len(engine.list())
    for depth in (201, 985, 5000):
        with pytest.raises(StorageLimitError) as caught:
            engine.submit(echo, value=nested(depth))
        message = str(caught.value)
        assert "inputs of tests.engine.workflows:echo['value']" in message
        assert "nested deeper than 200 levels" in message
    with pytest.raises(StorageLimitError, match=r"\['value'\]\['x'\] is a string with a "
                                                r"lone surrogate"):
        engine.submit(echo, value={"x": "\ud800"})
    with pytest.raises(StorageLimitError, match=r"label of .* contains a NUL"):
        engine.submit(echo, label="a\x00b", value=1)
    with pytest.raises(StorageLimitError, match="201 characters long"):
        engine.submit(echo, label="l" * 201, value=1)
    assert len(engine.list()) == before  # nothing was written


def deep_values_within_the_limit_round_trip(engine: Engine) -> None:
    """Depth 200 (the limit) is accepted, stored, run and read back."""
    pid = engine.submit(echo, value=nested(199))
    done = engine.wait(pid, timeout=60)
    assert done.state == "finished" and done.outputs == {"value": nested(199)}
    assert engine.get(pid).inputs == {"value": nested(199)}


def a_stored_poison_task_is_excepted_and_others_run(engine: Engine) -> None:
    """Item 1: a row nobody can decode (written around the boundary, as an older
    version could) is excepted by the claim; unrelated work behind it finishes."""
    poison = plant_undecodable_process(engine)
    unrelated = submit_unrelated(engine)
    assert_unrelated_finish(engine, unrelated)
    with pytest.raises(Exception, match=f"process {poison}: its stored inputs cannot be "
                                        "decoded"):
        engine.get(poison)  # reading the row names it, whatever its state
    # The row itself must end excepted. Nothing announced it on the broker (it was
    # planted in the database), so on the real tier only the daemon's sweeper
    # announces it, seconds later, possibly after the unrelated work has finished.
    row = _wait_for_row(engine, poison, timeout=30)
    assert row[1] == "excepted" and "cannot be decoded" in row[2], row


def _wait_for_row(engine: Engine, pid: int, timeout: float) -> tuple[int, str, str]:
    """The process row once it is terminal, or as it stands when ``timeout`` runs out."""
    deadline = time.monotonic() + timeout
    while True:
        row = next(r for r in _rows(engine) if r[0] == pid)
        if row[1] in ("finished", "excepted", "killed") or time.monotonic() > deadline:
            return row
        time.sleep(0.05)


def plant_undecodable_process(engine: Engine, depth: int = 5000) -> int:
    """A process whose stored inputs are JSON nested ``depth`` deep (too deep to decode)."""
    from sqlalchemy import update

    from reference_engine.storage.schema import processes

    text = '{"value":' + "[" * depth + "0" + "]" * depth + "}"
    # One transaction: created and corrupted together. Created first and corrupted in a
    # second transaction, a worker could claim and finish it in between (seen in CI).
    with engine.store._begin() as conn:  # the store's own transaction, hints included
        pid = engine.store._insert_process(conn, "tests.engine.workflows:echo", "poison",
                                           "calculation", {"value": 0}, None, None)
        conn.execute(update(processes).where(processes.c.id == pid).values(inputs=text))
    return pid


def _rows(engine: Engine) -> list[tuple[int, str, str]]:
    from sqlalchemy import select

    from reference_engine.storage.schema import processes

    with engine.store.db.connect() as conn:
        return [tuple(r) for r in conn.execute(  # type: ignore[misc]  # Row -> 3-tuple
            select(processes.c.id, processes.c.state, processes.c.message))]


def surrogates_except_once(engine: Engine, daemon: Daemon, log: Path) -> None:
    """Item 2: a lone surrogate in a result excepts the process once; no worker dies."""
    calc = engine.submit(surrogate_result, value=1)
    step = engine.submit(SurrogateOut)
    unrelated = submit_unrelated(engine)
    done = engine.wait(calc, timeout=60)
    assert done.state == "excepted"
    assert "outputs of calculation surrogate_result['x'] is a string with a lone " \
           "surrogate" in done.message
    done = engine.wait(step, timeout=60)
    assert done.state == "excepted" and "['x'] is a string with a lone surrogate" \
        in done.message
    assert_unrelated_finish(engine, unrelated)
    names = [e.name for e in read_effects(log)]
    assert names.count("surrogate_result") == 1 and names.count("only") == 1
    assert daemon.deaths == []


def failing_import_excepts_once(engine: Engine, daemon: Daemon) -> None:
    """Item 3: a module that raises KeyError at import in the workers."""
    pid = engine.submit("tests.engine.poison_import:fine", value=1)
    unrelated = submit_unrelated(engine)
    done = engine.wait(pid, timeout=60)
    assert done.state == "excepted"
    assert "tests.engine.poison_import raised KeyError at import" in done.message
    assert_unrelated_finish(engine, unrelated)
    assert daemon.deaths == []


def bad_child_names_except_the_parent(engine: Engine, daemon: Daemon) -> None:
    """Item 4: a child key over 200 characters or a NUL in a label: the same error on
    every tier, the parent excepted once, never retried as an outage."""
    key, label = engine.submit(BadChildKey), engine.submit(BadChildLabel)
    done = engine.wait(key, timeout=60)
    assert done.state == "excepted" and "201 characters long" in done.message
    done = engine.wait(label, timeout=60)
    assert done.state == "excepted" and "contains a NUL character" in done.message
    assert engine.get(key).children == () and engine.get(label).children == ()
    assert daemon.deaths == []


def crash_loops_are_quarantined(engine: Engine, daemon: Daemon, log: Path,
                                limit: int) -> None:
    """A body that kills its worker every time is excepted after ``limit`` claims."""
    pid = engine.submit(dies_every_time, value=1)
    unrelated = submit_unrelated(engine)
    done = engine.wait(pid, timeout=90)
    assert done.state == "excepted" and "quarantined" in done.message
    assert [e.name for e in read_effects(log)].count("dies_every_time") == limit
    assert_unrelated_finish(engine, unrelated)


_DAEMON_SCRIPT = """\
import sys, time
from reference_engine.runtime.daemon import Daemon
Daemon(sys.argv[1], 2, broker_url=sys.argv[2] or None).start()
time.sleep(600)
"""


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found |= {int(c) for c in f.read().split()}
    except OSError:
        pass
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def workers_die_with_their_daemon(url: str, broker_url: str, delay: float) -> None:
    """Item 6: SIGKILL the daemon ``delay`` s after its first worker appeared (0: while
    that worker still imports); every worker must be gone within one second."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    daemon = subprocess.Popen([sys.executable, "-c", _DAEMON_SCRIPT, url, broker_url],
                              env=env)
    try:
        deadline = time.monotonic() + 60
        while not (workers := _children(daemon.pid)):
            assert time.monotonic() < deadline, "the daemon started no worker in 60 s"
            time.sleep(0.001)
        time.sleep(delay)
        workers |= _children(daemon.pid)
    finally:
        daemon.kill()
        daemon.wait()
    killed_at = time.monotonic()
    while any(_alive(w) for w in workers) and time.monotonic() - killed_at < 1.0:
        time.sleep(0.01)
    orphans = [w for w in workers if _alive(w)]
    for orphan in orphans:  # leave nothing behind, then fail
        os.kill(orphan, signal.SIGKILL)
    assert orphans == [], f"workers {orphans} outlived their daemon by more than 1 s"
