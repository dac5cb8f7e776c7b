"""Nothing a test run starts in Docker outlives it: not after Ctrl-C, not after SIGKILL.

A real pytest run (a subprocess in its own session) starts the containers provider in a
fixture and blocks; the test interrupts or kills its whole process group, then asks
Docker for anything labelled with that run's id (``docker ps -a``, ``docker network
ls``, ``docker volume ls`` filtered by label).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.services import Containers
from harness.services.container_reaper import RUN_LABEL
from harness.services.containers import docker_client

pytestmark = [pytest.mark.services, pytest.mark.slow]

INNER = '''
import pathlib, time
import pytest
from harness.services import Containers

@pytest.fixture
def services():
    provider = Containers()
    started = provider.start()
    pathlib.Path({ready!r}).write_text(provider.run_id)
    yield started
    provider.stop()

def test_hold(services):
    time.sleep(600)
'''


# As in test_no_leaks: Python keeps SIGINT ignored when it starts with SIGINT ignored (a
# run launched from a background job, as some CI runners do), so the inner run restores
# Python's own handler first, whatever it inherited, and Ctrl-C reaches it.
WITH_CTRL_C = ("import signal, sys, pytest; "
               "signal.signal(signal.SIGINT, signal.default_int_handler); "
               "sys.exit(pytest.main(sys.argv[1:]))")


def _left(run_id: str) -> list[str]:
    client = docker_client()
    selector = {"label": f"{RUN_LABEL}={run_id}"}
    return ([f"container {c.name}" for c in client.containers.list(all=True, filters=selector)]
            + [f"network {n.name}" for n in client.networks.list(filters=selector)]
            + [f"volume {v.name}" for v in client.volumes.list(filters=selector)])


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT], ids=["sigkill", "ctrl-c"])
def test_an_ended_test_run_leaves_no_container_network_or_volume(tmp_path: Path,
                                                                  how: int) -> None:
    reason = Containers().unavailable()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI provisions Docker with .ci/provision-containers, yet: {reason}")
        pytest.skip(reason)
    ready = tmp_path / "run_id"
    inner = tmp_path / "test_inner.py"
    inner.write_text(INNER.format(ready=str(ready)))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    proc = subprocess.Popen(
        [sys.executable, "-c", WITH_CTRL_C, "-q", "-p", "no:cacheprovider", str(inner)],
        cwd=tmp_path, env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240
        while not ready.exists():
            assert proc.poll() is None, "the inner test run ended before its containers started"
            assert time.monotonic() < deadline, "the inner run's containers did not start"
            time.sleep(0.2)
        run_id = ready.read_text()
        assert len(_left(run_id)) == 2  # both services are up, labelled with the run
        if how == signal.SIGINT:
            os.kill(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C sends pytest
        else:
            os.killpg(proc.pid, signal.SIGKILL)  # no teardown at all
        proc.wait(120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)
    deadline = time.monotonic() + 90
    while _left(run_id) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _left(run_id) == []
