"""The dev server as a throwaway server: restarts on its port and file, leaves nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from harness.adapters.temporal.server import LocalTemporal
from harness.services._proc import marked, port_open
from harness.services.reaper import Reaper
from tests.temporal.conftest import needs_temporal

pytestmark = [needs_temporal]


def test_a_killed_dev_server_starts_again_on_its_port_with_its_database() -> None:
    reaper = Reaper(Path(tempfile.mkstemp(prefix="wfconform-reaper-", suffix=".json")[1]))
    server = LocalTemporal(reaper)
    try:
        server.start()
        assert port_open(server.port) and server.db.exists()
        size = server.db.stat().st_size
        server.kill()
        assert not server.is_running() and not port_open(server.port)
        server.start()
        assert port_open(server.port) and server.db.stat().st_size >= size
    finally:
        server.destroy()
        reaper.close()
    assert not marked(server.marker) and not server.folder.exists()


_HARNESS = """
import os, subprocess, sys, time
from harness.adapters.temporal.server import shared_server
from harness.services._proc import MARKER_ENV
server = shared_server()
worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"],
                          env={**os.environ, MARKER_ENV: server.worker_marker},
                          start_new_session=True)
print(server.marker, server.worker_marker, server.folder, flush=True)
time.sleep(300)
"""


@pytest.mark.slow
def test_a_sigkilled_harness_leaves_no_dev_server_worker_or_folder() -> None:
    """The reaper (started with the server) kills the server and the workers and removes
    the folder when the harness process dies without any cleanup."""
    root = str(Path(__file__).resolve().parents[2])
    harness = subprocess.Popen([sys.executable, "-c", _HARNESS], stdout=subprocess.PIPE,
                               env={**os.environ, "PYTHONPATH": root}, text=True)
    try:
        marker, worker_marker, folder = harness.stdout.readline().split()  # type: ignore[union-attr]
        # the worker's environment carries its marker only once it has exec'd (a loaded
        # CI machine was seen between fork and exec at this point): wait for it
        ready = time.monotonic() + 30
        while not marked(worker_marker) and time.monotonic() < ready:
            time.sleep(0.05)
        assert marked(marker) and marked(worker_marker) and Path(folder).exists()
    finally:
        harness.send_signal(signal.SIGKILL)
        harness.wait()
    deadline = time.monotonic() + 30
    while (marked(marker) or marked(worker_marker) or Path(folder).exists()) \
            and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not marked(marker), "the dev server outlived the harness"
    assert not marked(worker_marker), "a worker outlived the harness"
    assert not Path(folder).exists(), "the server's folder outlived the harness"
