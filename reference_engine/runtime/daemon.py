"""The supervising daemon: keeps N worker OS processes alive and frees a dead one's leases.

When a worker dies (SIGKILL included), the daemon releases that worker's leases at once,
so another worker continues its process from the last checkpoint without waiting for a
lease to expire, and then starts a replacement. Usable in-process (``with Daemon(...)``)
or as its own process (``python -m reference_engine.runtime.daemon``, used by the CLI).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import select
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.exc import SQLAlchemyError

from reference_engine.runtime.amqp_env import BROKER_ENV
from reference_engine.runtime.ready import READY_BYTE, READY_FD_ENV_VAR
from reference_engine.storage.store import Store

if TYPE_CHECKING:
    from reference_engine.runtime.sweeper import Sweeper
    from reference_engine.runtime.warm import WarmWorkers

SUPERVISE_INTERVAL = 0.005
RELEASE_RETRY_INTERVAL = 0.5  # seconds between retries of releases the database refused


@dataclass(frozen=True)
class WorkerDeath:
    owner: str
    pid: int
    returncode: int
    at: float
    released: int


class Daemon:
    """Supervise ``workers`` worker processes for the database at ``url``."""

    def __init__(self, url: str, workers: int = 2, env: dict[str, str] | None = None,
                 broker_url: str | None = None, lease_seconds: float | None = None,
                 sweep_after: float = 2.0, warm: WarmWorkers | None = None):
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.store = Store(url)
        self.url = self.store.url
        # Real runtime: workers consume RabbitMQ hints; a sweeper re-announces lost ones.
        self.broker_url = broker_url
        self.lease_seconds = lease_seconds
        self.sweeper: Sweeper | None = None
        if broker_url is not None:
            from reference_engine.runtime.sweeper import Sweeper  # pika only when asked

            self.sweeper = Sweeper(self.store, broker_url, after=sweep_after)
            self.store.on_ready = self.sweeper.announce
        self.count = workers
        self.warm = warm  # booted workers to take before starting any (`runtime.warm`)
        self.env = worker_env(env)
        self.deaths: list[WorkerDeath] = []
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._booting: dict[str, int] = {}  # owner -> read end of its ready pipe
        self._serving: set[str] = set()  # owners that said they take tasks
        self._unreleased: set[str] = set()  # dead owners whose leases the database refused
        self._next_release_retry = 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None

    # --------------------------------------------------------------- lifecycle
    def start(self) -> Daemon:
        self._thread = threading.Thread(target=self._supervise, name="daemon", daemon=True)
        self._thread.start()
        self._ready.wait(30)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout + 5)
        if self.sweeper is not None:
            self.sweeper.close()
        self.store.close()

    def __enter__(self) -> Daemon:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --------------------------------------------------------------- queries
    def worker_pids(self) -> list[int]:
        with self._lock:
            return [p.pid for p in self._procs.values() if p.poll() is None]

    def owner_of(self, pid: int) -> str | None:
        """The owner name (lease holder) of live worker ``pid``; None if there is none."""
        with self._lock:
            for owner, proc in self._procs.items():
                if proc.pid == pid and proc.poll() is None:
                    return owner
        return None

    def kill_worker(self, pid: int | None = None) -> int:
        """SIGKILL one worker (the given pid, or the first alive); returns its pid."""
        pids = self.worker_pids()
        victim = pid if pid is not None else (pids[0] if pids else None)
        if victim is None or victim not in pids:
            raise ValueError(f"no live worker with pid {victim}; live workers: {pids}")
        os.kill(victim, signal.SIGKILL)
        return victim

    def wait_serving(self, timeout: float = 30.0) -> int:
        """Wait until every live worker says it takes tasks, at most ``timeout`` seconds;
        return how many live workers serve.

        Why: ``start`` returns once workers are spawned, but their boot (imports, the
        store) took seconds under load, and a caller timing its first task from there
        charged that boot to the task. A worker that dies while booting counts as not
        serving; its replacement is waited for like any other, but when more than twice
        ``count`` workers die meanwhile (a worker that cannot start), it returns at once.
        """
        deadline = time.monotonic() + timeout
        deaths_before = len(self.deaths)
        while True:
            if len(self.deaths) - deaths_before > 2 * self.count:
                return len(self._serving)  # workers die at boot: waiting will not help
            with self._lock:
                live = {o for o, p in self._procs.items() if p.poll() is None}
                pending = {o: fd for o, fd in self._booting.items() if o in live}
                serving = len(live & self._serving)
            left = deadline - time.monotonic()
            if serving >= self.count or left <= 0:
                return serving
            if not pending:  # a replacement is being spawned: let the supervisor run
                time.sleep(min(0.01, left))
                continue
            try:
                readable, _, _ = select.select(list(pending.values()), [], [], min(0.1, left))
            except (OSError, ValueError):  # the supervisor closed a dead worker's pipe
                continue
            for owner, fd in pending.items():
                if fd in readable:
                    self._heard_from(owner, fd)

    def _heard_from(self, owner: str, fd: int) -> None:
        """Read a booting worker's pipe: its ready byte, or EOF (it died first)."""
        try:
            data = os.read(fd, 1)
        except OSError:
            data = b""
        with self._lock:
            if self._booting.pop(owner, None) is None:
                return  # another thread read it already
            if data == READY_BYTE:
                self._serving.add(owner)
        os.close(fd)

    def _forget(self, owner: str) -> None:
        """Drop a dead or stopped worker's readiness state (and close its pipe)."""
        with self._lock:
            fd = self._booting.pop(owner, None)
            self._serving.discard(owner)
        if fd is not None:
            os.close(fd)

    def wait_for_workers(self, count: int | None = None, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.worker_pids()) < (count or self.count):
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {len(self.worker_pids())} workers after {timeout} s")
            time.sleep(0.01)

    # --------------------------------------------------------------- supervision
    def _spawn(self) -> None:
        owner = f"w{secrets.token_hex(4)}"
        module = worker_module(self.broker_url)  # broker URL: in env,
        args = ["--url", self.url, "--owner", owner]  # so its password is not on `ps`
        if self.broker_url is not None and self.lease_seconds is not None:
            args += ["--lease", str(self.lease_seconds)]
        command = worker_command(module, args)
        env = self.env if self.broker_url is None else {**self.env,
                                                        BROKER_ENV: self.broker_url}
        pool = self.warm if self.warm is not None and self.warm.module == module else None
        taken = pool.take(args, env) if pool is not None else None
        if taken is not None:  # booted ahead of need (`runtime.warm`): no import wait
            with self._lock:
                self._procs[owner] = taken.proc
                self._booting[owner] = taken.ready_fd
            return
        # own session: a Ctrl-C at the terminal reaches the daemon's owner, which stops
        # the workers in order, not the workers themselves (no KeyboardInterrupt
        # fragments); PR_SET_PDEATHSIG still ends them if the daemon dies
        read_end, write_end = os.pipe()
        try:
            proc = subprocess.Popen(command, env={**env, READY_FD_ENV_VAR: str(write_end)},
                                    start_new_session=True, pass_fds=(write_end,))
        except BaseException:
            os.close(read_end)
            raise
        finally:
            os.close(write_end)  # the worker holds the only write end: EOF if it dies
        with self._lock:
            self._procs[owner] = proc
            self._booting[owner] = read_end

    def _supervise(self) -> None:
        """Spawn from this thread only: PR_SET_PDEATHSIG follows the spawning thread."""
        for _ in range(self.count):
            self._spawn()
        self._ready.set()
        while not self._stop.wait(SUPERVISE_INTERVAL):
            with self._lock:
                dead = [(o, p) for o, p in self._procs.items() if p.poll() is not None]
                for owner, _ in dead:
                    del self._procs[owner]
            for owner, proc in dead:
                self._forget(owner)
                released = self._release(owner)
                self.deaths.append(
                    WorkerDeath(owner, proc.pid, proc.returncode, time.monotonic(), released)
                )
                self._spawn()
            self._retry_releases()
            if self.sweeper is not None:
                self.sweeper.tick()
        self._terminate_all()

    def _release(self, owner: str) -> int:
        """Free a dead worker's leases; if the database is down, retry until it is back.

        Waiting for lease expiry instead left every task of a worker that died during a
        database outage stalled for a whole lease (60 s) after the outage ended. Freeing
        late is safe: the owner is dead (reaped), so nothing of it can commit any more,
        and a lease that expired and was taken over names another owner.
        """
        try:
            return self.store.release_owner(owner)
        except SQLAlchemyError:
            self._unreleased.add(owner)
            return 0

    def _retry_releases(self) -> None:
        now = time.monotonic()
        if not self._unreleased or now < self._next_release_retry:
            return
        self._next_release_retry = now + RELEASE_RETRY_INTERVAL
        for owner in sorted(self._unreleased):
            try:
                self.store.release_owner(owner)
            except SQLAlchemyError:
                return  # still down: the next retry tries them all again
            self._unreleased.discard(owner)

    @property
    def unreleased(self) -> frozenset[str]:
        """Dead workers whose leases are not freed yet (the database refused so far)."""
        return frozenset(self._unreleased)

    def _terminate_all(self) -> None:
        with self._lock:
            procs = list(self._procs.items())
        for _, proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 5
        for owner, proc in procs:
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            self._release(owner)
            self._forget(owner)
        with self._lock:
            self._procs.clear()


# Runs before anything else in a worker (``python -c``): ask for SIGKILL when the parent
# dies, then check that the parent is still the one that spawned us. Why not in the
# worker module: importing it (SQLAlchemy, the engine) takes a few hundred milliseconds
# under load, and a daemon SIGKILLed in that window left workers polling with no parent.
# The getppid check closes the last gap (a parent that died before the prctl).
_BOOTSTRAP = """\
import ctypes, os, signal, sys
try:
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
except (OSError, AttributeError):
    pass
if os.getppid() != int(sys.argv[1]):
    os._exit(0)
import runpy
sys.argv = [sys.argv[2], *sys.argv[3:]]
runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
"""


def worker_module(broker_url: str | None) -> str:
    """The module a daemon's workers run: the poll worker, or with a broker the AMQP one."""
    return ("reference_engine.runtime.worker" if broker_url is None
            else "reference_engine.runtime.amqp_worker")


def worker_command(module: str, args: list[str]) -> list[str]:
    """The command of a worker OS process that dies with this process from its start."""
    return [sys.executable, "-c", _BOOTSTRAP, str(os.getpid()), module, *args]


def worker_env(extra: dict[str, str] | None) -> dict[str, str]:
    """Workers import what this process can import: pass our sys.path on."""
    env = dict(os.environ)
    paths = [p for p in sys.path if p] + [os.getcwd()]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    env.update(extra or {})
    return env


def status_path(url: str) -> Path | None:
    """Where a standalone daemon writes its status (beside a SQLite file)."""
    if url.startswith("sqlite:///"):
        return Path(url.split("sqlite:///", 1)[1] + ".daemon.json")
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="reference_engine.runtime.daemon")
    parser.add_argument("--url", required=True)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    daemon = Daemon(args.url, args.workers).start()
    path = status_path(daemon.url)
    try:
        while not stop.wait(0.2):
            if path is not None:
                status = {"pid": os.getpid(), "workers": daemon.worker_pids(),
                          "deaths": len(daemon.deaths)}
                tmp = path.with_suffix(".tmp")
                tmp.write_text(json.dumps(status))
                tmp.replace(path)
    finally:
        daemon.stop()
        if path is not None:
            path.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
