"""C1..C6 on hand-made histories: a correct run passes, one broken fact fails."""

from __future__ import annotations

from dataclasses import replace

import pytest

from harness.checks import FAIL, PASS
from scenarios.errors import InvalidScenarioError
from scenarios.oracle import expect
from tests.harness.histories import CAPS, Hist, c2_run, c3_run, c6_run


def test_a_process_that_continues_under_its_own_id_passes_c1() -> None:
    result = c2_run().check("C1")
    assert result.verdict == PASS, result.sentence


def test_a_killed_process_left_running_fails_c1_with_its_launch_as_witness() -> None:
    h = c2_run().set("1", state="running", exit_status=None)
    result = h.check("C1")
    assert result.verdict == FAIL
    assert "still running" in result.sentence
    assert any('"op":"launch"' in line for line in result.witness)


def test_a_continuation_under_a_new_id_fails_c1() -> None:
    h = c2_run().set("1", state="killed").wf("9", "A", "Steps", outputs={"out": 7})
    result = h.check("C1")
    assert result.verdict == FAIL
    assert "new process 9" in result.sentence


def test_no_effect_repeated_after_its_checkpoint_passes_c2() -> None:
    assert c2_run().check("C2").verdict == PASS


def test_a_step_rerun_from_scratch_after_a_kill_fails_c2_with_both_executions() -> None:
    h = c2_run()
    h.effect("A/s1", "1", worker=12)  # resumed from scratch instead of the checkpoint
    result = h.check("C2")
    assert result.verdict == FAIL
    assert "A/s1 ran 2 times" in result.sentence
    assert sum('"key":"A/s1"' in line for line in result.witness) == 2


def test_an_effect_in_flight_at_two_kills_may_run_three_times_under_c3() -> None:
    result = c3_run().check("C3")
    assert result.verdict == PASS, result.sentence


def test_an_effect_running_more_than_kills_plus_one_times_fails_c3() -> None:
    h = c3_run()
    h.effect("A/s2", "1", worker=14)
    result = h.check("C3")
    assert result.verdict == FAIL
    assert "ran 4 times with 2 kill(s)" in result.sentence
    assert any('"fault":"kill_at_crashpoint"' in line for line in result.witness)


def test_kills_between_effects_count_as_c3_evidence() -> None:
    result = c2_run().check("C3")
    assert result.verdict == PASS
    assert "1 between effects" in result.sentence


def test_outputs_equal_to_the_fault_free_run_pass_c4() -> None:
    assert c2_run().check("C4").verdict == PASS


def test_different_outputs_after_a_kill_fail_c4() -> None:
    result = c2_run().set("1", outputs={"out": 8}).check("C4")
    assert result.verdict == FAIL
    assert "{'out': 8}" in result.sentence and "{'out': 7}" in result.sentence


def test_outputs_of_another_type_fail_c4_because_equality_is_typed() -> None:
    result = c2_run().set("1", outputs={"out": 7.0}).check("C4")
    assert result.verdict == FAIL


def test_an_unexpected_final_state_fails_c4() -> None:
    result = c2_run().set("1", state="excepted", exit_status=None).check("C4")
    assert result.verdict == FAIL
    assert "ended excepted" in result.sentence


def test_sequential_effects_in_two_workers_pass_c5() -> None:
    assert c2_run().check("C5").verdict == PASS


def test_overlapping_effects_of_one_process_in_two_workers_fail_c5() -> None:
    h = c2_run()
    first = h.effect("A/s3", "1", worker=21, t0=500.0, t1=500.5)
    h.effect("A/s3", "1", worker=22, t0=500.2, t1=500.3)
    result = h.check("C5")
    assert result.verdict == FAIL
    assert "at the same time" in result.sentence
    assert len(result.witness) == 2 and str(first["t0"]) in result.witness[0]


def test_children_awaited_after_a_kill_pass_c6() -> None:
    assert c6_run().check("C6").verdict == PASS


def test_a_child_launched_again_after_the_checkpoint_fails_c6() -> None:
    h = c6_run().calc("7", "A/fan/0:add", "1", {"sum": 6})
    result = h.check("C6")
    assert result.verdict == FAIL
    assert "launched A/fan/0:add 2 times" in result.sentence
    assert len(result.witness) == 2


def test_a_broker_restart_allows_one_more_run_of_the_work_in_flight_under_c2_and_c3() -> None:
    h = c3_run()
    h.add("fault", source="nemesis", fault="restart_broker", status="fired", hard=True,
          entry=2, key="A/s1")
    h.effect("A/s2", "1", worker=14)  # redelivered after the restart: at-least-once
    assert h.check("C3").verdict == PASS, h.check("C3").sentence
    h.effect("A/s2", "1", worker=15)  # one more than kills + service faults + 1
    result = h.check("C3")
    assert result.verdict == FAIL and "service fault" in result.sentence


def test_an_unfired_service_fault_does_not_excuse_a_repeat() -> None:
    h = c2_run()
    h.add("fault", source="nemesis", fault="drop_connection", status="unsupported")
    h.effect("A/s1", "1", worker=12)
    assert h.check("C2").verdict == FAIL


# ------------------------------------- per-attempt ids (issue 18, point 5: attempt_of)
def test_a_child_whose_second_attempt_got_a_new_id_is_one_process_for_c1_and_c6() -> None:
    # the engine gave A/fan/0:add a new id (7) for the attempt after the kill, and says so
    h = c6_run().set("2", state="killed", exit_status=None, outputs={})
    h.calc("7", "A/fan/0:add", "1", {"sum": 6}).set("7", attempt_of="2")
    assert h.history().observation().identity(h.history().observation().get("7")) == "2"
    for clause in ("C1", "C6"):
        result = h.check(clause)
        assert result.verdict == PASS, (clause, result.sentence)


def test_two_ids_at_one_child_place_without_attempt_of_still_fail_c1() -> None:
    h = c6_run().set("2", state="killed", exit_status=None, outputs={})
    h.calc("7", "A/fan/0:add", "1", {"sum": 6})
    result = h.check("C1")
    assert result.verdict == FAIL
    assert "A/fan/0:add continued as 2 processes (2, 7), not one" in result.sentence


def test_an_unfinished_latest_attempt_fails_c1() -> None:
    h = c6_run().set("2", state="killed", exit_status=None, outputs={})
    h.calc("7", "A/fan/0:add", "1", {}, state="running", exit_status=None)
    h.set("7", attempt_of="2")
    result = h.check("C1")
    assert result.verdict == FAIL
    assert "A/fan/0:add (process 7) is still running after a kill" in result.sentence


# ----------------------- declared semantics (issue 18, point 7): a failed child's parent
def excepted_child_run(rule: str) -> Hist:
    """k3_excepted_source_never_hit's launch A, whose add raised: the engine ended A
    excepted, as an engine declaring ``parent_excepted`` does."""
    h = Hist("k3_excepted_source_never_hit")
    h.expectation = expect(h.scenario, replace(CAPS, child_failure=rule))
    h.launch("A", "1").wf("1", "A", "AddThreeNumbers", state="excepted", exit_status=None)
    h.effect("A/add_xy", "1")
    h.effect("A/add_xy/0:add", "2", raised=True)
    h.calc("2", "A/add_xy/0:add", "1", {}, state="excepted", exit_status=None)
    return h.terminal("2", "1")


def test_the_declared_child_failure_rule_decides_the_parents_state_and_c4_names_it() -> None:
    assert excepted_child_run("parent_excepted").check("C4").verdict != FAIL
    result = excepted_child_run("parent_finishes_failed").check("C4")
    assert result.verdict == FAIL
    assert "ended excepted; the model allows finished (a child failed; by the declared rule " \
        "parent_finishes_failed, the parent finishes with exit status 1 and no outputs)" \
        in result.sentence


def test_an_unknown_child_failure_rule_is_refused_with_the_known_ones() -> None:
    with pytest.raises(InvalidScenarioError, match="parent_excepted"):
        replace(CAPS, child_failure="parent_ignores_it")


# ---------------------- a fired broker consumer timeout (AiiDA psql tier, issue 17 point 1)
def _two_executors_after(fault: str | None, terminal_first: bool = False) -> Hist:
    """Steps(7) whose task the broker took back mid-run while its worker ran on: from
    then on two workers run the process, and s2 and s3 each run twice."""
    h = Hist("c2_checkpointed_effect_not_repeated").launch("A", "1")
    h.wf("1", "A", "Steps", outputs={"out": 7})
    h.run("A/s1", "1", worker=11)
    if terminal_first:
        for key in ("A/s2", "A/s3"):
            h.run(key, "1", worker=11)
        h.terminal("1")
    if fault is not None:
        h.add("fault", source="broker", fault=fault, status="fired", worker=11,
              peer_port=40001, timeout_ms=5000)
    for key in ("A/s2", "A/s3"):
        if not terminal_first:
            h.run(key, "1", worker=11)
        h.run(key, "1", worker=12, attempt=2)  # the second executor, from the checkpoint
    if not terminal_first:
        h.terminal("1")
    return h


def test_repeats_with_no_fired_fault_fail_c2() -> None:
    # the false alarm of the seed-1717 campaign: without the timeout on record, C2 blames
    # the engine for what the harness's short consumer timeout caused
    result = _two_executors_after(None).check("C2")
    assert result.verdict == FAIL and "no kill interrupted it" in result.sentence


def test_a_fired_consumer_timeout_excuses_every_later_repeat_of_a_live_process() -> None:
    result = _two_executors_after("consumer_timeout").check("C2")
    assert result.verdict == PASS, result.sentence
    assert "loose bound" in result.sentence and "A/s3" in result.sentence


def test_a_broker_restart_excuses_only_the_first_body_after_it() -> None:
    # the contrast: a restart redelivers once; the timeout leaves two executors running
    result = _two_executors_after("restart_broker").check("C2")
    assert result.verdict == FAIL and "A/s3" in result.sentence


def test_a_consumer_timeout_that_was_only_configured_excuses_nothing() -> None:
    h = _two_executors_after(None)
    h.add("fault", source="broker", fault="consumer_timeout", status="armed")
    assert h.check("C2").verdict == FAIL


def test_a_consumer_timeout_after_the_process_was_seen_terminal_excuses_nothing() -> None:
    result = _two_executors_after("consumer_timeout", terminal_first=True).check("C2")
    assert result.verdict == FAIL, result.sentence


def _timeouts(h: Hist, count: int, timeout_ms: int) -> None:
    for _ in range(count):
        h.add("fault", source="broker", fault="consumer_timeout", status="fired", worker=11,
              peer_port=40001, timeout_ms=timeout_ms,
              detail="operation none caused a channel exception precondition_failed: "
                     "delivery acknowledgement on channel 5 timed out")


def test_a_stuck_channels_repeated_timeout_lines_count_as_one_takeover() -> None:
    # a SIGSTOPped worker's channel is logged timing out on every broker tick: one
    # takeover, so one extra run of the step in flight, not one per log line
    h = Hist("c3_in_flight_effect_at_most_kills_plus_one").launch("A", "1")
    h.wf("1", "A", "Steps", outputs={"out": 7})
    h.run("A/s1", "1")
    h.begin("A/s2", "1")
    _timeouts(h, 6, timeout_ms=5000)  # 0.01 s apart: within the 5 s timeout
    h.effect("A/s2", "1")
    for worker in (12, 13):
        h.run("A/s2", "1", worker=worker)
    h.run("A/s3", "1", worker=12)
    h.terminal("1")
    result = h.check("C3")
    assert result.verdict == FAIL and "ran 3 times" in result.sentence, result.sentence


def test_timeouts_further_apart_than_the_timeout_are_separate_takeovers() -> None:
    h = Hist("c3_in_flight_effect_at_most_kills_plus_one").launch("A", "1")
    h.wf("1", "A", "Steps", outputs={"out": 7})
    h.run("A/s1", "1")
    h.begin("A/s2", "1")
    _timeouts(h, 2, timeout_ms=5)  # 0.01 s apart: each a fresh delivery's timeout
    h.effect("A/s2", "1")
    for worker in (12, 13):
        h.run("A/s2", "1", worker=worker)
    h.run("A/s3", "1", worker=12)
    h.terminal("1")
    assert h.check("C3").verdict == PASS, h.check("C3").sentence


def test_a_consumer_timeout_excuses_nothing_in_a_launch_made_after_it() -> None:
    # the timeout took back what its channel held then; a later launch's tasks were
    # delivered afterwards (campaign seed 3117: A's timeout must not excuse B)
    h = Hist("c2_checkpointed_effect_not_repeated")
    h.add("fault", source="broker", fault="consumer_timeout", status="fired", worker=11,
          peer_port=40001, timeout_ms=5000)
    h.launch("A", "1").wf("1", "A", "Steps", outputs={"out": 7})
    for key in ("A/s1", "A/s2", "A/s3"):
        h.run(key, "1", worker=11)
    h.run("A/s2", "1", worker=12, attempt=2)
    h.terminal("1")
    result = h.check("C2")
    assert result.verdict == FAIL and "A/s2" in result.sentence, result.sentence
