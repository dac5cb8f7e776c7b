"""Workers booted ahead of need (`reference_engine.runtime.warm`): taken, assigned, reaped.

What must hold: a daemon given a pool runs its tasks in workers the pool booted before
the daemon existed, with the daemon's arguments and environment (not the pool's); a
killed one is replaced from the pool and its process continues; no idle worker outlives
the pool, nor a SIGKILL of the process that owns it; a pool never asked boots nothing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reference_engine import Engine
from reference_engine.runtime.daemon import Daemon
from reference_engine.runtime.warm import WarmWorkers, warm_workers
from tests.engine.workflows import EFFECT_LOG, SLOW, ThreeSteps, read_effects

pytestmark = pytest.mark.embedded


def _idle_pids(pool: WarmWorkers, count: int, timeout: float = 60) -> set[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = {w.proc.pid for w in pool._idle if w.proc.poll() is None}
        if len(pids) >= count:
            return pids
        time.sleep(0.02)
    raise AssertionError(f"the pool booted fewer than {count} workers in {timeout} s")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_daemon_runs_its_tasks_in_workers_the_pool_booted_with_its_own_environment(
        engine: Engine, effect_log: Path) -> None:
    with warm_workers(2) as pool:
        pool.start()
        booted = _idle_pids(pool, 2)
        with Daemon(engine.url, 2, {EFFECT_LOG: str(effect_log)}, warm=pool) as daemon:
            assert set(daemon.worker_pids()) == booted
            assert daemon.wait_serving(timeout=60) == 2
            pid = engine.submit(ThreeSteps, x=1, y=2)
            assert engine.wait(pid, timeout=30).state == "finished"
        # the effect log's path reached the workers only through the assignment
        assert {e.worker for e in read_effects(effect_log)} <= booted
        assert len(read_effects(effect_log)) == 5  # 3 steps, 2 calculations


def test_a_killed_warm_worker_is_replaced_from_the_pool_and_its_process_continues(
        engine: Engine, effect_log: Path) -> None:
    env = {EFFECT_LOG: str(effect_log), SLOW: "0.3"}
    with warm_workers(2) as pool:
        pool.start()
        _idle_pids(pool, 2)
        with Daemon(engine.url, 1, env, warm=pool) as daemon:
            assert daemon.wait_serving(timeout=60) == 1
            spare = _idle_pids(pool, 1)
            pid = engine.submit(ThreeSteps, x=1, y=2)
            deadline = time.monotonic() + 30
            while not read_effects(effect_log) and time.monotonic() < deadline:
                time.sleep(0.01)
            victim = daemon.kill_worker()
            assert engine.wait(pid, timeout=60).state == "finished"
            assert daemon.deaths and daemon.deaths[0].pid == victim
            assert set(daemon.worker_pids()) & spare  # the replacement came warm


def test_closing_the_pool_kills_its_idle_workers_and_an_unused_pool_boots_none() -> None:
    with warm_workers(2) as unused:
        time.sleep(0.3)
        assert unused._idle == [] and unused._thread.ident is None
    with warm_workers(2) as pool:
        pool.start()
        idle = _idle_pids(pool, 2)
    assert not any(_alive(pid) for pid in idle)


OWNER = """
import sys, time
from reference_engine.runtime.warm import WarmWorkers
pool = WarmWorkers(2).start()
while len([w for w in pool._idle if w.proc.poll() is None]) < 2:
    time.sleep(0.02)
print(" ".join(str(w.proc.pid) for w in pool._idle), flush=True)
time.sleep(600)
"""


def test_idle_workers_die_with_a_sigkilled_owner() -> None:
    owner = subprocess.Popen([sys.executable, "-c", OWNER], stdout=subprocess.PIPE,
                             env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    try:
        assert owner.stdout is not None
        pids = [int(p) for p in owner.stdout.readline().split()]
        assert len(pids) == 2 and all(_alive(p) for p in pids)
    finally:
        owner.send_signal(signal.SIGKILL)
        owner.wait()
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not any(_alive(p) for p in pids)


def test_a_refill_delay_holds_the_replacement_back_and_then_boots_it() -> None:
    """``refill_delay``: the workers a daemon just took open their connections before the
    pool boots their replacements. Load can only delay a boot further, so "none within
    1 s of a 2 s delay" holds on any machine; without the delay the replacement is
    spawned (listed idle) within milliseconds of the take."""
    with warm_workers(1, refill_delay=2.0) as pool:
        pool.start()
        first = _idle_pids(pool, 1)
        taken = pool.take([], {})
        assert taken is not None and taken.proc.pid in first
        try:
            time.sleep(1.0)
            assert [w for w in pool._idle if w.proc.pid not in first] == [], \
                "a replacement was booted before the refill delay passed"
            assert _idle_pids(pool, 1) - first  # then it comes
        finally:
            taken.proc.kill()
            taken.proc.wait()
            os.close(taken.ready_fd)


def test_a_negative_refill_delay_is_refused() -> None:
    with pytest.raises(ValueError, match="refill_delay must not be negative"):
        WarmWorkers(2, refill_delay=-1.0)


WARM_UP_PROBE = """
import os, sys
from reference_engine.runtime import warm_worker
sys.argv = ["warm_worker", "tests.engine.warm_up_probe"]
raise SystemExit(warm_worker.main())
"""


def test_a_warm_worker_runs_its_modules_warm_up_before_its_assignment(tmp_path: Path) -> None:
    """The AMQP worker's ``warm_up`` imports the PostgreSQL dialect; a warm worker must call
    it while it waits (here: EOF at once, no assignment, and the probe's marker exists)."""
    marker = tmp_path / "warmed"
    done = subprocess.run([sys.executable, "-c", WARM_UP_PROBE], stdin=subprocess.DEVNULL,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path),
                               "WARM_UP_MARKER": str(marker)}, timeout=60)
    assert done.returncode == 0
    assert marker.read_text() == "warmed"


def test_the_amqp_workers_warm_up_imports_the_postgresql_dialect_and_driver() -> None:
    code = ("import sys; import reference_engine.runtime.amqp_worker as w; "
            "names = ('sqlalchemy.dialects.postgresql.psycopg', 'psycopg'); "
            "print(*[n in sys.modules for n in names]); w.warm_up(); "
            "print(*[n in sys.modules for n in names])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
                          timeout=60)
    assert done.stdout.split() == ["False", "False", "True", "True"], done.stderr
