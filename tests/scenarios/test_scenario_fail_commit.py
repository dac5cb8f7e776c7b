"""``FailCommit``: a refused checkpoint commit as scenario data, and what the oracle expects.

The oracle must predict it as a kill at ``after_effect_before_checkpoint`` on the same
attempt: the effect ran, nothing was saved, the body runs once more, outputs unchanged.
"""

from __future__ import annotations

import dataclasses

import pytest

from scenarios import (
    FAULT_KINDS,
    OUTAGE_KINDS,
    Capabilities,
    FailCommit,
    InvalidScenarioError,
    KillAtCrashpoint,
    RaiseIn,
    Scenario,
    by_name,
    describe_fault,
    expect,
    fault_kind,
    generate,
)

CAPS = Capabilities.everything()
NAME = "c4_failed_commit_is_a_failed_attempt"


def test_fail_commit_is_a_fault_kind_with_a_json_round_trip_and_a_phrase() -> None:
    scenario = by_name(NAME)
    assert "fail_commit" in FAULT_KINDS and fault_kind(scenario.faults[0]) == "fail_commit"
    assert Scenario.from_json(scenario.to_json()) == scenario
    assert '"kind": "fail_commit"' in scenario.to_json()
    assert describe_fault(FailCommit("Steps.s2", 3)) == (
        "fail the checkpoint commit of Steps.s2 on attempt 3")


@pytest.mark.parametrize(("target", "attempt"), [("Steps", 1), ("calc:", 1), ("Steps.s2", 0),
                                                 ("Steps.s2", None)])
def test_a_bad_target_or_attempt_is_rejected_naming_the_field(target: str,
                                                               attempt: int | None) -> None:
    with pytest.raises(InvalidScenarioError, match="FailCommit"):
        FailCommit(target, attempt)  # type: ignore[arg-type]  # None is the error here


def test_validation_wants_a_body_target_and_one_body_fault_per_attempt() -> None:
    scenario = by_name(NAME)
    with pytest.raises(InvalidScenarioError, match="faults"):
        dataclasses.replace(scenario, faults=(FailCommit("Steps.nope", 1),)).validate()
    with pytest.raises(InvalidScenarioError, match="at most one body fault"):
        dataclasses.replace(scenario, faults=(FailCommit("Steps.s2", 1),
                                              RaiseIn("Steps.s2", 1))).validate()


def test_the_oracle_predicts_a_failed_commit_exactly_as_a_kill_before_the_checkpoint() -> None:
    scenario = by_name(NAME)
    killed = dataclasses.replace(scenario, faults=(
        KillAtCrashpoint("after_effect_before_checkpoint", "Steps.s2", 1),))
    failed, kill = expect(scenario, CAPS), expect(killed, CAPS)
    assert failed.launches == kill.launches and failed.effects == kill.effects
    assert failed.exercises == kill.exercises and failed.ids == kill.ids
    bound = failed.effects["A/s2"]
    assert (bound.min, bound.max) == (2, 2)
    assert failed.launches["A"].outputs == {"out": 7}
    assert (failed.effects["A/s1"].max, failed.effects["A/s3"].max) == (1, 1)


def test_generated_scenarios_sometimes_fail_a_commit_and_only_when_the_kind_is_allowed() -> None:
    with_kind = [generate(seed) for seed in range(200)]
    assert any(isinstance(f, FailCommit) for s in with_kind for f in s.faults)
    kinds = frozenset(FAULT_KINDS) - {"fail_commit"}
    assert not any(isinstance(f, FailCommit) for seed in range(200)
                   for f in generate(seed, fault_kinds=kinds).faults)


def test_adding_the_kind_left_every_other_draw_of_a_seed_unchanged() -> None:
    kinds = frozenset(FAULT_KINDS) - {"fail_commit"} - frozenset(OUTAGE_KINDS)  # the default
    for seed in range(100):
        full, without = generate(seed), generate(seed, fault_kinds=kinds)
        kept = tuple(f for f in full.faults if not isinstance(f, FailCommit))
        assert dataclasses.replace(full, faults=kept) == without
