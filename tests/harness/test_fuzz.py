"""``wfconform fuzz``: seeded, time-boxed, shows scenarios/s, writes shrunk failures."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from harness.adapters.broken_reference import VARIANTS
from harness.adapters.reference import ReferenceAdapter
from harness.cli import main
from harness.runner import run_scenario
from harness.sources import draw_scenarios, knobs_for, seeded
from scenarios.faults import KillOnEffect, RaiseIn
from scenarios.language import (
    CalcCall,
    Calculation,
    Compute,
    Const,
    If,
    Input,
    LaunchCalcs,
    Workflow,
)
from scenarios.plan import Launch, SetCaching
from scenarios.scenario import Scenario

REPLAY = re.compile(r"wfconform replay (\S+\.json)")


def test_the_same_seed_generates_the_same_scenarios() -> None:
    knobs = knobs_for(ReferenceAdapter())
    first, again, other = seeded(40, knobs), seeded(40, knobs), seeded(41, knobs)
    names = [next(first)[1] for _ in range(3)]
    assert names == [next(again)[1] for _ in range(3)]
    assert [s.name for s in names] == ["generated_40", "generated_41", "generated_42"]
    assert next(other)[1] == names[1]
    drawn = draw_scenarios(4, 7, knobs)
    assert drawn == draw_scenarios(4, 7, knobs) != draw_scenarios(4, 8, knobs)
    assert [s.name for s in drawn] == [f"hypothesis_7_{i}" for i in range(4)]


def test_generated_scenarios_only_use_faults_the_adapter_supports() -> None:
    knobs = knobs_for(ReferenceAdapter("embedded"))
    assert "restart_broker" not in knobs["fault_kinds"]
    assert "kill_at_crashpoint" in knobs["fault_kinds"]


@pytest.mark.embedded
def test_fuzz_finds_a_broken_engine_and_writes_a_shrunk_witness_to_replay(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = VARIANTS["unfenced_duplicate_delivery"].spec
    code = main(["fuzz", "--engine", spec, "--max-time", "40", "--seed", "5",
                 "--max-failures", "1", "--shrink-time", "8", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 1
    assert out.splitlines()[0].startswith("wfconform fuzz: engine reference+unfenced_"
                                          "duplicate_delivery, tier embedded (the adapter's "
                                          "default; --tier to choose), seed 5")
    last = out.splitlines()[-1]
    assert ("scenarios/s" in last or "s/scenario" in last) and "seed 5" in last
    (path,) = {Path(p) for p in REPLAY.findall(out)}
    record = json.loads(path.with_suffix(".verdict.json").read_text())
    assert record["engine"] == spec and record["seed"] is not None
    assert set(record["clauses"]) & VARIANTS["unfenced_duplicate_delivery"].breaks
    assert record["shrink"].startswith("shrunk from size")
    assert Scenario.from_json(path.read_text()).validate()
    meta = json.loads((tmp_path / "run.json").read_text())
    assert meta["command"] == "fuzz" and meta["seed"] == 5 and meta["finished"]


@pytest.mark.embedded
def test_fuzzing_the_reference_engine_with_hypothesis_prints_seed_and_rate(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["fuzz", "--max-time", "4", "--seed", "3", "--generator", "hypothesis",
                 "--tier", "embedded", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    first, last = out.splitlines()[0], out.splitlines()[-1]
    assert "seed 3, generator hypothesis" in first and "(repeat with --seed 3)" in first
    assert re.search(r"fuzz: \d+ scenarios in [\d.]+ s \([\d.]+ (scenarios/s|s/scenario)\)",
                     last)
    assert "0 failing clause(s); seed 3" in last
    text = (tmp_path / "verdicts.jsonl").read_text()
    verdicts = [line for line in text.splitlines() if line.strip()]
    assert verdicts and all(json.loads(v)["source"] == "hypothesis" for v in verdicts)


def test_fuzz_defaults_to_the_sim_tier_when_the_reference_adapter_has_it() -> None:
    import argparse

    from harness.adapters.reference import TIERS
    from harness.commands import _fuzz_tier

    def tier(engine: str, given: str | None) -> tuple[str | None, str]:
        return _fuzz_tier(argparse.Namespace(engine=engine, tier=given))

    chosen, why = tier("reference", None)
    if "sim" in TIERS:  # the header says why it picked the tier it picked
        assert chosen == "sim" and "fuzz's default for the reference engine" in why
    else:
        assert (chosen, why) == (None, " (the sim tier is not available here: fuzzing on "
                                       "embedded)")
    assert tier("reference", "embedded") == ("embedded", "")
    assert tier(VARIANTS["cached_workflow"].spec, None) == (
        None, " (the adapter's default; --tier to choose)")


def test_fuzz_rejects_a_non_positive_time_box_in_one_line(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fuzz", "--max-time", "0", "--seed", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("wfconform: error: --max-time 0.0") and err.count("\n") == 1


@pytest.mark.embedded
def test_equal_sibling_calculations_may_hit_each_other() -> None:
    """Found by fuzz (seed 1, generated_33): the reference engine looks a child up when it
    runs, so an equal sibling that finished first may be its source; the oracle allows it."""
    main_wf = Workflow("Main", ("x",), (If("check1", Input("x"), (LaunchCalcs("calc2", (
        CalcCall("digest", {"x": Input("x"), "y": Input("x")}),
        CalcCall("digest", {"x": Input("x"), "y": Input("x")}))),)),))
    scenario = Scenario("equal_siblings", (main_wf,), (Calculation("digest", "digest"),),
                        (SetCaching(True), Launch("A", "Main", {"x": 5})))
    for _ in range(3):  # the hit needs the first sibling to finish first: usual, not certain
        run = run_scenario(lambda: ReferenceAdapter(workers=1), scenario)
        assert run.status == "ran"
        assert not run.failed(), [(r.clause, r.sentence) for r in run.failed()]


@pytest.mark.embedded
def test_a_kill_at_the_entry_of_a_raising_body_pre_empts_the_raise() -> None:
    """Found by fuzz (seed 1 on the sim tier, generated_69): the kill at entry 1 lands while
    step1 waits at the gate, before it can raise; the retry is attempt 2, which does not
    raise, so the launch finishes, as the oracle predicts."""
    flow = Workflow("Main", ("x",), (Compute("step1", Const(0)), Compute("step3", Input("x"))))
    scenario = Scenario("kill_pre_empts_raise", (flow,), (), (Launch("A", "Main", {"x": 0}),),
                        (KillOnEffect(1), RaiseIn("Main.step1", 1)))
    run = run_scenario(ReferenceAdapter, scenario)
    assert run.status == "ran" and run.history is not None
    assert not run.failed(), [(r.clause, r.sentence) for r in run.failed()]
    assert [line["key"] for line in run.history.of("effect")] == ["A/step1", "A/step1",
                                                                  "A/step3"]
    assert [line["state"] for line in run.history.of("terminal")] == ["finished"]


@pytest.mark.simulation
def test_fuzz_coverage_prints_the_kill_point_table_filled_by_the_sim_tier(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["fuzz", "--max-time", "2", "--seed", "1", "--coverage", "--tier", "sim",
          "--shrink-time", "1", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "kill-point coverage (crashpoint x step kind x fault kind):" in out
    covered = re.search(r"(\d+)/(\d+) cells covered", out)
    assert covered is not None and 0 < int(covered[1]) < int(covered[2])
    assert "while_waiting / launch" in out


def test_fuzz_freezes_the_heap_while_it_runs_and_unfreezes_it_on_return(
        tmp_path: Path) -> None:
    import gc

    from harness.adapters import load_adapter
    from harness.failures import FailureHandler
    from harness.fuzz import FuzzOptions, fuzz
    from harness.runner import RunOptions

    factory = load_adapter("reference", "sim")
    handler = FailureHandler(factory, RunOptions(), frozenset(), "reference", "sim", tmp_path)
    frozen: list[int] = []
    stats = fuzz(factory, FuzzOptions(60, 1, max_examples=2), handler,
                 on_run=lambda s, r: frozen.append(gc.get_freeze_count()))
    assert stats.scenarios == 2
    assert all(count > 0 for count in frozen)
    assert gc.get_freeze_count() == 0
