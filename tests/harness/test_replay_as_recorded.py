"""Replay reruns a failure as it was found: same options, ids compared by what they name.

Two ways replay used to say "not reproduced" of failures that reproduce: an engine whose
ids are fresh UUIDs on every run (witnesses compared literally), and a failure found
with other run options than replay's defaults (selftest records with a 3 s heal bound,
replay ran with 10 s, and the L1 sentence quotes the bound). All on the sim tier.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from harness.adapters import load_adapter
from harness.adapters.broken_reference import VARIANTS
from harness.cli import main
from harness.errors import ScenarioFileError
from harness.failures import FailureHandler
from harness.results import FailureRecord, literal_signature
from harness.runner import RunOptions, ScenarioRun, run_scenario
from scenarios.catalog import by_name
from scenarios.scenario import Scenario

pytestmark = pytest.mark.simulation

OPTIONS = RunOptions(chaos_timeout=5.0, heal_timeout=3.0)
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _write_failure(spec: str, variant: str, out: Path) -> tuple[Path, ScenarioRun]:
    factory = load_adapter(spec, "sim")
    caps = factory().capabilities()
    promised = frozenset(caps.promised - caps.expected_failures)
    run = run_scenario(factory, by_name(VARIANTS[variant].catches), OPTIONS)
    handler = FailureHandler(factory, OPTIONS, promised, spec, "sim", out)
    failure = handler.handle(run, shrink_it=False)
    assert failure is not None and failure.path is not None
    return failure.path, run


def _reproduced(out: str) -> str:
    found = re.search(r"reproduced (\d+/\d+)", out)
    assert found, out
    return found.group(1)


@pytest.mark.parametrize("variant", ["resume_from_scratch", "excepted_source_hit"])
def test_a_failure_of_an_engine_with_uuid_ids_replays_as_reproduced_every_time(
        variant: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = f"tests.harness.uuid_engine:{variant}"
    path, run = _write_failure(spec, variant, tmp_path)
    literal = literal_signature(run.failed())
    assert UUID.search(json.dumps(literal)), "the test engine must quote UUIDs"

    # what the literal comparison of the old record format would have said: 0/3
    factory = load_adapter(spec, "sim")
    scenario = Scenario.from_json(path.read_text())
    reruns = [run_scenario(factory, scenario, OPTIONS) for _ in range(3)]
    assert [r.failed()[0].clause for r in reruns] == [run.failed()[0].clause] * 3
    assert sum(literal_signature(r.failed()) == literal for r in reruns) == 0

    assert main(["replay", str(path), "--times", "3"]) == 1
    out = capsys.readouterr().out
    assert _reproduced(out) == "3/3", out


def test_an_old_literal_record_of_a_uuid_engine_still_replays(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = "tests.harness.uuid_engine:resume_from_scratch"
    path, run = _write_failure(spec, "resume_from_scratch", tmp_path)
    failed = run.failed()
    sidecar = path.with_suffix(".verdict.json")
    sidecar.write_text(json.dumps({  # format 1: literal ids, no options
        "format": 1, "engine": spec, "tier": "sim", "clauses": [r.clause for r in failed],
        "signature": literal_signature(failed), "seed": None, "shrink": ""}))

    assert main(["replay", str(path), "--times", "2"]) == 1
    out = capsys.readouterr().out
    assert _reproduced(out) == "2/2", out
    assert "heal timeout 3 s (recorded history)" in out  # read from the history file

    path.with_suffix(".history.jsonl").unlink()  # ids named from the witness lines alone
    assert main(["replay", str(path), "--times", "2"]) == 1
    out = capsys.readouterr().out
    assert _reproduced(out) == "2/2", out
    assert "heal timeout 10 s (default)" in out and "record (format 1) has no options" in out


def test_a_record_from_a_newer_wfconform_is_refused_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.with_suffix(".verdict.json").write_text(json.dumps({"format": 99}))
    with pytest.raises(ScenarioFileError, match=r"format 99 is newer.*upgrade wfconform"):
        FailureRecord.for_scenario_file(path)


def test_a_failure_found_with_heal_3_replays_with_heal_3_unless_told_otherwise(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    variant = "task_lost_on_worker_death"  # L1 fails and its sentence quotes the bound
    path, _ = _write_failure(VARIANTS[variant].spec, variant, tmp_path)
    record = FailureRecord.for_scenario_file(path)
    assert record is not None and record.options is not None
    assert record.options["heal_timeout"] == 3.0 and record.options["chaos_timeout"] == 5.0

    assert main(["replay", str(path), "--times", "2"]) == 1
    out = capsys.readouterr().out
    assert "chaos timeout 5 s (recorded), heal timeout 3 s (recorded)" in out
    assert "3.0 s after faults stopped" in out
    assert _reproduced(out) == "2/2", out

    assert main(["replay", str(path), "--times", "2", "--heal-timeout", "7"]) == 1
    out = capsys.readouterr().out
    assert "chaos timeout 5 s (recorded), heal timeout 7 s (--heal-timeout)" in out
    assert "7.0 s after faults stopped" in out
    assert _reproduced(out) == "0/2", out  # the sentence now quotes 7 s: not the same


@pytest.mark.parametrize("variant", ["resume_from_scratch", "task_lost_on_worker_death"])
def test_a_selftest_witness_replays_as_reproduced_three_times_out_of_three(
        variant: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["selftest", "--tier", "sim", "--variant", variant, "--out",
                 str(tmp_path)]) == 0
    (written,) = re.findall(r"wfconform replay (\S+\.json)", capsys.readouterr().out)
    assert main(["replay", written, "--times", "3"]) == 1
    out = capsys.readouterr().out
    assert "heal timeout 3 s (recorded)" in out
    assert _reproduced(out) == "3/3", out
