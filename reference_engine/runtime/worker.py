"""A worker OS process: claim a task, execute it, repeat.

Run by the daemon as ``python -m reference_engine.runtime.worker --url URL --owner ID``.
It asks the kernel to SIGKILL it if its daemon dies (PR_SET_PDEATHSIG), so no worker
outlives the daemon that started it, even after a SIGKILL of the daemon.

Hook for test tooling: ``$REFERENCE_ENGINE_WORKER_PRELUDE`` names modules (comma-separated)
that a worker imports at start-up, before its loop (``run_prelude``). Why: tools that must
act inside the worker OS processes (instrumentation, or wfconform's deliberately broken
variants, which monkeypatch the engine there) need no other way in; unset, it does nothing.

``$REFERENCE_ENGINE_WORKER_READY_FD``: the worker says when it serves (``runtime.ready``).

``$REFERENCE_ENGINE_WORKER_LOG`` names a file that takes the worker's stdout and stderr
(its log records, and the traceback of a worker that dies): a tool that runs workers
under its own terminal output (wfconform) keeps them off the user's screen but on disk.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import ctypes
import importlib
import os
import signal
import sys
import threading
from typing import NoReturn

from reference_engine.crashpoints import CrashPlan
from reference_engine.runtime.executor import armed_for, execute
from reference_engine.runtime.failures import describe, is_disk_full, is_outage
from reference_engine.runtime.ready import notify_ready
from reference_engine.storage.store import Store

PR_SET_PDEATHSIG = 1
LEASE_SECONDS = 60.0
PRELUDE_ENV_VAR = "REFERENCE_ENGINE_WORKER_PRELUDE"
OUTAGE_MIN_SECONDS = 0.05
OUTAGE_MAX_SECONDS = 2.0
LOG_ENV_VAR = "REFERENCE_ENGINE_WORKER_LOG"
def redirect_output() -> None:
    """stdout and stderr to ``$REFERENCE_ENGINE_WORKER_LOG`` (appended) when it is set."""
    path = os.environ.get(LOG_ENV_VAR)
    if not path:
        return
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


def die_with_parent() -> None:
    """Linux only: receive SIGKILL when the parent exits; a no-op elsewhere."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return


def run_prelude() -> None:
    """Import the modules named in ``$REFERENCE_ENGINE_WORKER_PRELUDE`` (see module doc).

    A module that cannot be imported stops the worker with one line naming it and the
    variable, rather than a worker that silently runs without the hook.
    """
    names = [n.strip() for n in os.environ.get(PRELUDE_ENV_VAR, "").split(",") if n.strip()]
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise SystemExit(f"reference_engine worker: cannot import {name!r} named in "
                             f"{PRELUDE_ENV_VAR} ({exc}); fix or unset the variable") from None


class Worker:
    """The claim/execute loop, with a lease heartbeat so long bodies keep their task."""

    def __init__(self, url: str, owner: str, idle_min: float = 0.001, idle_max: float = 0.02):
        self.store = Store(url)
        self.owner = owner
        self.idle_min, self.idle_max = idle_min, idle_max
        self.stopping = threading.Event()
        self.current_task: int | None = None
        self.owes_release = False

    def _heartbeat(self) -> None:
        while not self.stopping.wait(LEASE_SECONDS / 3):
            task = self.current_task
            if task is not None:
                self.store.renew_lease(task, self.owner, LEASE_SECONDS)

    def run(self) -> None:
        threading.Thread(target=self._heartbeat, daemon=True).start()
        idle, backoff = self.idle_min, OUTAGE_MIN_SECONDS
        while not self.stopping.is_set():
            try:
                worked = self._once()
            except Exception as exc:
                if not is_outage(exc):
                    raise  # a bug of the engine: die loudly; MAX_CLAIMS bounds the loop
                backoff = self._outage(exc, backoff)
                continue
            backoff = OUTAGE_MIN_SECONDS
            if worked:
                idle = self.idle_min
            else:
                self.stopping.wait(idle)
                idle = min(idle * 2, self.idle_max)
        self.store.close()

    def _once(self) -> bool:
        """Claim and execute one task; False when there was none."""
        if self.owes_release:  # an outage interrupted a task we may still hold
            self.store.release_owner(self.owner)
            self.owes_release = False
        claimed = self.store.claim(self.owner, LEASE_SECONDS)
        if claimed is None:
            return False
        self.current_task = claimed.task_id
        pid = claimed.process.id
        plan = CrashPlan(
            armed_for(self.store, claimed),
            on_fire=lambda point, name, pid=pid: self.store.record_crash(
                self.owner, pid, point, name
            ),
        )
        try:
            execute(self.store, claimed, plan)
        finally:
            self.current_task = None
        return True

    def _outage(self, exc: Exception, backoff: float) -> float:
        """The database failed (down, restarting, disk full): log one line, free what we
        hold once it answers, wait, and return the next (doubled, capped) wait."""
        what = "the disk is full" if is_disk_full(exc) else "the database failed"
        print(f"reference_engine worker {self.owner}: {what} ({describe(exc)}); "
              f"retrying in {backoff:.2f} s", file=sys.stderr, flush=True)
        self.owes_release = True
        self.stopping.wait(backoff)
        return min(backoff * 2, OUTAGE_MAX_SECONDS)


def exit_promptly(code: int) -> NoReturn:
    """End a worker that stopped cleanly without the interpreter's teardown.

    Why: the worker has closed its store, and what is left is finalizing modules
    (SQLAlchemy's, the bodies'): 0.1 to 0.3 s per worker on this 2-core machine kind, paid
    at every daemon stop (a fuzz campaign stops one per scenario). atexit handlers (a
    prelude's, e.g. a coverage hook) still run, and stdout and stderr are flushed.
    """
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="reference_engine.runtime.worker")
    parser.add_argument("--url", required=True)
    parser.add_argument("--owner", required=True)
    args = parser.parse_args(argv)
    redirect_output()
    die_with_parent()
    run_prelude()
    worker = Worker(args.url, args.owner)
    signal.signal(signal.SIGTERM, lambda *_: worker.stopping.set())
    signal.signal(signal.SIGINT, lambda *_: worker.stopping.set())
    notify_ready()
    worker.run()
    return 0


if __name__ == "__main__":
    exit_promptly(main())
