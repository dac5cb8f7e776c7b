"""The throwaway profile leaves nothing behind: no folder, no vhost, no process.

Each case runs in a child Python process (AiiDA loads one profile per process, and the
session's shared profile must not be disturbed), which prints what it made; the test
then checks that all of it is gone: after `close()`, after an exception (atexit), and
after a SIGKILL of the child (the next profile's sweep).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.aiida.conftest import needs_aiida

pytestmark = [needs_aiida, pytest.mark.services, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import json, sys
from harness.adapters.aiida.profile import ThrowawayProfile
profile = ThrowawayProfile().open()
if sys.argv[1] == "with":  # entering an open profile must not open a second one
    first = profile.root
    profile = profile.__enter__()
    assert profile.root == first, (first, profile.root)
import os
from harness.adapters.aiida.profile import _circus_socket_dir
made = {"root": str(profile.root), "vhost": profile.vhost, "aiida_path": os.environ["AIIDA_PATH"],
        "sockets": str(_circus_socket_dir(profile.client())),
        "workers": profile.worker_pids(), "pids": sorted(profile.run_pids())}
print(json.dumps(made), flush=True)
if sys.argv[1] == "fail":
    raise RuntimeError("a run that fails half-way")
if sys.argv[1] == "sigkill":
    import os, signal
    os.kill(os.getpid(), signal.SIGKILL)
profile.__exit__(None, None, None) if sys.argv[1] == "with" else profile.close()
"""


def _vhosts() -> list[str]:
    done = subprocess.run(["rabbitmqctl", "-q", "list_vhosts"], capture_output=True,
                          text=True, check=True, timeout=60)
    return done.stdout.split()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


@pytest.mark.parametrize("ending", ["close", "with", "fail", "sigkill"])
def test_profile_removes_folder_vhost_and_daemon_processes(ending: str) -> None:
    home = Path.home() / ".aiida"
    home_before = home.exists()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("AIIDA_PATH", None)  # the adapter must not fall back to ~/.aiida
    done = subprocess.run([sys.executable, "-c", CHILD, ending], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=180)
    assert (done.returncode == 0) is (ending in ("close", "with")), done.stderr[-2000:]
    made = json.loads(done.stdout.splitlines()[0])
    if ending == "sigkill":
        assert Path(made["root"]).exists()  # nothing ran at exit: the sweep must do it
        from harness.adapters.aiida.profile import sweep_stale

        swept = sweep_stale()
        assert Path(made["root"]) in swept
        assert Path(made["aiida_path"]) in swept  # the package's bare AIIDA_PATH folder
    assert made["workers"] and set(made["workers"]) <= set(made["pids"])
    assert not Path(made["root"]).exists() and not Path(made["aiida_path"]).exists()
    assert made["vhost"] not in _vhosts()
    assert made["sockets"] != "None" and not Path(made["sockets"]).exists()  # circus's temp dir
    assert [pid for pid in made["pids"] if _alive(pid)] == []
    assert home.exists() is home_before


RESTART_CHILD = """
import json
from pathlib import Path
from harness.adapters.aiida.profile import ThrowawayProfile

def env_of(pid):
    return dict(item.split("=", 1) for item in
                Path(f"/proc/{pid}/environ").read_text().split("\\0") if "=" in item)

profile = ThrowawayProfile(workers=2).open(daemon=False)
try:
    profile.set_env("WFCONFORM_TEST_SCENARIO", "one")
    profile.set_env("WFCONFORM_TEST_ONLY_FIRST", "yes")
    first = profile.start_workers()
    circus = profile.client().get_daemon_pid()
    seen = [{pid: env_of(pid) for pid in first}]
    profile.stop_workers()
    stopped = profile.worker_pids()
    profile.set_env("WFCONFORM_TEST_SCENARIO", "two")
    profile.set_env("WFCONFORM_TEST_ONLY_FIRST", None)
    second = profile.start_workers()
    seen.append({pid: env_of(pid) for pid in second})
    print(json.dumps({"first": first, "second": second, "stopped": stopped,
                      "circus": [circus, profile.client().get_daemon_pid()],
                      "envs": seen}), flush=True)
finally:
    profile.close()
"""


def test_workers_restart_with_the_new_environment_while_circus_stays() -> None:
    """Scenario isolation without a circus restart: new worker processes, with exactly
    the new scenario's variables (one removed, one changed), and nothing else of ours."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", RESTART_CHILD], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    made = json.loads(done.stdout.splitlines()[0])
    assert len(made["first"]) == 2 and len(made["second"]) == 2
    assert not set(made["first"]) & set(made["second"])  # new processes
    assert made["stopped"] == []
    assert made["circus"][0] == made["circus"][1]  # the same circus served both
    first, second = made["envs"]
    for worker_env in first.values():
        assert worker_env["WFCONFORM_TEST_SCENARIO"] == "one"
        assert worker_env["WFCONFORM_TEST_ONLY_FIRST"] == "yes"
    for worker_env in second.values():
        assert worker_env["WFCONFORM_TEST_SCENARIO"] == "two"
        assert "WFCONFORM_TEST_ONLY_FIRST" not in worker_env
        assert worker_env["AIIDA_PATH"] == next(iter(first.values()))["AIIDA_PATH"]
    assert [pid for pid in [*made["first"], *made["second"]] if _alive(pid)] == []
