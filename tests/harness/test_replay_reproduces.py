"""A written failure replays with the same verdict and the same witness, 10 times out of 10."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.adapters import load_adapter
from harness.adapters.broken_reference import VARIANTS
from harness.cli import main
from harness.failures import FailureHandler
from harness.results import FailureRecord, signature
from harness.runner import RunOptions, run_scenario
from scenarios.catalog import by_name
from scenarios.faults import KillAtCrashpoint
from scenarios.plan import Launch
from scenarios.scenario import Scenario

pytestmark = pytest.mark.embedded

SPEC = VARIANTS["resume_from_scratch"].spec


def _witness() -> Scenario:
    """Two steps, a kill after s2's effect: the broken engine reruns s1 from scratch."""
    steps = by_name("c2_checkpointed_effect_not_repeated").workflows
    return Scenario("resume_witness", steps, (), (Launch("A", "Steps", {"x": 7}),),
                    (KillAtCrashpoint("after_effect_before_checkpoint", "Steps.s2", 1),))


def test_a_failure_replays_ten_times_out_of_ten_with_the_same_verdict_and_witness(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    factory = load_adapter(SPEC)
    options = RunOptions()
    run = run_scenario(factory, _witness(), options)
    promised = factory().capabilities().promised
    handler = FailureHandler(factory, options, promised, SPEC, "embedded", tmp_path)
    failure = handler.handle(run, shrink_it=False)
    assert failure is not None and failure.clause == "C2" and failure.path is not None
    record = FailureRecord.for_scenario_file(failure.path)
    assert record is not None and record.engine == SPEC and "C2" in record.clauses
    assert any(entry["witness"] for entry in record.signature)

    assert main(["replay", str(failure.path), "--times", "10"]) == 1
    out = capsys.readouterr().out
    assert f"replaying on {SPEC} (tier embedded), as recorded" in out
    assert "reproduced 10/10: same failed clauses, sentences and witness" in out
    assert "C2  FAIL" in out


def test_the_signature_ignores_times_and_worker_pids_but_not_facts() -> None:
    from harness.checks import ClauseResult

    line = {"type": "effect", "key": "A/s1", "process": "1", "attempt": 2, "worker": 41,
            "t0": 1.5, "t1": 1.6}
    moved = {**line, "worker": 99, "t0": 7.0, "t1": 7.1}
    other = {**line, "attempt": 3}

    def sig(record: dict[str, object], sentence: str) -> object:
        return signature([ClauseResult("C2", "fail", (json.dumps(record),), sentence)])

    assert sig(line, "ran in worker 41") == sig(moved, "ran in worker 99")
    assert sig(line, "ran in worker 41") != sig(other, "ran in worker 41")
