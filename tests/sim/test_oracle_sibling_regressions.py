"""Fuzz witnesses of false alarms on the correct engine replay clean on the sim tier.

Both are two calls of one calculation type in one step with a fault on that type's
attempt 1: the sim's scheduler began the second call first, so the fault landed there,
while the oracle once gave attempt 1 to the first call in call order.

- ``sibling_redo_kill_hypothesis_50_8``: ``wfconform fuzz --tier sim --generator
  hypothesis --seed 1``, shrunk; failed C4 ("ran 1 times ... allowed 2..3").
- ``sibling_raise_generated_3135``: ``wfconform fuzz --tier sim --seed 7`` (and
  ``--seed 3135``), shrunk; failed N4, K1, K4 and K5.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.adapters import load_adapter
from harness.adapters.broken_reference import VARIANTS
from harness.checks.result import FAIL
from harness.runner import RunOptions, run_scenario
from scenarios.scenario import Scenario

pytestmark = pytest.mark.simulation

DATA = Path(__file__).resolve().parent / "data"
WITNESSES = ("sibling_redo_kill_hypothesis_50_8", "sibling_raise_generated_3135")


def _scenario(name: str) -> Scenario:
    return Scenario.from_json((DATA / f"{name}.json").read_text())


@pytest.mark.parametrize("name", WITNESSES)
def test_a_fault_on_the_attempt_a_later_sibling_began_is_no_false_alarm(name: str) -> None:
    run = run_scenario(load_adapter("reference", "sim"), _scenario(name),
                       RunOptions(chaos_timeout=10.0, heal_timeout=5.0))
    assert run.status == "ran" and run.history is not None
    # still a witness: the sim began call 1 first, so attempt 1 (the fault) was call 1's
    first = [line for line in run.history.of("effect")
             if line["attempt"] == 1 and line["target"].startswith("calc:")]
    assert len(first) == 1 and "/1:" in first[0]["key"], first
    failed = [f"{r.clause}: {r.sentence}" for r in run.results if r.verdict == FAIL]
    assert failed == []
    assert run.expectation is not None and not run.expectation.undecided


def test_a_hit_whose_earlier_attempt_ran_and_was_killed_passes_k1() -> None:
    """``wfconform fuzz --tier sim --seed 3100``, shrunk (generated_3636): two equal echo
    calls with caching on; the worker of call 1 is killed after its effect, and its retry
    finds call 0 finished and ends as a hit. The hit executed nothing: the killed
    attempt's effect is C3's to count, and K1 once counted it against the hit."""
    run = run_scenario(load_adapter("reference", "sim"),
                       _scenario("k1_hit_after_killed_attempt_generated_3636"))
    assert run.history is not None
    hits = [p for p in run.history.of("process") if p.get("cached_from")]
    assert len(hits) == 1, "still a witness: the killed call ended as a cache hit"
    assert [e for e in run.history.of("effect") if e["process"] == hits[0]["id"]], \
        "still a witness: the hit's process ran its body in the killed attempt"
    k1 = next(r for r in run.results if r.clause == "K1")
    assert k1.verdict != FAIL, k1.sentence
    assert [r.clause for r in run.results if r.verdict == FAIL] == []


BROKER_RESTART_WITNESSES = ("k1_hit_after_broker_restart_generated_642249633791744280",)
"""A 20-minute ``wfconform fuzz --tier sim`` campaign (seed 2026120401, 2026-12-04),
shrunk: a broker restart lands on a calculation's effect, the attempt's commit is lost,
and the redelivered task finds an equal sibling finished and ends as a hit."""
HARD_RESTART_WITNESS = "k1_hit_after_hard_broker_restart_generated_4051332292793286279"
"""Seed 2026120402, shrunk: a hard restart lands just before a sibling call's body. The
body ran although the restart had taken its delivery back, and the retry was a hit.
Since the executor checks its claim just before a body (2026-12-04, for N1) that body
no longer begins, so no hit arises; the scenario stays as a plain regression."""


def test_a_hard_restart_just_before_a_siblings_body_fails_no_clause() -> None:
    run = run_scenario(load_adapter("reference", "sim"), _scenario(HARD_RESTART_WITNESS))
    assert run.history is not None
    assert [f for f in run.history.of("fault") if f.get("fault") == "restart_broker"
            and f.get("status") == "fired"], "the broker restart fired"
    assert [f"{r.clause}: {r.sentence}" for r in run.results if r.verdict == FAIL] == []


@pytest.mark.parametrize("name", BROKER_RESTART_WITNESSES)
def test_a_hit_whose_earlier_attempt_a_broker_restart_cut_passes_k1(name: str) -> None:
    """As with a kill (above), the hit executed nothing; K1 once counted the cut attempt's
    effect against it. (The oracle does not foresee these hits, races of the restart, so
    K1's pass reads "not exercised"; the hand-made histories of
    ``tests/harness/test_checks_caching`` test the judgement itself.)"""
    run = run_scenario(load_adapter("reference", "sim"), _scenario(name))
    assert run.history is not None
    hits = [p for p in run.history.of("process") if p.get("cached_from")]
    assert len(hits) == 1, "still a witness: the cut call ended as a cache hit"
    assert [e for e in run.history.of("effect") if e["process"] == hits[0]["id"]], \
        "still a witness: the hit's process ran its body in the cut attempt"
    assert [f for f in run.history.of("fault") if f.get("fault") == "restart_broker"
            and f.get("status") == "fired"], "still a witness: the broker restart fired"
    assert [f"{r.clause}: {r.sentence}" for r in run.results if r.verdict == FAIL] == []


@pytest.mark.parametrize("name", BROKER_RESTART_WITNESSES)
def test_a_hit_that_runs_its_body_after_a_broker_restart_still_fails_k1(name: str) -> None:
    """The excuse above must not hide the bug K1 exists for: the broken variant
    ``hit_executes_body`` on the same scenarios runs the hit's body in the attempt that
    hits. The engine's claims show no later claim after that body, so K1 fails. (On the
    first witness the broad rule, any first body after a restart, let it pass.)"""
    run = run_scenario(load_adapter(VARIANTS["hit_executes_body"].spec, "sim"),
                       _scenario(name))
    k1 = next(r for r in run.results if r.clause == "K1")
    assert k1.verdict == FAIL and "executed its body" in k1.sentence, k1.sentence


def test_a_refused_commit_counts_as_an_interruption_of_its_execution() -> None:
    """``wfconform fuzz --tier sim --seed 5``, shrunk (generated_2420): a ``FailCommit`` on
    step2's attempt 1 and a broker restart at entry 2 make step2 run three times, which is
    what the oracle allows; C3 once counted only kills and service faults as cuts, so it
    allowed two."""
    run = run_scenario(load_adapter("reference", "sim"),
                       _scenario("c3_refused_commit_and_broker_restart_generated_2420"))
    assert run.history is not None
    step2 = [e for e in run.history.of("effect") if e["key"].endswith("step2")]
    assert len(step2) == 3, "still a witness: the refused commit and the restart each cut one"
    assert [f"{r.clause}: {r.sentence}" for r in run.results if r.verdict == FAIL] == []
    c3 = next(r for r in run.results if r.clause == "C3")
    assert c3.verdict == "pass", c3.sentence


def test_a_retry_a_floating_fault_may_cause_and_a_kill_names_is_undecided() -> None:
    """``wfconform fuzz --tier sim --generator hypothesis --seed 4``, shrunk
    (hypothesis_57_10): a duplicate delivery at step2's entry may make step2 run again
    as attempt 2, whose commit a ``FailCommit`` refuses, so it runs a third time. The
    oracle allowed 1..2 for a retry it could not place; now the launch is undecided, as it
    already was when a ``RaiseIn`` named such a retry."""
    run = run_scenario(load_adapter("reference", "sim"),
                       _scenario("c3_redelivery_then_refused_retry_hypothesis_57_10"))
    assert run.history is not None and run.expectation is not None
    step2 = [e for e in run.history.of("effect") if e["key"].endswith("step2")]
    assert len(step2) == 3, "still a witness: the redelivery and the refused commit"
    assert any(r.startswith("launch A: ") and "killed at" in r for r in run.expectation.undecided)
    assert [f"{r.clause}: {r.sentence}" for r in run.results if r.verdict == FAIL] == []


def test_a_fault_at_the_entry_a_redo_writes_may_redo_that_step_again() -> None:
    """``benchmarks/campaign.py`` (sim, hypothesis seed 103), shrunk (hypothesis_301_16):
    duplicate deliveries at entries 23 and 24; entry 24 is the redo that the first one
    caused, so the second lands on it and calc8 runs three times. The oracle let the
    second fault float past calc8 and allowed 1..2."""
    run = run_scenario(load_adapter("reference", "sim"),
                       _scenario("c3_two_redeliveries_one_step_hypothesis_301_16"))
    assert run.history is not None
    calc8 = [e for e in run.history.of("effect") if e["key"] == "B/calc8"]
    assert len(calc8) == 3, "still a witness: both deliveries landed on calc8"
    assert [f"{r.clause}: {r.sentence}" for r in run.results if r.verdict == FAIL] == []


def test_a_kill_on_a_call_that_may_hit_its_sibling_may_make_it_run_twice() -> None:
    """``wfconform fuzz --tier sim --seed 101 --max-examples 300`` with a generator that
    draws more equal sibling calls, shrunk (generated_1725383626342003739): two equal
    `echo2` calls in one step with caching on, and a kill at journal entry 4, the body of
    call 1. Either call may hit the other, so the oracle gave call 1 the bound 0..1 and
    never let the kill at its entry cut it: the sim ran it, killed it and ran it again,
    and C3 failed a correct engine. A possible execution now meets external faults as an
    effect does (`Ledger.maybe(..., externals=True)`)."""
    run = run_scenario(load_adapter("reference", "sim"), _scenario(
        "c3_kill_on_a_call_that_may_hit_generated_1725383626342003739"),
        RunOptions(chaos_timeout=10.0, heal_timeout=5.0))
    assert run.history is not None
    runs = [e for e in run.history.of("effect") if e["key"] == "A/calc2/1:echo2"]
    assert len(runs) == 2, "still a witness: the killed call ran twice"
    assert [f"{r.clause}: {r.sentence}" for r in run.results if r.verdict == FAIL] == []
    c3 = next(r for r in run.results if r.clause == "C3")
    assert c3.verdict == "pass", c3.sentence
