"""``wfconform``: bad input is one clear line and exit 2; runs print the matrix."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import main
from scenarios.catalog import by_name
from scenarios.scenario import Scenario


def _fails_cleanly(capsys: pytest.CaptureFixture[str], argv: list[str], says: str) -> None:
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and err.startswith("wfconform: error: ")
    assert says in err and "Traceback" not in out + err


def test_an_unknown_engine_is_one_line_naming_the_fix(capsys: pytest.CaptureFixture[str]) -> None:
    _fails_cleanly(capsys, ["run", "--engine", "nosuchengine"], "--engine reference")


def test_an_unavailable_tier_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    _fails_cleanly(capsys, ["run", "--tier", "quantum"], "tier 'quantum' is not available")


def test_an_unknown_scenario_name_lists_the_known_ones(
        capsys: pytest.CaptureFixture[str]) -> None:
    _fails_cleanly(capsys, ["run", "--scenario", "no_such_scenario"],
                   "no catalog scenario named 'no_such_scenario'; known: add_three")


def test_replaying_a_missing_file_is_one_line(capsys: pytest.CaptureFixture[str],
                                             tmp_path: Path) -> None:
    _fails_cleanly(capsys, ["replay", str(tmp_path / "gone.json")], "no such file")


def test_replaying_a_file_that_is_not_json_is_one_line(capsys: pytest.CaptureFixture[str],
                                                      tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text("{not json", encoding="utf-8")
    _fails_cleanly(capsys, ["replay", str(path)], "not a valid scenario")


def test_replaying_json_that_is_not_a_scenario_is_one_line(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"format": 1, "name": "x"}), encoding="utf-8")
    _fails_cleanly(capsys, ["replay", str(path)], "not a valid scenario")


def test_the_installed_command_reports_bad_input_without_a_traceback() -> None:
    done = subprocess.run([sys.executable, "-m", "harness.cli", "run", "--engine", "x:y"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and "cannot be imported" in done.stderr


@pytest.mark.embedded
def test_run_prints_the_matrix_and_ends_with_the_count(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code = main(["run", "--scenario", "add_three_numbers_relaunch_cached",
                 "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0
    assert "N4      yes       pass" in out
    assert out.splitlines()[-1].endswith(" passed, 0 failed")
    assert not list(tmp_path.glob("*.verdict.json")), "no failing scenario is written"
    assert (tmp_path / "run.json").is_file() and (tmp_path / "verdicts.jsonl").is_file()


@pytest.mark.embedded
def test_replay_reruns_a_scenario_file_and_prints_its_verdicts(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "story.json"
    path.write_text(by_name("add_three_numbers_relaunch_uncached").to_json(), encoding="utf-8")
    assert main(["replay", str(path)]) == 0
    out = capsys.readouterr().out
    assert "N3  pass" in out and "0 failed" in out.splitlines()[-1]


@pytest.mark.embedded
def test_a_failing_run_writes_the_scenario_and_its_replay_command(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code = main(["run", "--engine", "tests.harness.broken:make_lost_task",
                 "--scenario", "k6_workflows_never_cached", "--out", str(tmp_path),
                 "--chaos-timeout", "0.5", "--heal-timeout", "0.5"])
    out = capsys.readouterr().out
    assert code == 1
    written = tmp_path / "k6_workflows_never_cached.json"
    assert f"wfconform replay {written}" in out
    assert Scenario.from_json(written.read_text()) == by_name("k6_workflows_never_cached")
    assert (tmp_path / "k6_workflows_never_cached.history.jsonl").exists()
    last = out.splitlines()[-1]
    assert last.endswith(" failed") and not last.endswith(" 0 failed")
    assert main(["replay", str(written), "--engine", "tests.harness.broken:make_lost_task",
                 "--chaos-timeout", "0.5", "--heal-timeout", "0.5"]) == 1
    assert "L1  FAIL" in capsys.readouterr().out
