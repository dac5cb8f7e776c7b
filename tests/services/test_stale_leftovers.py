"""What a SIGKILLed real-tier run leaves on shared servers is removed by the next run.

The real tier names each scenario database and its run vhost after the harness process
that made them (``harness.services.owned_names``); a later run on this host drops those
of owners that are gone. Pure naming rules first, then the servers: hand-made leftovers,
and a ``wfconform fuzz --tier real`` run killed with SIGKILL as a CI timeout would.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.adapters.reference_real import RUN_PREFIX, SCENARIO_PREFIX, sweep_stale
from harness.services import Services
from harness.services.owned_names import host_tag, owned_name, stale_names

ROOT = Path(__file__).resolve().parents[2]


def _dead_pid() -> int:
    """The pid of a process that has ended (reaped, so no longer alive)."""
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait()
    return done.pid


# ------------------------------------------------------------------ naming (pure)
def test_a_name_says_its_host_and_owner_and_fits_an_identifier() -> None:
    name = owned_name("wfc_scn", pid=4242, hostname="ci-runner-7")
    assert name.startswith(f"wfc_scn_{host_tag('ci-runner-7')}_4242_")
    assert len(name) <= 63 and name == name.lower()
    assert owned_name("wfc_scn") != owned_name("wfc_scn")


def test_only_names_of_this_host_whose_owner_is_gone_are_stale() -> None:
    here, there = "box-a", "box-b"
    gone = owned_name("wfc_scn", pid=111, hostname=here)
    alive = owned_name("wfc_scn", pid=222, hostname=here)
    elsewhere = owned_name("wfc_scn", pid=111, hostname=there)
    mine = owned_name("wfc_scn", hostname=here)  # this process's own
    other_prefix = owned_name("wfc_run", pid=111, hostname=here)
    names = [gone, alive, elsewhere, mine, other_prefix, "wfc_scn_0a1b2c3d4e",
             "wfc_scn", "postgres"]
    assert stale_names(names, "wfc_scn", hostname=here,
                       alive=lambda pid: pid == 222) == [gone]


def test_another_pid_namespace_is_another_host() -> None:
    """A container sharing this host's name and network has its own pids: its names must
    never look like ours, or our sweep would judge its live runs by our process table."""
    inside = subprocess.run(
        ["unshare", "--pid", "--fork", "--mount-proc", sys.executable, "-c",
         "from harness.services.owned_names import host_tag; print(host_tag())"],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=60)
    assert inside.stdout.strip() not in ("", host_tag())


# ------------------------------------------------------------------ on the servers
@pytest.mark.services
def test_the_sweep_drops_leftovers_of_dead_owners_and_keeps_the_rest(
        services: Services) -> None:
    databases, vhosts = services.postgres.isolation, services.rabbitmq.isolation
    assert hasattr(databases, "names")
    dead = _dead_pid()
    alive = subprocess.Popen(["sleep", "120"])  # another live harness process
    stale_db, live_db = owned_name(SCENARIO_PREFIX, pid=dead), owned_name(SCENARIO_PREFIX)
    others_db = owned_name(SCENARIO_PREFIX, pid=alive.pid)
    foreign_db = owned_name(SCENARIO_PREFIX, pid=dead, hostname="another-machine")
    made = [stale_db, live_db, others_db, foreign_db]
    sweeps_vhosts = hasattr(vhosts, "names")
    stale_vhost = owned_name(RUN_PREFIX, pid=dead)
    try:
        for name in made:
            databases.create(name)
        if sweeps_vhosts:
            vhosts.create(stale_vhost)
        dropped = sweep_stale(services)
        assert stale_db in dropped and not {live_db, others_db, foreign_db} & set(dropped)
        left = databases.names(SCENARIO_PREFIX)  # type: ignore[attr-defined]
        assert stale_db not in left and {live_db, others_db, foreign_db} <= set(left)
        if sweeps_vhosts:
            assert stale_vhost in dropped
            assert stale_vhost not in vhosts.names(RUN_PREFIX)  # type: ignore[attr-defined]
    finally:
        alive.kill()
        alive.wait()
        for name in made:
            databases.remove(name)
        if sweeps_vhosts:
            vhosts.remove(stale_vhost)


@pytest.mark.services
@pytest.mark.slow
def test_a_killed_fuzz_run_leaves_a_database_that_the_next_run_removes(
        services: Services, tmp_path: Path) -> None:
    if services.postgres.control is not None:
        pytest.skip("needs servers given by URL (as .ci/run gives): a throwaway server "
                    "dies with its session and leaves nothing behind")
    env = {**os.environ, "WFCONFORM_POSTGRES_URL": services.postgres.url,
           "WFCONFORM_RABBITMQ_URL": services.rabbitmq.url}
    databases = services.postgres.isolation
    run = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "fuzz", "--tier", "real", "--seed", "1",
         "--max-time", "120", "--out", str(tmp_path / "out")],
        cwd=tmp_path, env={**env, "PYTHONPATH": str(ROOT)}, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    prefix = f"{SCENARIO_PREFIX}_{host_tag()}_{run.pid}_"
    try:
        deadline = time.monotonic() + 90
        while not databases.names(prefix) and time.monotonic() < deadline:  # type: ignore[attr-defined]
            time.sleep(0.05)
        assert databases.names(prefix), "the fuzz run made no scenario database"  # type: ignore[attr-defined]
    finally:
        os.killpg(run.pid, signal.SIGKILL)
        run.wait()
    assert databases.names(prefix), "the kill left nothing: nothing to sweep"  # type: ignore[attr-defined]
    vhosts = services.rabbitmq.isolation
    run_vhost = f"{RUN_PREFIX}_{host_tag()}_{run.pid}_"
    sweeps_vhosts = hasattr(vhosts, "names")
    if sweeps_vhosts:
        assert vhosts.names(run_vhost)  # type: ignore[attr-defined]
    # the next run: one harness process that starts the real tier's services and exits
    subprocess.run([sys.executable, "-c", "from harness.adapters.reference_real import "
                    "shared_services; shared_services()"],
                   cwd=ROOT, env=env, check=True, timeout=120)
    assert databases.names(prefix) == []  # type: ignore[attr-defined]
    if sweeps_vhosts:
        assert vhosts.names(run_vhost) == []  # type: ignore[attr-defined]
        # and that run, ended normally, removed its own vhost at exit (its finalizer)
        assert stale_names(vhosts.names(RUN_PREFIX), RUN_PREFIX) == []  # type: ignore[attr-defined]


@pytest.mark.services
@pytest.mark.slow
def test_a_fuzz_run_on_two_worker_processes_leaves_nothing_when_it_ends(
        services: Services, tmp_path: Path) -> None:
    """Forked fuzz workers end with os._exit (no atexit): their spare databases and vhosts
    are dropped by multiprocessing's finalizers instead (found by review, 2026-12-04:
    each worker left both behind at every exit)."""
    if services.postgres.control is not None:
        pytest.skip("needs servers given by URL (as .ci/run gives)")
    env = {**os.environ, "WFCONFORM_POSTGRES_URL": services.postgres.url,
           "WFCONFORM_RABBITMQ_URL": services.rabbitmq.url, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "harness.cli", "fuzz", "--tier", "real", "--workers", "2",
         "--seed", "3", "--max-time", "8", "--out", str(tmp_path / "out")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert " 0 scenarios" not in done.stdout, done.stdout[-800:]
    databases, vhosts = services.postgres.isolation, services.rabbitmq.isolation
    # The workers have exited: a name of theirs left now has a dead owner.
    left = stale_names(databases.names(SCENARIO_PREFIX), SCENARIO_PREFIX)  # type: ignore[attr-defined]
    if hasattr(vhosts, "names"):
        left += stale_names(vhosts.names(RUN_PREFIX), RUN_PREFIX)
    assert left == []
