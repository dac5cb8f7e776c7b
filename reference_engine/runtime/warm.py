"""Worker processes booted ahead of need, which a daemon takes instead of starting one.

Why: a worker's start is mostly imports (Python, SQLAlchemy, the engine): 0.2 to 0.4 s of
CPU, and up to a second of wall time on a loaded 2-core machine, paid at every daemon
start and at every replacement of a killed worker. A caller that starts one daemon per
short job (``wfconform`` starts one per scenario on the embedded tier) pays it per job,
for a job that itself takes about as long. A warm worker has done its imports and waits
on its stdin for its assignment (arguments and environment). The daemon that takes it
owns it as if it had spawned it (the ``Popen`` object, the ready pipe), and from the
assignment on it runs the same ``main`` as a worker started cold.

Opt-in: ``with warm_workers(2, module) as pool:`` and ``Daemon(..., warm=pool)``; a
daemon without a pool, or whose workers run another module, starts them cold, as
before. A pool keeps one worker module warm (``daemon.worker_module``: the poll worker,
or the AMQP one of the real runtime). Idle warm workers are SIGKILLed when
the block ends, and die with this process (``PR_SET_PDEATHSIG``) if it is killed: they
are spawned from the pool's own thread, which lives as long as the block. Nothing is
booted before the first ``take``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from reference_engine.runtime.ready import READY_FD_ENV_VAR

WARM_MODULE = "reference_engine.runtime.warm_worker"
"""What a warm worker runs until its assignment: imports, then a read of stdin."""
POLL_WORKER = "reference_engine.runtime.worker"


@dataclass
class TakenWorker:
    """A warm worker handed to a daemon: its process and the read end of its ready pipe."""

    proc: subprocess.Popen[bytes]
    ready_fd: int


@dataclass
class _Idle:
    proc: subprocess.Popen[bytes]
    ready_read: int
    ready_write_number: int  # the descriptor's number in the worker (pass_fds keeps it)


class WarmWorkers:
    """Keeps up to ``size`` idle, booted workers of ``module``; ``take`` hands one out and
    refills."""

    def __init__(self, size: int = 2, module: str = POLL_WORKER,
                 refill_delay: float = 0.0) -> None:
        """``refill_delay``: seconds between a ``take`` and the boot of its replacement.
        Why: the workers just taken are opening their store and broker connections,
        which is what a daemon's start waits for, and replacements booted at once
        (imports: 0.2 to 0.4 s of CPU each) take the CPU from them on a small machine.
        Worth it where opening is slow (PostgreSQL and RabbitMQ: a daemon of two served
        in 112 ms instead of 168); not for SQLite, where the next daemon comes sooner
        than the delayed replacements (embedded fuzz ran 6 % slower with 0.3 s)."""
        if size < 1:
            raise ValueError(f"size must be at least 1, got {size}")
        if refill_delay < 0:
            raise ValueError(f"refill_delay must not be negative, got {refill_delay}")
        self.size = size
        self.module = module
        self.refill_delay = refill_delay
        self._last_take = float("-inf")  # monotonic time of the latest take
        self._idle: list[_Idle] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._keep_warm, name="warm-workers",
                                        daemon=True)

    def start(self) -> WarmWorkers:
        """Begin booting workers now (``take`` does it on first use)."""
        with self._lock:
            if self._thread.ident is None and not self._stop.is_set():
                self._thread.start()
        return self

    def take(self, argv: Sequence[str], env: Mapping[str, str]) -> TakenWorker | None:
        """A booted worker now assigned ``argv`` and ``env``; None when none is idle (the
        caller starts one cold; the pool refills meanwhile). The first call starts the
        pool, so a block that never starts a daemon never boots a worker."""
        self.start()
        while True:
            with self._lock:
                idle = self._idle.pop(0) if self._idle else None
                self._last_take = time.monotonic()
            self._wake.set()
            if idle is None:
                return None
            job = {"argv": list(argv),
                   "env": {**env, READY_FD_ENV_VAR: str(idle.ready_write_number)}}
            try:
                assert idle.proc.stdin is not None
                idle.proc.stdin.write(json.dumps(job).encode() + b"\n")
                idle.proc.stdin.close()
            except (OSError, ValueError):  # it died while idle: try the next one
                _kill(idle.proc)
                os.close(idle.ready_read)
                continue
            return TakenWorker(idle.proc, idle.ready_read)

    def close(self) -> None:
        """Stop refilling and SIGKILL every idle worker (taken ones belong to daemons)."""
        self._stop.set()
        self._wake.set()
        if self._thread.ident is not None:
            self._thread.join(30)
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            _kill(worker.proc)
            os.close(worker.ready_read)

    def _keep_warm(self) -> None:
        """Spawn from this thread only: PR_SET_PDEATHSIG follows the spawning thread."""
        from reference_engine.runtime.daemon import worker_command, worker_env

        command = worker_command(WARM_MODULE, [self.module])
        while not self._stop.is_set():
            self._wake.clear()  # before looking: a take from now on wakes the wait below
            with self._lock:
                hold = self._last_take + self.refill_delay - time.monotonic()
            if hold > 0:  # a take was just made: let its workers open first, then look
                self._stop.wait(hold)
                continue
            with self._lock:
                dead = [w for w in self._idle if w.proc.poll() is not None]
                self._idle = [w for w in self._idle if w not in dead]
                missing = self.size - len(self._idle)
            for worker in dead:
                os.close(worker.ready_read)
            for _ in range(missing):
                if self._stop.is_set():
                    break
                # the environment to import with; the assignment replaces it before
                # anything reads it
                spawned = _spawn(command, worker_env(None))
                with self._lock:
                    self._idle.append(spawned)
            self._wake.wait(0.5)


def _spawn(command: list[str], env: dict[str, str]) -> _Idle:
    read_end, write_end = os.pipe()
    try:
        proc = subprocess.Popen(command, stdin=subprocess.PIPE, start_new_session=True,
                                pass_fds=(write_end,), env=env)
    except BaseException:
        os.close(read_end)
        raise
    finally:
        os.close(write_end)
    return _Idle(proc, read_end, write_end)


def _kill(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        proc.wait(10)
    if proc.stdin is not None:
        with contextlib.suppress(OSError):
            proc.stdin.close()


@contextlib.contextmanager
def warm_workers(size: int = 2, module: str = POLL_WORKER,
                 refill_delay: float = 0.0) -> Iterator[WarmWorkers]:
    """A pool for daemons started inside the block; its idle workers die with the block."""
    pool = WarmWorkers(size, module, refill_delay)
    try:
        yield pool
    finally:
        pool.close()
