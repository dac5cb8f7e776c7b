"""``Daemon.wait_serving`` returns when the workers take tasks, not when they were spawned.

Why it matters: a harness that starts a launch's chaos budget right after ``start``
charged the workers' boot (seconds under load) to the engine; on a loaded CI machine a
correct engine missed a 2 s budget that way. The workers say they serve through an
inherited pipe (``notify_ready``).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from reference_engine import Engine
from reference_engine.runtime.ready import READY_FD_ENV_VAR
from reference_engine.runtime.worker import PRELUDE_ENV_VAR
from tests.engine.workflows import EFFECT_LOG, ThreeSteps

pytestmark = pytest.mark.embedded

SLOW_BOOT = "tests.engine.slow_boot_prelude"


def test_wait_serving_waits_for_a_slow_booting_worker_and_then_a_task_runs_at_once(
        engine: Engine, effect_log: Path) -> None:
    env = {EFFECT_LOG: str(effect_log), PRELUDE_ENV_VAR: SLOW_BOOT}
    with engine.daemon(2, env) as daemon:
        spawned = time.monotonic()
        assert daemon.wait_serving(timeout=60) == 2
        waited = time.monotonic() - spawned
        # the prelude sleeps 1 s before the worker can serve: spawned is not serving
        assert waited >= 0.9, f"returned after {waited:.2f} s, before the workers served"
        pid = engine.submit(ThreeSteps, x=1, y=2)
        assert engine.wait(pid, timeout=30).state == "finished"


def test_a_killed_worker_is_replaced_and_its_replacement_waited_for(
        engine: Engine, effect_log: Path) -> None:
    with engine.daemon(2, {EFFECT_LOG: str(effect_log)}) as daemon:
        assert daemon.wait_serving(timeout=60) == 2
        daemon.kill_worker()
        deadline = time.monotonic() + 30
        while not daemon.deaths and time.monotonic() < deadline:
            time.sleep(0.01)
        assert daemon.deaths, "the daemon did not see its worker die"
        assert daemon.wait_serving(timeout=60) == 2
        assert len(daemon.worker_pids()) == 2


def test_workers_that_cannot_start_do_not_hold_the_wait_for_its_whole_timeout(
        engine: Engine, effect_log: Path) -> None:
    env = {EFFECT_LOG: str(effect_log), PRELUDE_ENV_VAR: "no_such_module_for_wfconform"}
    with engine.daemon(2, env) as daemon:
        started = time.monotonic()
        assert daemon.wait_serving(timeout=120) == 0
        assert time.monotonic() - started < 60


def test_the_ready_pipe_is_not_left_to_the_workload(engine: Engine, effect_log: Path) -> None:
    """The worker removes the variable once it has written: bodies never see the fd."""
    assert READY_FD_ENV_VAR not in os.environ
    with engine.daemon(1, {EFFECT_LOG: str(effect_log)}) as daemon:
        assert daemon.wait_serving(timeout=60) == 1
        pid = daemon.worker_pids()[0]
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        # /proc shows the environment the process started with; the worker popped the
        # variable, so only its inherited start-up copy names the fd, and the fd is shut
        fd_vars = [v for v in environ if v.startswith(READY_FD_ENV_VAR.encode() + b"=")]
        assert len(fd_vars) == 1
        fd = fd_vars[0].split(b"=", 1)[1].decode()
        # the worker closes its end just after writing: give it that instant
        deadline = time.monotonic() + 10
        while _is_pipe(pid, fd) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not _is_pipe(pid, fd), "the worker kept the ready pipe open"


def _is_pipe(pid: int, fd: str) -> bool:
    try:
        return os.readlink(f"/proc/{pid}/fd/{fd}").startswith("pipe:")
    except FileNotFoundError:
        return False
