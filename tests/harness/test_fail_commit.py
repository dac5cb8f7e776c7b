"""``FailCommit`` through the harness: armed by the nemesis, landed by the engine.

The reference adapter arms the engine's ``fail_commit`` fault point (one attempt ahead,
like its other engine-level faults); the catalog scenario must pass on the correct
engine on the sim and embedded tiers, with the refusal visible in the engine's events
and the refused step's effect in the journal twice. Adapters that cannot say so.
"""

from __future__ import annotations

import dataclasses
from collections import Counter

import pytest

from harness.adapters import load_adapter
from harness.adapters.aiida import AiidaAdapter
from harness.errors import Unsupported
from harness.runner import run_scenario
from scenarios.catalog import ABC, by_name
from scenarios.faults import FailCommit
from scenarios.plan import Launch

NAME = "c4_failed_commit_is_a_failed_attempt"


def _run(tier: str, scenario_name: str = NAME) -> tuple[dict[str, str], Counter[str], list[str]]:
    run = run_scenario(load_adapter("reference", tier), by_name(scenario_name))
    assert run.status == "ran", run.reasons
    assert run.history is not None
    assert any("commit_refused" in str(e.get("state")) for e in run.history.of("event"))
    assert run.history is not None
    verdicts = {r.clause: r.verdict for r in run.results}
    keys = Counter(str(line["key"]) for line in run.history.of("effect"))
    refused = [str(line["state"]) for line in run.history.of("event")
               if str(line.get("state", "")).startswith("commit_refused:")]
    return verdicts, keys, refused


@pytest.mark.simulation
def test_a_failed_commit_lands_on_the_sim_tier_and_the_correct_engine_passes() -> None:
    verdicts, keys, refused = _run("sim")
    assert "fail" not in verdicts.values(), verdicts
    assert verdicts["C4"] == verdicts["L1"] == verdicts["C1"] == "pass"
    assert len(refused) == 1 and refused[0].endswith("s_s2"), refused
    assert keys == Counter({"A/s1": 1, "A/s2": 2, "A/s3": 1})


@pytest.mark.embedded
def test_a_failed_commit_lands_on_the_embedded_tier_and_the_correct_engine_passes() -> None:
    verdicts, keys, refused = _run("embedded")
    assert "fail" not in verdicts.values(), verdicts
    assert verdicts["C4"] == verdicts["L1"] == "pass"
    assert len(refused) == 1 and refused[0].endswith("s_s2"), refused
    assert keys == Counter({"A/s1": 1, "A/s2": 2, "A/s3": 1})


@pytest.mark.parametrize("tier", [pytest.param("sim", marks=pytest.mark.simulation),
                                  pytest.param("embedded", marks=pytest.mark.embedded)])
def test_a_failed_commit_on_a_later_attempt_and_on_a_calculation_lands_exactly(
        tier: str) -> None:
    """Attempt 2 of calc:add is add_xyz's call (add_xy's call is attempt 1): armed one
    attempt ahead, from inside the worker that begins attempt 1."""
    base = by_name("c4_outputs_equal_without_kills")
    scenario = dataclasses.replace(
        base, name="fail_commit_calc_attempt_2", faults=(FailCommit("calc:add", 2),),
        launches=(Launch("A", "AddThreeNumbers", ABC),))
    run = run_scenario(load_adapter("reference", tier), scenario.validate())
    assert run.status == "ran", run.reasons
    assert run.history is not None
    assert any("commit_refused" in str(e.get("state")) for e in run.history.of("event"))
    assert run.history is not None
    assert "fail" not in {r.verdict for r in run.results}
    keys = Counter(str(line["key"]) for line in run.history.of("effect"))
    assert keys == Counter({"A/add_xy": 1, "A/add_xy/0:add": 1, "A/add_xyz": 1,
                            "A/add_xyz/0:add": 2, "A/result": 1})


def test_the_aiida_adapter_says_it_cannot_fail_a_commit() -> None:
    adapter = AiidaAdapter()
    assert not adapter.supports("fail_commit")
    with pytest.raises(Unsupported, match="fail commit"):
        adapter.fail_commit("W.s", 1)


@pytest.mark.simulation
@pytest.mark.parametrize("seed", [3, 5, 33, 38, 39])
def test_a_refused_commit_hits_exactly_the_named_attempt_not_a_sibling(seed: int) -> None:
    """Two equal calls of one type in one step, caching on, ``FailCommit`` on attempt 1:
    once armed by target, both calls claimed together loaded the fault and both commits
    were refused, and the sibling's retry, a cache hit, failed K1 on the correct engine
    (these seeds did). The body now asks for the refusal of its own commit only."""
    from scenarios.language import (
        CalcCall,
        Calculation,
        Const,
        Input,
        LaunchCalcs,
        StepOutput,
        Workflow,
    )
    from scenarios.plan import SetCaching
    from scenarios.scenario import Scenario

    add = Calculation("add", "add")
    twin = Workflow("Twin", ("x",), (LaunchCalcs("pair", (
        CalcCall("add", {"x": Input("x"), "y": Const(1)}),
        CalcCall("add", {"x": Input("x"), "y": Const(1)}))),),
        {"sum": StepOutput("pair", "0.sum")})
    scenario = Scenario("twin_failcommit", (twin,), (add,),
                        (SetCaching(True), Launch("A", "Twin", {"x": 3})),
                        (FailCommit("calc:add", 1),), seed=seed).validate()
    run = run_scenario(load_adapter("reference", "sim"), scenario)
    assert run.history is not None
    refused = [e for e in run.history.of("event") if "commit_refused" in str(e.get("state"))]
    assert len(refused) == 1
    assert [(r.clause, r.sentence) for r in run.results if r.verdict == "fail"] == []


@pytest.mark.simulation
@pytest.mark.parametrize("variant", ["resume_from_previous_checkpoint", "excepted_source_hit"])
def test_variants_that_override_a_commit_still_take_a_refused_commit(variant: str) -> None:
    """A variant's store override must pass ``refuse`` on: else a FailCommit on its
    scenario is a TypeError, an errored run, neither caught nor passed."""
    run = run_scenario(load_adapter(f"harness.adapters.broken_reference:{variant}", "sim"),
                       by_name("c4_failed_commit_is_a_failed_attempt"))
    assert run.status == "ran", run.reasons
    assert run.history is not None
    assert any("commit_refused" in str(e.get("state")) for e in run.history.of("event"))
