"""``WorkerPool``: the out-of-process adapters' workers (Celery, DBOS, Temporal).

Real OS processes (a shell that starts a grandchild and sleeps): a SIGKILLed worker is
started again under its index, ``on_restart`` runs first, a pool without restart leaves
it dead, and ``close`` leaves no process of any worker's group behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from harness.worker_pool import WorkerPool


def _spawner(tmp_path: Path, started: list[int]):
    def start(index: int) -> subprocess.Popen[bytes]:
        started.append(index)
        # the worker starts a grandchild of its own, as a prefork pool does
        marker = tmp_path / f"grandchild-{index}-{len(started)}"
        return subprocess.Popen(
            ["sh", "-c", f"sleep 300 & echo $! > {marker}; wait"], start_new_session=True)
    return start


def _until(predicate, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead for our purpose
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def test_a_killed_worker_is_restarted_under_its_index_after_on_restart(tmp_path: Path):
    started: list[int] = []
    restarted: list[tuple[int, int]] = []
    pool = WorkerPool("t", 2, _spawner(tmp_path, started),
                      on_restart=lambda i: restarted.append((i, len(started))))
    ready: list[int] = []
    try:
        assert pool.start(ready=lambda procs: ready.extend(p.pid for p in procs))
        assert not pool.start()  # already started: nothing new
        assert ready == [p.pid for p in pool.procs] and started == [0, 1]
        victim = pool.procs[1].pid
        os.kill(victim, signal.SIGKILL)
        assert _until(lambda: len(started) == 3), started
        assert started[2] == 1 and restarted == [(1, 2)]  # the hook ran before the start
        assert _until(lambda: pool.alive() == 2)
        assert victim not in pool.pids() and len(pool.pids()) == 2
    finally:
        pool.close()


def test_without_restart_a_dead_worker_stays_dead(tmp_path: Path):
    started: list[int] = []
    pool = WorkerPool("t", 1, _spawner(tmp_path, started), restart=False)
    try:
        pool.start()
        os.kill(pool.procs[0].pid, signal.SIGKILL)
        pool.procs[0].wait(10)
        time.sleep(0.3)  # several supervision intervals
        assert started == [0] and pool.alive() == 0
    finally:
        pool.close()


def test_close_leaves_no_worker_and_no_grandchild(tmp_path: Path):
    pool = WorkerPool("t", 2, _spawner(tmp_path, []))
    pool.start()
    workers = [p.pid for p in pool.procs]
    assert _until(lambda: len([f for f in tmp_path.glob("grandchild-*")
                               if f.read_text().strip()]) == 2)
    grandchildren = [int(f.read_text()) for f in tmp_path.glob("grandchild-*")]
    assert len(grandchildren) == 2 and all(_alive(pid) for pid in grandchildren)
    pool.close()
    assert pool.procs == [] and pool.pids() == []
    assert _until(lambda: not any(_alive(pid) for pid in workers + grandchildren), 10)
    time.sleep(0.2)
    assert pool.procs == []  # the supervisor stopped: nothing was restarted after close
