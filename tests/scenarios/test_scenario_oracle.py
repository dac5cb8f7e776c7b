"""The oracle says what a correct engine must do: hand-written cases for every clause."""

from __future__ import annotations

import dataclasses

import pytest

from scenarios import (
    ALL_CLAUSES,
    CHILD_FAILED_EXIT_STATUS,
    Capabilities,
    EffectBound,
    KillOnEffect,
    Launch,
    RaiseIn,
    Relaunch,
    RestartDatabase,
    Scenario,
    by_name,
    expect,
    values_equal,
)
from scenarios.catalog import ADD, ADD_THREE, DIGEST, FAN, STEPS

CAPS = Capabilities.everything()


def exp(name: str, caps: Capabilities = CAPS):
    return expect(by_name(name), caps)


def bound(expectation, key) -> tuple[int, int | None]:
    found = expectation.bound(key)
    assert found is not None, key
    return found.min, found.max


# -- continue (C1..C6) ---------------------------------------------------------------


def test_c1_a_killed_worker_continues_the_same_process_to_a_terminal_state():
    e = exp("c1_kill_while_waiting_keeps_id")
    assert e.launches["A"].state == "finished"
    assert e.launches["A"].worker_kills == 1
    assert any(r.a == r.b == "A" and r.same for r in e.ids)
    assert "C1" in e.exercises


def test_c1_an_external_kill_also_keeps_the_id():
    s = Scenario("s", (STEPS,), (), (Launch("A", "Steps", {"x": 1}),), (KillOnEffect(2),))
    e = expect(s, CAPS)
    assert any(r.a == r.b == "A" and r.same for r in e.ids)
    assert e.launches["A"].state == "finished"


def test_c2_effects_completed_before_the_last_checkpoint_run_exactly_once():
    e = exp("c2_checkpointed_effect_not_repeated")
    assert bound(e, "A/s1") == (1, 1)
    assert bound(e, "A/s2") == (1, 1)  # killed after its checkpoint: not redone
    assert bound(e, "A/s3") == (1, 1)
    assert "C2" in e.exercises


def test_c2_waiting_for_add_xyz_does_not_rerun_add_xy():
    e = exp("c1_kill_while_waiting_keeps_id")
    assert bound(e, "A/add_xy") == (1, 1)
    assert bound(e, "A/add_xy/0:add") == (1, 1)
    assert bound(e, "A/add_xyz") == (1, 1)
    awaited = [r for r in e.ids if r.a == r.b == "A/add_xyz/0:add"]
    assert awaited and awaited[0].same  # add_xyz's calculation is awaited, not relaunched


def test_c3_the_in_flight_effect_runs_kills_plus_one_times():
    e = exp("c3_in_flight_effect_at_most_kills_plus_one")
    assert bound(e, "A/s2") == (3, 3)  # two kills after the effect, before its checkpoint
    assert e.launches["A"].worker_kills == 2


def test_c3_a_kill_at_a_known_journal_entry_redoes_exactly_the_body_that_wrote_it():
    s = Scenario("s", (STEPS,), (), (Launch("A", "Steps", {"x": 1}),), (KillOnEffect(2),))
    e = expect(s, CAPS)
    assert bound(e, "A/s1") == (1, 1)  # entry 2 appears after s1's checkpoint
    assert bound(e, "A/s2") == (2, 2)  # killed at its entry, before its checkpoint
    assert bound(e, "A/s3") == (1, 1)
    assert e.launches["A"].worker_kills == 1


def test_c3_an_external_kill_the_model_cannot_place_allows_one_redo_of_what_may_be_in_flight():
    s = Scenario("s", (FAN,), (ADD, DIGEST), (Launch("A", "Fan", {"x": 1}),),
                 (KillOnEffect(3),))  # the second entry of three siblings: which is timing
    e = expect(s, CAPS)
    assert bound(e, "A/fan") == (1, 2)  # its checkpoint may lag its children (AiiDA)
    for path in ("A/fan/0:add", "A/fan/1:add", "A/fan/2:digest", "A/done"):
        low, high = bound(e, path)
        assert low == 1 and high is not None and high >= 2, path
    assert e.launches["A"].worker_kills == 0


def test_c3_a_redone_launching_step_may_orphan_its_children():
    e = exp("c3_redo_of_launch_step_may_orphan_children")
    assert bound(e, "A/fan") == (2, 2)
    assert bound(e, "A/fan/0:add") == (1, 2)
    assert bound(e, "A/done") == (1, 1)


def test_c4_kills_do_not_change_the_outputs():
    scenario = by_name("c4_outputs_equal_without_kills")
    killed = expect(scenario, CAPS).launches["A"]
    calm = expect(dataclasses.replace(scenario, faults=()), CAPS).launches["A"]
    assert killed.outputs == calm.outputs == {"sum": 6}
    assert killed.state == calm.state == "finished"


def test_c5_redelivery_faults_exercise_no_overlap_and_bound_each_effect():
    e = exp("c5_no_overlap_after_redelivery")
    assert "C5" in e.exercises
    for key, found in e.effects.items():
        # Two service faults: each may cut the key's execution (+1) and make the step
        # that launched it redo and launch it again (+1); a fault may land on the redo
        # another one caused (its entry is the redo), so both can hit one key.
        assert found.max is not None and found.max <= 1 + 2 * 2, key


def test_c6_children_launched_before_the_checkpoint_are_awaited_not_relaunched():
    e = exp("c6_children_awaited_not_relaunched")
    assert bound(e, "A/fan") == (1, 1)
    for index, calc in enumerate(("add", "add", "digest")):
        low, high = bound(e, f"A/fan/{index}:{calc}")
        assert low == 1 and high is not None and high <= 2
        path = f"A/fan/{index}:{calc}"
        assert any(r.a == r.b == path and r.same for r in e.ids)  # one process, not two
    assert "C6" in e.exercises


# -- new instance (N1..N4) -----------------------------------------------------------


def test_n1_an_excepted_process_stays_excepted_whatever_comes_later():
    e = exp("n1_excepted_process_never_runs_again")
    assert e.launches["A"].state == "excepted"
    assert e.launches["A"].exit_status is None and e.launches["A"].outputs is None
    assert "N1" in e.exercises
    assert bound(e, "A/result") == (0, 0)


def test_n2_every_relaunch_is_a_new_process():
    e = exp("n2_relaunch_makes_new_id")
    pairs = {(r.a, r.b) for r in e.ids if not r.same}
    assert {("A", "B"), ("B", "C"), ("A", "C")} <= pairs
    assert e.launches["B"].relaunch_of == "A"
    assert e.launches["A"].state == "excepted"
    assert e.launches["B"].state == "finished"  # the fault was on attempt 1 only


def test_n3_without_caching_the_relaunch_runs_every_effect_again():
    e = exp("add_three_numbers_relaunch_uncached")
    assert e.launches["A"].state == "excepted"
    assert e.launches["B"].state == "finished"
    assert e.launches["B"].outputs == {"sum": 6}
    for key in ("B/add_xy", "B/add_xy/0:add", "B/add_xyz", "B/add_xyz/0:add", "B/result"):
        assert bound(e, key) == (1, 1), key
    assert e.cache["B/add_xy/0:add"].hit is False


def test_n4_with_caching_the_relaunch_hits_add_xy_but_still_runs_the_steps():
    e = exp("add_three_numbers_relaunch_cached")
    hit = e.cache["B/add_xy/0:add"]
    assert hit.hit is True and hit.sources == ("A/add_xy/0:add",)
    assert bound(e, "B/add_xy/0:add") == (0, 0)
    assert bound(e, "B/add_xy") == (1, 1)  # workflow steps still execute
    assert e.cache["B/add_xyz/0:add"].hit is False  # A never created add_xyz's node
    assert {"N4", "K1"} <= e.exercises


# -- caching (K1..K8) ----------------------------------------------------------------


def test_k1_a_hit_executes_nothing():
    e = exp("k1_hit_executes_no_effect")
    assert e.cache["B/add_xy/0:add"].hit and e.cache["B/add_xyz/0:add"].hit
    assert bound(e, "B/add_xy/0:add") == bound(e, "B/add_xyz/0:add") == (0, 0)
    assert bound(e, "B/result") == (1, 1)


def test_k2_a_hit_returns_exactly_its_sources_outputs_and_names_it():
    e = exp("k2_hit_outputs_equal_source")
    assert e.cache["B/call/0:echo"].sources == ("A/call/0:echo",)
    a, b = e.launches["A"].outputs, e.launches["B"].outputs
    assert values_equal(dict(a), dict(b))
    assert any(not r.same and (r.a, r.b) == ("B/call/0:echo", "A/call/0:echo") for r in e.ids)


def test_k3_an_excepted_calculation_is_never_a_source():
    e = exp("k3_excepted_source_never_hit")
    assert e.launches["A"].exit_status == CHILD_FAILED_EXIT_STATUS
    assert e.cache["B/add_xy/0:add"].hit is False
    assert "excepted" in e.cache["B/add_xy/0:add"].reason


@pytest.mark.parametrize(("policy", "fails_hits", "broken_hits"), [
    ("allow_unless_invalidating", True, False),
    ("never", False, False),
    ("always", True, True),
])
def test_k3_failed_sources_follow_the_declared_policy(policy, fails_hits, broken_hits):
    caps = dataclasses.replace(CAPS, failed_source_policy=policy)
    e = exp("k3_failed_source_follows_policy", caps)
    assert e.cache["B/both/0:fails"].hit is fails_hits
    assert e.cache["B/both/1:broken"].hit is broken_hits
    assert e.launches["B"].exit_status == CHILD_FAILED_EXIT_STATUS  # hit or not, it failed


def test_k3_an_invalidated_source_misses_while_others_still_hit():
    e = exp("k3_invalidated_source_misses")
    assert e.cache["B/add_xy/0:add"].hit is False
    assert e.cache["B/add_xyz/0:add"].hit is True


def test_k4_any_change_of_type_normal_form_or_depth_misses():
    e = exp("k4_any_input_change_misses")
    assert [e.cache[f"{label}/call/0:digest"].hit for label in "ABCDEFGH"] == [False] * 8
    digests = {e.launches[label].outputs["digest"] for label in "ABCDEFGH"}
    assert len(digests) == 8


def test_k4_a_declared_normalisation_turns_the_miss_into_a_reported_hit():
    exact = exp("k4_float_normalisation_is_reported").cache["B/call/0:digest"]
    caps = dataclasses.replace(CAPS, hash_normalisations=frozenset({"float_round_14"}))
    rounded = exp("k4_float_normalisation_is_reported", caps).cache["B/call/0:digest"]
    assert exact.hit is False
    assert rounded.hit is True and rounded.via_normalisation


def test_k5_equal_inputs_hit_across_a_worker_kill_and_processes():
    e = exp("k5_hit_across_worker_kill")
    assert e.cache["B/add_xy/0:add"].hit and e.cache["B/add_xyz/0:add"].hit
    assert "K5" in e.exercises


def test_k6_workflows_are_never_cached():
    e = exp("k6_workflows_never_cached")
    for label in "AB":
        for step in ("s1", "s2", "s3"):
            assert bound(e, f"{label}/{step}") == (1, 1)
    assert any({r.a, r.b} == {"A", "B"} and not r.same for r in e.ids)


def test_k6_caching_off_never_hits():
    e = exp("k6_caching_off_never_hits")
    assert all(c.hit is False and not c.caching_enabled for c in e.cache.values())
    assert "K6" in e.exercises


def test_k7_per_type_configuration_is_followed():
    e = exp("k7_per_type_configuration")
    assert e.cache["B/both/0:add"].hit is True
    assert e.cache["B/both/1:digest"].hit is False
    assert "K7" in e.exercises


def test_k8_two_types_with_equal_inputs_never_hit_each_other():
    e = exp("k8_types_never_hit_each_other")
    assert e.cache["A/second/0:plus"].hit is False
    assert e.launches["A"].outputs == {"first": 3, "second": 3}


# -- liveness and provenance (L1, L2, P1) --------------------------------------------


def test_l1_every_launch_must_reach_a_terminal_state_after_faults():
    e = exp("l1_every_launch_terminates_after_faults")
    for launch in e.launches.values():
        assert launch.decided and launch.states <= {"finished", "excepted", "killed"}
        assert launch.states
    assert "L1" in e.exercises


def test_l2_one_launch_makes_one_process():
    e = exp("l2_one_launch_one_process")
    different = {frozenset((r.a, r.b)) for r in e.ids if not r.same}
    assert {frozenset("AB"), frozenset("AC"), frozenset("BC")} <= different
    assert "L2" in e.exercises


def test_p1_an_armed_kill_may_stop_the_launch_and_later_effects_may_not_run():
    e = exp("p1_kill_propagates_to_children")
    assert e.launches["A"].states == {"killed", "finished"}
    assert e.launches["A"].state is None
    assert bound(e, "A/inner/repeat#0/tick") == (1, 1)  # the third entry: the kill's trigger
    assert bound(e, "A/finish") == (0, 1)
    assert "P1" in e.exercises


# -- honesty ---------------------------------------------------------------------------


def test_when_timing_decides_whether_a_fault_fires_the_launch_is_undecided():
    # A database restart may make any effect of A run again: s2's count is then 1..2,
    # so whether B's s2 is attempt 3 (which raises) is engine timing.
    s = Scenario("s", (STEPS,), (), (Launch("A", "Steps", {"x": 1}), Relaunch("B", "A")),
                 (RestartDatabase(1), RaiseIn("Steps.s2", 3)))
    e = expect(s, CAPS)
    assert e.launches["A"].decided and e.launches["A"].state == "finished"
    assert not e.launches["B"].decided
    assert "Steps.s2" in e.undecided[0]
    assert e.bound("B/s1") is None  # nothing can be said about an undecided launch


def test_a_crashpoint_the_engine_cannot_arm_makes_the_scenario_not_applicable():
    caps = dataclasses.replace(CAPS, crashpoints=frozenset({"before_effect"}))
    e = exp("c1_kill_while_waiting_keeps_id", caps)
    assert not e.applicable
    assert "while_waiting" in e.not_applicable[0]


def test_a_fault_beyond_the_end_of_the_journal_is_noted_as_never_firing():
    s = Scenario("s", (STEPS,), (), (Launch("A", "Steps", {"x": 1}),), (KillOnEffect(99),))
    e = expect(s, CAPS)
    assert "never fires" in e.notes[0]
    assert all(b.exact for b in e.effects.values())


def test_unlisted_keys_of_a_decided_launch_must_not_execute():
    e = exp("add_three_numbers_relaunch_uncached")
    assert e.bound("A/add_xyz/0:add") == EffectBound(0, 0, e.bound("A/add_xyz/0:add").reason)
    assert not e.bound("A/result").allows(1)


def test_the_oracle_is_pure_same_inputs_same_expectation():
    scenario = by_name("c5_no_overlap_after_redelivery")
    assert expect(scenario, CAPS) == expect(scenario, CAPS)


def test_every_exercised_clause_is_a_known_clause():
    from scenarios import CATALOG

    for scenario in CATALOG:
        assert expect(scenario, CAPS).exercises <= set(ALL_CLAUSES)


def test_a_workflow_with_a_failed_child_finishes_with_the_child_failed_status():
    s = Scenario("s", (ADD_THREE,), (ADD,), (Launch("A", "AddThreeNumbers",
                                                    {"x": 1, "y": 2, "z": 3}),),
                 (RaiseIn("calc:add", 2),))
    e = expect(s, CAPS)
    assert e.launches["A"].states == {"finished"}
    assert e.launches["A"].exit_status == CHILD_FAILED_EXIT_STATUS
    assert e.launches["A"].outputs == {}
    assert bound(e, "A/result") == (0, 0)
