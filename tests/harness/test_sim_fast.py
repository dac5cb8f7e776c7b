"""The in-memory sim path gives the file-journal path's verdicts, without files or threads.

The differential test runs ``DIFF_SEEDS`` generated scenarios (1,000 by default; set
``WFCONFORM_DIFF_SEEDS`` to change it) through both paths of the runner and compares
status and every clause's verdict.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from harness.adapters import load_adapter
from harness.runner import RunOptions, ScenarioRun, run_scenario
from harness.seeds import scenario_seed
from harness.sources import knobs_for
from scenarios.catalog import by_name
from scenarios.generate import generate

pytestmark = pytest.mark.simulation

DIFF_SEEDS = int(os.environ.get("WFCONFORM_DIFF_SEEDS", "1000"))
FILES = RunOptions(in_memory=False)
MEMORY = RunOptions(in_memory=True)


def _verdicts(run: ScenarioRun) -> tuple[str, tuple[tuple[str, str], ...]]:
    return run.status, tuple((r.clause, r.verdict) for r in run.results)


@pytest.mark.slow
@pytest.mark.timeout(1200)  # the file path polls and sleeps: ~1 min quiet, more under load
def test_memory_and_file_paths_give_the_same_verdicts_on_a_thousand_seeds() -> None:
    factory = load_adapter("reference", "sim")
    knobs = knobs_for(factory(), 8)
    differ, failing = [], 0
    for index in range(DIFF_SEEDS):
        scenario = generate(scenario_seed(2026, index), **knobs)
        memory = run_scenario(factory, scenario, MEMORY)
        files = run_scenario(factory, scenario, FILES)
        failing += any(r.verdict == "fail" for r in memory.results)
        if _verdicts(memory) != _verdicts(files):
            differ.append(scenario.name)
    assert not differ, f"{len(differ)} of {DIFF_SEEDS} differ, e.g. {differ[:5]}"


def test_the_differential_also_holds_on_broken_variants_that_fail() -> None:
    """Same verdicts where there is something to find: failures, not only passes."""
    spec = "harness.adapters.broken_reference:unfenced_duplicate_delivery"
    factory = load_adapter(spec, "sim")
    knobs = knobs_for(factory(), 8)
    failed = 0
    for index in range(60):
        scenario = generate(scenario_seed(5, index), **knobs)
        memory, files = (run_scenario(factory, scenario, o) for o in (MEMORY, FILES))
        assert _verdicts(memory) == _verdicts(files), scenario.name
        failed += bool(memory.failed())
    assert failed > 0


def test_a_memory_run_starts_no_thread_sleeps_never_and_writes_no_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("the in-memory path must not start threads or sleep")

    monkeypatch.setattr(threading.Thread, "start", forbidden)
    monkeypatch.setattr(time, "sleep", forbidden)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    scenario = by_name("c3_in_flight_effect_at_most_kills_plus_one")
    run = run_scenario(load_adapter("reference", "sim"), scenario, MEMORY)
    assert run.status == "ran" and not run.failed()
    assert list(tmp_path.iterdir()) == []
    assert run.history is not None and run.history.of("effect")


def test_keep_workdir_uses_the_file_path_so_the_files_can_be_read(tmp_path: Path) -> None:
    scenario = by_name("c3_in_flight_effect_at_most_kills_plus_one")
    run = run_scenario(load_adapter("reference", "sim"), scenario,
                       RunOptions(keep_workdir=True, workdir_root=str(tmp_path)))
    assert run.workdir is not None and (Path(run.workdir) / "journal.jsonl").exists()
