"""The rules every check follows, and how verdicts merge into the matrix."""

from __future__ import annotations

import pytest

from harness import checks
from harness.checks import FAIL, NOT_PROMISED, PASS, UNKNOWN, ClauseResult, run_checks
from harness.checks.result import merge_results
from harness.conformance import matrix
from harness.runner import ScenarioRun
from scenarios.capabilities import ALL_CLAUSES, Capabilities
from scenarios.catalog import by_name
from tests.harness.histories import c2_run, relaunch_run


def test_there_is_one_check_per_clause_in_matrix_order() -> None:
    assert tuple(checks.CHECKS) == ALL_CLAUSES


def test_a_crashing_check_reports_unknown_never_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object) -> ClauseResult:
        raise KeyError("surprise")

    monkeypatch.setitem(checks.CHECKS, "C1", broken)  # type: ignore[arg-type]  # test double
    h = c2_run()
    (result,) = run_checks(h.scenario, h.expectation, h.history(), ["C1"])
    assert result.verdict == UNKNOWN and result.exercised
    assert "crashed: KeyError" in result.sentence


def test_a_clause_the_scenario_does_not_exercise_carries_no_weight() -> None:
    result = relaunch_run(cached=False).check("C6")
    assert result.verdict == UNKNOWN
    assert not result.exercised and not result.counts


def test_a_violation_fails_even_where_the_scenario_does_not_exercise_the_clause() -> None:
    h = relaunch_run(cached=False)
    h.effect("B/result", "3", worker=21, t0=900.0, t1=901.0)
    h.effect("B/result", "3", worker=22, t0=900.5, t1=900.6)
    result = h.check("C5")
    assert "C5" not in h.expectation.exercises
    assert result.verdict == FAIL and result.counts


def test_merging_puts_fail_before_pass_before_unknown() -> None:
    ok = ClauseResult("C1", PASS, scenario="a")
    unsure = ClauseResult("C1", UNKNOWN, sentence="cannot tell", scenario="b")
    bad = ClauseResult("C1", FAIL, ("line",), "broken", scenario="c")
    assert merge_results("C1", [ok, unsure, bad]).verdict == FAIL
    # held wherever it could be decided: a pass that counts the undecided scenarios
    merged = merge_results("C1", [ok, unsure, ok])
    assert merged.verdict == PASS and "1 could not decide it, e.g. cannot tell" in merged.sentence
    assert merge_results("C1", [unsure]).verdict == UNKNOWN
    assert merge_results("C1", [ok]).verdict == PASS
    assert merge_results("C1", [ok, bad]).witness == ("line",)


def test_a_clause_no_scenario_exercised_merges_to_unknown_never_pass() -> None:
    quiet = ClauseResult("K8", UNKNOWN, exercised=False)
    merged = merge_results("K8", [quiet])
    assert merged.verdict == UNKNOWN
    assert "no scenario exercised" in merged.sentence


def test_an_unknown_verdict_name_is_rejected() -> None:
    with pytest.raises(ValueError, match="verdict 'maybe'"):
        ClauseResult("C1", "maybe")


def _runs(verdict: str) -> list[ScenarioRun]:
    results = tuple(ClauseResult(c, verdict, scenario="s") for c in ALL_CLAUSES)
    return [ScenarioRun(by_name("c2_checkpointed_effect_not_repeated"), "ran",
                        results=results)]


def test_a_clause_the_engine_does_not_promise_reads_not_promised() -> None:
    caps = Capabilities(frozenset({"C1"}), "never", frozenset(), frozenset(), frozenset())
    rows = {row.clause: row for row in matrix(caps, _runs(FAIL))}
    assert rows["C1"].verdict == FAIL and rows["C1"].is_failure
    assert rows["C2"].verdict == NOT_PROMISED and not rows["C2"].is_failure


def test_a_declared_expected_failure_that_passes_fails_the_run() -> None:
    caps = Capabilities(frozenset(ALL_CLAUSES), "never", frozenset(), frozenset(),
                        frozenset(), expected_failures=frozenset({"C3"}))
    passing = {row.clause: row for row in matrix(caps, _runs(PASS))}
    failing = {row.clause: row for row in matrix(caps, _runs(FAIL))}
    assert passing["C3"].is_failure and "strict" in passing["C3"].reason
    assert not failing["C3"].is_failure and "expected failure" in failing["C3"].reason


def test_an_aborted_run_can_fail_a_clause_but_never_pass_it() -> None:
    caps = Capabilities.everything()
    run = ScenarioRun(by_name("c2_checkpointed_effect_not_repeated"), "aborted",
                      results=(ClauseResult("C1", PASS, scenario="s"),
                               ClauseResult("C2", FAIL, scenario="s")))
    rows = {row.clause: row for row in matrix(caps, [run])}
    assert rows["C1"].verdict == UNKNOWN
    assert rows["C2"].verdict == FAIL
