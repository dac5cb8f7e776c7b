"""Nothing the harness starts outlives the test session: after a failure, Ctrl-C or a kill.

Each case runs a separate pytest session (a subprocess, as a user runs it) whose session
fixture starts a throwaway PostgreSQL and RabbitMQ, records how to find their processes
and folders, then fails, hangs until interrupted, or hangs until SIGKILLed. Afterwards
no process carries the servers' markers, their folders and the reaper are gone.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.services._proc import marked

pytestmark = [pytest.mark.services, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]

INNER = '''
import json, os, time
from pathlib import Path

import pytest

from harness.services import LocalServers


@pytest.fixture(scope="session")
def servers():
    provider = LocalServers(base=Path(os.environ["WFC_LEAK_BASE"]))
    started = provider.start()
    Path(os.environ["WFC_LEAK_INFO"]).write_text(json.dumps({
        "markers": [provider.postgres.marker, provider.rabbitmq.marker],
        "folders": [str(provider.postgres.folder), str(provider.rabbitmq.folder)],
        "reaper": provider.reaper.pid,
    }))
    yield started
    provider.stop()


def test_fails(servers):
    assert False, "failing on purpose, with servers running"


def test_hangs(servers):
    Path(os.environ["WFC_LEAK_INFO"] + ".ready").touch()
    time.sleep(300)
'''


@pytest.fixture
def base() -> Iterator[Path]:
    """Where the inner session's servers live: under /tmp, as pytest's own tmp_path is
    0700 and the postgres and rabbitmq users could not reach into it."""
    folder = Path(tempfile.mkdtemp(prefix="wfc-leak-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


# Python leaves SIGINT ignored when it starts with SIGINT ignored (a session launched from
# a background job, as some CI runners do): Ctrl-C then never reached the inner session.
# The inner session restores Python's own handler first, whatever it inherited.
WITH_CTRL_C = ("import signal, sys, pytest; "
               "signal.signal(signal.SIGINT, signal.default_int_handler); "
               "sys.exit(pytest.main(sys.argv[1:]))")


@pytest.fixture
def inner_sessions(base: Path) -> Iterator[list[subprocess.Popen[str]]]:
    """Every inner session is ended, whatever the test did (a hung one is SIGKILLed and
    its reaper cleans up) before ``base``, which holds its servers, is removed."""
    sessions: list[subprocess.Popen[str]] = []
    yield sessions
    for proc in sessions:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=30)


def start_inner(tmp_path: Path, base: Path, which: str,
                sessions: list[subprocess.Popen[str]]
                ) -> tuple[subprocess.Popen[str], Path, Path]:
    info = tmp_path / "info.json"
    (tmp_path / "test_inner.py").write_text(INNER)
    env = {**os.environ, "WFC_LEAK_BASE": str(base), "WFC_LEAK_INFO": str(info),
           "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", WITH_CTRL_C, "-q", "-p", "no:cacheprovider", "-k", which,
         str(tmp_path / "test_inner.py")],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        stdin=subprocess.DEVNULL,
    )
    sessions.append(proc)
    return proc, base, info


def wait_for(path: Path, proc: subprocess.Popen[str], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, f"inner session ended early: {proc.communicate()[0]}"
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.05)


def leftovers(info: Path, base: Path) -> list[str]:
    data = json.loads(info.read_text())
    found = [f"process {pid} of {m}" for m in data["markers"] for pid in marked(m)]
    found += [f"folder {f}" for f in data["folders"] if Path(f).exists()]
    found += [f"file {p}" for p in base.iterdir()]
    reaper = data["reaper"]
    if reaper is not None and Path(f"/proc/{reaper}").exists():
        state = Path(f"/proc/{reaper}/stat").read_text().rsplit(")", 1)[1].split()[0]
        if state != "Z":
            found.append(f"reaper {reaper}")
    return found


def assert_gone_soon(info: Path, base: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while leftovers(info, base):
        assert time.monotonic() < deadline, f"left behind: {leftovers(info, base)}"
        time.sleep(0.1)


def test_servers_are_gone_after_a_failing_test(
    tmp_path: Path, base: Path, inner_sessions: list[subprocess.Popen[str]]
) -> None:
    proc, base, info = start_inner(tmp_path, base, "fails", inner_sessions)
    output, _ = proc.communicate(timeout=180)
    assert proc.returncode == 1 and "failing on purpose" in output, output
    assert leftovers(info, base) == []


def test_servers_are_gone_after_ctrl_c(
    tmp_path: Path, base: Path, inner_sessions: list[subprocess.Popen[str]]
) -> None:
    """Also when this session runs with SIGINT ignored (see ``WITH_CTRL_C``)."""
    proc, base, info = start_inner(tmp_path, base, "hangs", inner_sessions)
    wait_for(Path(f"{info}.ready"), proc)
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=120)
    assert "KeyboardInterrupt" in output, output
    assert leftovers(info, base) == []


def test_servers_are_gone_after_the_session_is_killed(
    tmp_path: Path, base: Path, inner_sessions: list[subprocess.Popen[str]]
) -> None:
    """Even with the reaper's registry file gone: a caller that removed the servers' base
    folder deleted it with them, and the reaper then reaped nothing (issue 12, item 8);
    it now keeps the last registry it read."""
    proc, base, info = start_inner(tmp_path, base, "hangs", inner_sessions)
    wait_for(Path(f"{info}.ready"), proc)
    assert leftovers(info, base) != []  # running now: the check below is not vacuous
    time.sleep(3 * 0.2)  # the reaper has read the registry (it polls every 0.2 s)
    for registry in base.glob("wfconform-reaper-*.json"):
        registry.unlink()
    proc.kill()  # SIGKILL: no teardown runs; the reaper must clean up
    proc.wait(30)
    assert_gone_soon(info, base, timeout=30)
