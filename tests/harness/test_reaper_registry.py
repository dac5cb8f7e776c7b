"""The servers' reaper cleans up after its session even when its registry file is gone,
and when the whole job is torn down with SIGTERM (issue 12, item 8).

No real servers: a marked ``sleep`` process stands for one (the reaper finds servers by
the marker in their environment), so this runs in about a second.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.services._proc import MARKER_ENV, marked
from harness.services.reaper import Reaper

SESSION = """\
import sys, time
from pathlib import Path
from harness.services.reaper import Reaper
reaper = Reaper(Path(sys.argv[1]))
reaper.add("server", marker=sys.argv[2], directory=Path(sys.argv[3]))
print(reaper.pid, flush=True)
time.sleep(60)
"""


def _cpu(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def wait_until_idle(pid: int, timeout: float = 60) -> None:
    """Until ``pid`` spends no CPU for 0.5 s: the reaper has started and sits in its
    poll loop, so it has read the registry (the first thing it does)."""
    deadline = time.monotonic() + timeout
    last = _cpu(pid)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = _cpu(pid)
        if now == last:
            return
        last = now
    raise AssertionError(f"the reaper {pid} never settled")


def _gone_soon(marker: str, folder: Path, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while marked(marker) or folder.exists():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.mark.parametrize("end", ["sigterm-session", "sigterm-job"])
def test_the_reaper_cleans_up_without_its_registry_file(tmp_path: Path, end: str) -> None:
    marker = f"robust-{os.getpid()}-{end}"
    folder = tmp_path / "server-folder"
    folder.mkdir()
    server = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                              env={**os.environ, MARKER_ENV: marker})
    registry = tmp_path / "registry.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    session = subprocess.Popen([sys.executable, "-c", SESSION, str(registry), marker,
                                str(folder)], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert session.stdout is not None
        reaper_pid = int(session.stdout.readline())
        wait_until_idle(reaper_pid)
        registry.unlink()  # as when a caller removed the folder holding it
        session.send_signal(signal.SIGTERM)
        if end == "sigterm-job":  # a CI runner ending every process of the job
            os.kill(reaper_pid, signal.SIGTERM)
        session.wait(10)
        assert _gone_soon(marker, folder), f"left: {marked(marker)}, {folder.exists()}"
    finally:
        for proc in (server, session):
            if proc.poll() is None:
                proc.kill()
            proc.wait()


def test_a_normal_close_stops_the_reaper_without_reaping(tmp_path: Path) -> None:
    marker = f"robust-{os.getpid()}-close"
    server = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                              env={**os.environ, MARKER_ENV: marker})
    try:
        reaper = Reaper(tmp_path / "registry.json")
        reaper.add("server", marker=marker)
        started = time.monotonic()
        reaper.close()
        assert time.monotonic() - started < 2.0  # no SIGTERM grace on a normal close
        assert marked(marker) == [server.pid]
    finally:
        server.kill()
        server.wait()
