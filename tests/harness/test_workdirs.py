"""Scenario folders of a run that was SIGKILLed or SIGTERMed are reclaimed by the next run.

Issue 12, item 7: servers, databases and vhosts were reaped, but the scenario folder of a
killed ``wfconform run`` stayed forever. Folders carry an owner marker (pid + start time);
the next run removes the marked folders of dead owners, and nothing else.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.workdirs import MARKER, make_workdir, reclaim_stale, start_time, unmark

ROOT = Path(__file__).resolve().parents[2]


def _dead_owner() -> dict[str, object]:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    born = start_time(proc.pid)
    proc.kill()
    proc.wait()
    return {"pid": proc.pid, "start": born}


def test_only_marked_folders_of_dead_owners_are_reclaimed(tmp_path: Path) -> None:
    live = make_workdir("live", str(tmp_path))
    kept = make_workdir("kept", str(tmp_path))
    unmark(kept)
    dead = tmp_path / "wfconform-dead-1"
    dead.mkdir()
    (dead / MARKER).write_text(json.dumps(_dead_owner()))
    (dead / "engine.db").write_text("x")
    stranger = tmp_path / "wfconform-not-ours"
    stranger.mkdir()
    assert reclaim_stale(tmp_path) == [dead]
    assert not dead.exists() and live.exists() and kept.exists() and stranger.exists()


def _scenario_folders(root: Path) -> set[Path]:
    return {p for p in root.iterdir() if p.name.startswith("wfconform-")
            and (p / MARKER).exists()}


def _wfconform(args: list[str], tmp: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TMPDIR": str(tmp), "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "harness.cli", *args], env=env,
                            cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL)


@pytest.mark.slow
@pytest.mark.parametrize(("tier", "sig"), [
    ("embedded", signal.SIGKILL),
    ("embedded", signal.SIGTERM),
    pytest.param("real", signal.SIGKILL, marks=pytest.mark.services),
], ids=["embedded-kill", "embedded-term", "real-kill"])
def test_a_killed_run_leaves_nothing_after_the_next_run(
    tmp_path: Path, tier: str, sig: signal.Signals
) -> None:
    """The real tier's run needs WFCONFORM_POSTGRES_URL / WFCONFORM_RABBITMQ_URL (CI sets
    them); its databases and vhosts are the reaper's (tests/services/test_no_leaks.py)."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    run = _wfconform(["run", "--tier", tier, "--examples", "0"], tmp)
    try:
        deadline = time.monotonic() + 120
        while not (left := _scenario_folders(tmp)):
            assert run.poll() is None, "the run ended before its first scenario"
            assert time.monotonic() < deadline, "no scenario folder in 120 s"
            time.sleep(0.02)
    finally:
        run.send_signal(sig)
        run.wait(30)
    if sig == signal.SIGKILL:  # no cleanup can run: the folder is there, until...
        assert all(folder.exists() for folder in left)
    after = _wfconform(["run", "--tier", "sim", "--scenario", "add_three_numbers_relaunch_uncached",
                        "--examples", "0"], tmp)
    assert after.wait(120) in (0, 1)
    assert not any(folder.exists() for folder in left)
    assert _scenario_folders(tmp) == set()
