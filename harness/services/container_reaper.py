"""Removes the containers of a test run that died without cleaning up, by label.

testcontainers' own reaper (Ryuk) is a container pulled from a registry; where none is
reachable it cannot start, so it is disabled and this module does its job. Every
container the ``Containers`` provider starts carries two labels: ``org.wfconform.run``
(one id per provider) and ``org.wfconform.owner`` (the pid and kernel start time of the
process that started it). Two nets catch what teardown missed:

- a watchdog process, in its own session so that a SIGKILL of the test run's process
  group spares it, polls the owner; when the owner is gone it removes every container,
  network and volume labelled with the run id (``docker rm -f -v``), then exits;
- ``sweep_orphans``, called before a provider starts, removes labelled containers whose
  owner process no longer exists (e.g. the watchdog was killed too).

It lives apart from ``reaper.py`` (which reaps local server processes by marker) so the
two can change independently.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import threading
from typing import Any

from harness.services.reaper import _start_time

RUN_LABEL = "org.wfconform.run"
OWNER_LABEL = "org.wfconform.owner"
POLL_SECONDS = 0.2
REAPER_MAIN = ("import sys; from harness.services.container_reaper import main; "
               "sys.exit(main())")


def owner_label(pid: int | None = None) -> str:
    """``pid:starttime`` of this process (or ``pid``): tells it from a later reuse."""
    pid = os.getpid() if pid is None else pid
    return f"{pid}:{_start_time(pid)}"


def _owner_alive(label: str) -> bool:
    pid, _, born = label.partition(":")
    if not pid.isdigit():
        return True  # not ours to judge
    return str(_start_time(int(pid))) == born


def remove_run(client: Any, run_id: str) -> list[str]:
    """Remove every container (with its volumes), network and volume of ``run_id``."""
    selector = {"label": f"{RUN_LABEL}={run_id}"}
    removed = []
    for container in client.containers.list(all=True, filters=selector):
        with contextlib.suppress(Exception):  # already gone, or being removed
            container.remove(force=True, v=True)
            removed.append(container.name)
    for network in client.networks.list(filters=selector):
        with contextlib.suppress(Exception):
            network.remove()
    for volume in client.volumes.list(filters=selector):
        with contextlib.suppress(Exception):
            volume.remove(force=True)
    return removed


def sweep_orphans(client: Any) -> list[str]:
    """Remove labelled containers whose owning process is gone; return their names."""
    removed = []
    runs = set()
    for container in client.containers.list(all=True, filters={"label": RUN_LABEL}):
        owner = container.labels.get(OWNER_LABEL, "")
        if not _owner_alive(owner):
            runs.add(container.labels[RUN_LABEL])
    for run_id in sorted(runs):
        removed += remove_run(client, run_id)
    return removed


class ContainerWatchdog:
    """In-process side: starts the watchdog for one run id; ``close`` ends it."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self._proc: subprocess.Popen[bytes] | None = subprocess.Popen(
            [sys.executable, "-c", REAPER_MAIN, "--parent", str(os.getpid()),
             "--run", run_id],
            start_new_session=True, stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)},
        )

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    def close(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            self._proc.wait(10)
        self._proc = None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="harness.services.container_reaper")
    parser.add_argument("--parent", type=int, required=True)
    parser.add_argument("--run", required=True)
    args = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C is the test run's to handle
    born = _start_time(args.parent)
    while not stop.wait(POLL_SECONDS):
        if born is None or _start_time(args.parent) != born:
            import docker

            remove_run(docker.from_env(timeout=60), args.run)
            return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
