"""A watchdog that removes our servers if the test session dies without cleaning up.

pytest tears fixtures down after a failing test and after Ctrl-C, so the normal path
stops every server. A SIGKILL (or SIGTERM) of pytest runs no teardown: for that, the
first throwaway server starts this small process in its own session. It polls the
session's pid; when that pid is gone it kills every process carrying a listed server
marker (see ``_proc.marked``) and deletes every listed directory, then exits. The
registry is rewritten whenever a server starts or stops, so the reaper never touches
what was already cleaned up.

The reaper keeps the last registry it read in memory (issue 12, item 8): the registry
lives in the servers' base folder, and when a caller removed that folder while the
servers still ran (a test whose fixture gave up on a hung session), the reaper found no
registry at its session's death and left a RabbitMQ node and a PostgreSQL running. A
normal end stops it with SIGUSR1; a SIGTERM (a CI runner ending the whole job) makes it
reap if its session dies within ``TERM_GRACE_SECONDS``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from harness.services._proc import kill_marked
from harness.services.base import ServiceError

POLL_SECONDS = 0.2
TERM_GRACE_SECONDS = 2.0
# -c, not -m: the package imports this module first, and runpy warns about that.
REAPER_MAIN = "import sys; from harness.services.reaper import main; sys.exit(main())"


def _start_time(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (to tell it from a later process reusing it)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] == "Z" else fields[19]  # a zombie is dead already


class Reaper:
    """In-process side: the registry of what to clean, and the watchdog process."""

    def __init__(self, registry: Path) -> None:
        self.registry = registry
        self._markers: dict[str, str] = {}
        self._dirs: dict[str, str] = {}
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None

    def add(self, key: str, marker: str | None = None, directory: Path | None = None) -> None:
        with self._lock:
            if marker is not None:
                self._markers[key] = marker
            if directory is not None:
                self._dirs[key] = str(directory)
            self._write()
        self._ensure_running()

    def forget_processes(self, key: str) -> None:
        with self._lock:
            self._markers.pop(key, None)
            self._write()

    def forget(self, key: str) -> None:
        with self._lock:
            self._markers.pop(key, None)
            self._dirs.pop(key, None)
            self._write()

    def _write(self) -> None:
        data = {"markers": sorted(self._markers.values()),
                "dirs": sorted(self._dirs.values())}
        tmp = self.registry.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        tmp.replace(self.registry)

    def _ensure_running(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            return
        self._proc = subprocess.Popen(
            [sys.executable, "-c", REAPER_MAIN, "--parent", str(os.getpid()),
             "--registry", str(self.registry)],
            start_new_session=True, stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)},
        )

    def close(self) -> None:
        """Normal end of session: everything is cleaned; stop the watchdog (SIGUSR1:
        SIGTERM means "the job is being torn down", see the module doc)."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGUSR1)
            self._proc.wait(10)
        self.registry.unlink(missing_ok=True)

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid


def read_registry(registry: Path) -> dict[str, list[str]] | None:
    try:
        data = json.loads(registry.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def reap(registry: Path, known: dict[str, list[str]] | None = None) -> None:
    """Kill the listed servers' processes and delete the listed directories.

    ``known``: the last registry read, used when the file itself is gone.
    """
    data = read_registry(registry)
    if data is None:
        data = known or {}
    for marker in data.get("markers", []):
        with contextlib.suppress(ServiceError):
            kill_marked(marker)
    for directory in data.get("dirs", []):
        shutil.rmtree(directory, ignore_errors=True)
    registry.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="harness.services.reaper")
    parser.add_argument("--parent", type=int, required=True)
    parser.add_argument("--registry", type=Path, required=True)
    args = parser.parse_args(argv)
    stop, closed = threading.Event(), threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGUSR1, lambda *_: (closed.set(), stop.set()))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C is pytest's to handle
    born = _start_time(args.parent)
    known = read_registry(args.registry)

    def parent_gone() -> bool:
        return born is None or _start_time(args.parent) != born

    while not stop.wait(POLL_SECONDS):
        known = read_registry(args.registry) or known
        if parent_gone():
            reap(args.registry, known)
            return 0
    if closed.is_set():
        return 0
    deadline = time.monotonic() + TERM_GRACE_SECONDS  # SIGTERM: is the session dying?
    while time.monotonic() < deadline:
        if parent_gone():
            reap(args.registry, known)
            return 0
        time.sleep(0.05)
    return 0


if __name__ == "__main__":
    sys.exit(main())
