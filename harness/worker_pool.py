"""Worker OS processes of an engine that runs out of the harness's process, supervised.

Why one class: the Celery, DBOS and Temporal adapters each start N worker processes in
their own sessions (a SIGKILL of the group reaches a worker's children too), restart a
dead one as a process manager would (systemd, supervisord: what a deployment does after
the harness's kill), and must leave none behind at ``close``. Three copies of that loop
had drifted only in names.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Callable

Start = Callable[[int], "subprocess.Popen[bytes]"]
SUPERVISE_INTERVAL = 0.05


class WorkerPool:
    """``count`` processes made by ``start(index)``; with ``restart``, a dead one is
    started again under the same index (``on_restart(index)`` runs first, under the
    lock, so it may change what ``start`` will do: a new application version)."""

    def __init__(self, name: str, count: int, start: Start, *, restart: bool = True,
                 on_restart: Callable[[int], None] | None = None) -> None:
        self.name, self.count = name, count
        self._start, self._restart, self._on_restart = start, restart, on_restart
        self.procs: list[subprocess.Popen[bytes]] = []
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._supervisor: threading.Thread | None = None

    def start(self, ready: Callable[[list[subprocess.Popen[bytes]]], None] | None = None
              ) -> bool:
        """Start the processes unless they are started; True when this call started them.

        ``ready(procs)`` runs before the supervisor starts: a worker that dies before it
        is ready is the caller's error to report, not a restart.
        """
        if self.procs:
            return False
        self._stop.clear()
        with self.lock:
            self.procs = [self._start(index) for index in range(self.count)]
        if ready is not None:
            ready(list(self.procs))
        if self._restart:
            self._supervisor = threading.Thread(target=self._supervise, daemon=True,
                                                name=f"{self.name}-supervisor")
            self._supervisor.start()
        return True

    def _supervise(self) -> None:
        while not self._stop.wait(SUPERVISE_INTERVAL):
            with self.lock:
                for index, proc in enumerate(self.procs):
                    if proc.poll() is None or self._stop.is_set():
                        continue
                    if self._on_restart is not None:
                        self._on_restart(index)
                    self.procs[index] = self._start(index)

    def pids(self) -> list[int]:
        """Live processes' pids, in index order."""
        with self.lock:
            return [p.pid for p in self.procs if p.poll() is None]

    def alive(self) -> int:
        return sum(p.poll() is None for p in self.procs)

    def close(self) -> None:
        """Stop restarting, SIGKILL every process group, reap them: none outlives us."""
        self._stop.set()
        if self._supervisor is not None:
            self._supervisor.join()
            self._supervisor = None
        with self.lock:
            procs, self.procs = self.procs, []
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        for proc in procs:
            proc.wait()
