"""The order-sensitive rules on hand-made histories: C2's step order, N1 and P1 from the
engine's ordered events and the journal, P2's accounting, the scoped service excuse.

Each failing history is one a first-terminal-snapshot or count-only check passes.
"""

from __future__ import annotations

from harness.checks import FAIL, PASS, UNKNOWN, ClauseResult
from tests.harness.histories import Hist, c3_run

# ---------------------------------------------------------------------- C2: order


def _steps_with_kills(rerun_after_next: bool) -> Hist:
    """Steps(7) with a kill after s1's effect and one at s2's start (catalog scenario
    c2_step_never_reruns_after_next_began): s1 runs twice either way, counts agree."""
    h = Hist("c2_step_never_reruns_after_next_began").launch("A", "1")
    h.run("A/s1", "1", worker=11)
    h.kill("A/s1", "1", "after_effect_before_checkpoint", 11)
    if rerun_after_next:
        h.begin("A/s2", "1", worker=12)  # the engine moved on without s1's checkpoint
        h.kill("A/s2", "1", "before_effect", 12)
        h.run("A/s1", "1", worker=13)  # ... and then went back to the older checkpoint
    else:
        h.run("A/s1", "1", worker=12)
        h.begin("A/s2", "1", worker=12)
        h.kill("A/s2", "1", "before_effect", 12)
    h.run("A/s2", "1", worker=13)
    h.run("A/s3", "1", worker=13)
    return h.wf("1", "A", "Steps", outputs={"out": 7}).terminal("1")


def test_steps_rerun_only_before_the_next_step_began_pass_c2() -> None:
    result = _steps_with_kills(rerun_after_next=False).check("C2")
    assert result.verdict == PASS, result.sentence


def test_a_step_rerun_after_the_next_step_began_fails_c2_although_counts_agree() -> None:
    h = _steps_with_kills(rerun_after_next=True)
    assert h.check("C3").verdict == PASS  # s1 ran kills + 1 = 2 times: counts are right
    result = h.check("C2")
    assert result.verdict == FAIL
    assert "step A/s1 ran again in process 1" in result.sentence
    assert "next step A/s2" in result.sentence
    assert sum('"type":"begin"' in line for line in result.witness) == 3


def test_a_rerun_redelivered_by_a_broker_restart_is_excused_on_a_loose_bound() -> None:
    h = Hist("c2_step_never_reruns_after_next_began").launch("A", "1")
    h.run("A/s1", "1", worker=11)
    h.kill("A/s1", "1", "after_effect_before_checkpoint", 11)
    h.run("A/s1", "1", worker=12)
    h.begin("A/s2", "1", worker=12)
    h.kill("A/s2", "1", "before_effect", 12)
    h.add("fault", source="nemesis", fault="restart_broker", status="fired", hard=True,
          entry=2, key="A/s1")
    h.run("A/s1", "1", worker=14)  # the stale task, redelivered right after the restart
    h.run("A/s2", "1", worker=13)
    h.run("A/s3", "1", worker=13)
    h.wf("1", "A", "Steps", outputs={"out": 7}).terminal("1")
    result = h.check("C2")
    assert result.verdict == PASS, result.sentence
    assert "1 verdict(s) rest on a loose bound" in result.sentence


# ---------------------------------------------------------------------- N1: ordered


def _killed_then(after: tuple[str, ...]) -> Hist:
    """A is killed while s2 runs; the engine's events go on with ``after``; the harness
    first sees A only at the end (as on the sim tier), already in its final state."""
    h = Hist("n1_killed_process_never_runs_again").launch("A", "1")
    h.event("1", "created").event("1", "claimed", "w1").event("1", "running", "w1")
    h.run("A/s1", "1", worker=1)
    h.run("A/s2", "1", worker=1)
    h.event("1", "killed")
    for state in after:
        h.event("1", state, "w1")
    final = "finished" if "finished" in after else "killed"
    h.wf("1", "A", "Steps", state=final, exit_status=0 if final == "finished" else None,
         outputs={"out": 1} if final == "finished" else {})
    if after:
        h.run("A/s3", "1", worker=1)
    return h.terminal("1")


def test_a_killed_process_that_stays_killed_in_the_engine_events_passes_n1() -> None:
    result = _killed_then(()).check("N1")
    assert result.verdict == PASS, result.sentence
    assert "1 from the engine's ordered events" in result.sentence


def test_a_killed_process_resumed_before_the_harness_saw_it_fails_n1() -> None:
    result = _killed_then(("running", "finished")).check("N1")
    assert result.verdict == FAIL
    assert "process 1 (A) was killed, then the engine made it running" in result.sentence
    assert len(result.witness) == 2 and all('"type":"event"' in w for w in result.witness)


def test_a_killed_process_claimed_again_and_finished_fails_n1() -> None:
    result = _killed_then(("claimed", "finished")).check("N1")
    assert result.verdict == FAIL and "then the engine made it finished" in result.sentence


def test_a_stale_delivery_of_a_killed_process_that_is_dropped_passes_n1() -> None:
    h = _killed_then(())
    h.event("1", "claimed", "w2")  # delivered, seen terminal, dropped: not a run
    assert h.check("N1").verdict == PASS


def test_without_engine_events_n1_says_it_judged_from_sightings_only() -> None:
    h = _killed_then(("running", "finished"))
    h.events.clear()
    result = h.check("N1")
    assert result.verdict == PASS  # blind without events, and it says so
    assert "from first terminal sightings only" in result.sentence


# ---------------------------------------------------------------------- P1: ordered


def _nested_kill(child_after: tuple[str, ...], child_final: str) -> Hist:
    """Nested(2): A is killed while its sub-workflow A/inner (process 2) runs."""
    h = Hist("p1_kill_propagates_to_children").launch("A", "1")
    h.event("1", "created").event("1", "claimed", "w1").event("1", "running", "w1")
    h.run("A/start", "1", worker=1)
    h.run("A/inner", "1", worker=1)
    h.event("2", "created").event("1", "waiting", "w1").event("2", "claimed", "w2")
    h.event("2", "running", "w2")
    h.run("A/inner/repeat#0/tick", "2", worker=2)
    h.event("1", "killed")
    for state in child_after:
        h.event("2", state, "w2" if state != "killed" else None)
    h.wf("1", "A", "Nested", state="killed", exit_status=None)
    h.wf("2", "A/inner", "Inner", state=child_final,
         exit_status=0 if child_final == "finished" else None, parent="1")
    return h.terminal("1", "2")


def test_a_child_killed_with_its_parent_passes_p1() -> None:
    result = _nested_kill(("killed",), "killed").check("P1")
    assert result.verdict == PASS, result.sentence
    assert "1 descendant(s) of terminated processes judged" in result.sentence


def test_a_child_that_runs_on_and_finishes_after_its_parent_was_killed_fails_p1() -> None:
    result = _nested_kill(("waiting", "claimed", "finished"), "finished").check("P1")
    assert result.verdict == FAIL  # the final view alone is consistent: both terminal
    assert "process 2 (A/inner) kept running after its ancestor 1 (A) was killed" \
        in result.sentence


def test_a_child_that_begins_a_body_after_its_parent_was_seen_killed_fails_p1() -> None:
    h = _nested_kill(("killed",), "killed")
    h.events.clear()
    h.records = [r for r in h.records if not (r["type"] == "terminal" and r["process"] == "2")]
    h.run("A/inner/repeat#1/tick", "2", worker=2)
    h.terminal("2")
    result = h.check("P1")
    assert result.verdict == FAIL
    assert "process 2 began A/inner/repeat#1/tick after its ancestor 1 (A) was seen killed" \
        in result.sentence


# ---------------------------------------------------------------------- P2


def test_every_process_that_ran_a_body_is_reported_passes_p2() -> None:
    result = c3_run().check("P2")
    assert result.verdict == PASS, result.sentence


def test_a_body_run_in_a_process_the_engine_does_not_report_fails_p2() -> None:
    h = Hist("p2_killed_attempt_is_accounted_for").launch("A", "1")
    h.wf("1", "A", "AddThreeNumbers", outputs={"sum": 6})
    h.run("A/add_xy", "1")
    h.run("A/add_xy/0:add", "2", worker=12)  # the killed attempt, in process 2 ...
    h.kill("A/add_xy/0:add", "2", "after_effect_before_checkpoint", 12)
    h.run("A/add_xy/0:add", "7", worker=13)  # ... whose record the engine replaced by 7
    h.calc("7", "A/add_xy/0:add", "1", {"sum": 3})
    h.run("A/add_xyz", "1")
    h.run("A/add_xyz/0:add", "8")
    h.calc("8", "A/add_xyz/0:add", "1", {"sum": 6})
    h.run("A/result", "1")
    result = h.terminal("7", "8", "1").check("P2")
    assert result.verdict == FAIL
    assert "A/add_xy/0:add ran in process 2 (worker 12), which the engine does not report" \
        in result.sentence


def test_an_attempt_the_engine_events_do_not_account_for_fails_p2() -> None:
    h = Hist("p2_killed_attempt_is_accounted_for").launch("A", "1")
    h.wf("1", "A", "Steps")
    h.event("1", "created").event("1", "claimed", "w1")
    h.run("A/add_xy", "1", worker=1)
    h.run("A/add_xy", "1", worker=2, attempt=2)  # a second attempt, no claim recorded
    result = h.check("P2")
    assert result.verdict == FAIL
    assert "2 attempt(s)" in result.sentence and "1 claim(s)" in result.sentence


def test_p2_is_unknown_without_the_engines_final_view() -> None:
    h = c3_run()
    h.procs.clear()
    assert h.check("P2").verdict == UNKNOWN


# ---------------------------------------------------------------------- service faults


def test_a_service_fault_does_not_excuse_a_repeat_of_work_done_long_before_it() -> None:
    h = c3_run()
    h.effect("A/s1", "1", worker=12, t0=100.045)  # s1 again, early (between s2's runs)
    h.add("fault", source="nemesis", fault="restart_database", status="fired",
          entry=6, key="A/s3")  # after s3: it could only have repeated s3 or later work
    result = h.check("C2")
    assert result.verdict == FAIL
    assert "step A/s1 ran 2 times" in result.sentence


def test_a_service_fault_excuses_the_work_in_flight_and_says_the_bound_is_loose() -> None:
    h = c3_run()
    h.add("fault", source="nemesis", fault="restart_database", status="fired",
          entry=6, key="A/s3")
    h.effect("A/s3", "1", worker=14)  # redelivered after the restart
    result = h.check("C2")
    assert result.verdict == PASS, result.sentence
    assert "rest on a loose bound: extra runs of A/s3" in result.sentence
    assert result.loose == 1


def test_the_matrix_counts_the_scenarios_that_passed_on_a_loose_bound() -> None:
    from harness.conformance import matrix
    from harness.runner import ScenarioRun
    from tests.harness.histories import CAPS

    loose = ClauseResult("C2", PASS, sentence="ok", scenario="a", loose=2)
    exact = ClauseResult("C2", PASS, sentence="ok", scenario="b")
    runs = [ScenarioRun(c3_run().scenario, "ran", results=(r,)) for r in (loose, exact)]
    row = next(row for row in matrix(CAPS, runs) if row.clause == "C2")
    assert row.loose == 1
    assert "1 scenario(s) passed on a loose bound" in row.reason


def test_engine_events_without_numeric_ids_keep_their_line_order() -> None:
    from harness.checks._order import EngineOrder

    h = _killed_then(())
    for event in h.events:
        event["id"] = f"e{event['id']}"  # an engine with opaque event ids
    order = EngineOrder(h.history())
    first = order.first_terminal("1")
    assert first is not None and first.state == "killed"
    assert [c.state for c in order.by_process["1"]] == ["created", "claimed", "running",
                                                       "killed"]


def test_claims_alone_order_no_state_change_and_p1_says_it_used_the_journal() -> None:
    """An engine that counts dispatches (DBOS's recovery_attempts) reports claims only:
    the claims serve P2, and P1 names the evidence it really used."""
    from harness.checks._order import EngineOrder

    h = _nested_kill((), "killed")
    h.events = [e for e in h.events if e["state"] == "claimed"]
    order = EngineOrder(h.history())
    assert order.claims_offered and not order.offered
    result = h.check("P1")
    assert "judged from the journal after first terminal sightings only" in result.sentence
