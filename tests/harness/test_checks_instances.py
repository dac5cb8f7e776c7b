"""N1..N4 on hand-made histories of the AddThreeNumbers relaunch story."""

from __future__ import annotations

from harness.checks import CHECKS, FAIL, PASS
from tests.harness.histories import Hist, relaunch_run


def test_an_excepted_process_that_stays_excepted_passes_n1() -> None:
    assert relaunch_run(cached=False).check("N1").verdict == PASS


def test_an_excepted_process_running_a_step_later_fails_n1() -> None:
    h = relaunch_run(cached=False)
    h.effect("A/result", "1", worker=13)  # after A was seen excepted
    result = h.check("N1")
    assert result.verdict == FAIL
    assert "was excepted, then ran A/result" in result.sentence
    assert any('"type":"terminal"' in line for line in result.witness)


def test_an_excepted_process_that_later_finishes_fails_n1() -> None:
    result = relaunch_run(cached=False).set("1", state="finished", exit_status=0).check("N1")
    assert result.verdict == FAIL
    assert "then it became finished" in result.sentence


def test_a_relaunch_with_a_new_id_passes_n2() -> None:
    assert relaunch_run(cached=False).check("N2").verdict == PASS


def test_a_relaunch_that_reuses_the_old_id_fails_n2() -> None:
    h = relaunch_run(cached=False)
    for record in h.records:
        if record.get("op") == "relaunch":
            record["process"] = "1"
    result = h.check("N2")
    assert result.verdict == FAIL
    assert "reused process id 1" in result.sentence


def test_a_relaunch_pointing_at_the_wrong_origin_fails_n2() -> None:
    result = relaunch_run(cached=False).set("3", restart_of="2").check("N2")
    assert result.verdict == FAIL
    assert "restart_of 2" in result.sentence


def test_a_new_instance_that_reruns_every_effect_passes_n3() -> None:
    assert relaunch_run(cached=False).check("N3").verdict == PASS


def test_a_new_instance_that_skips_its_first_step_fails_n3() -> None:
    h = relaunch_run(cached=False)
    h.records = [r for r in h.records if r.get("key") != "B/add_xy"]
    result = h.check("N3")
    assert result.verdict == FAIL
    assert "B/add_xy ran 0 times" in result.sentence


def test_a_new_instance_effect_written_by_the_old_process_fails_n3() -> None:
    h = relaunch_run(cached=False)
    for record in h.records:
        if record.get("key") == "B/add_xyz":
            record["process"] = "1"
    result = h.check("N3")
    assert result.verdict == FAIL
    assert "not process 3 or its children" in result.sentence


def test_a_cached_relaunch_whose_calculation_hits_passes_n4() -> None:
    assert relaunch_run(cached=True).check("N4").verdict == PASS


def test_a_cached_relaunch_whose_equal_calculation_executes_fails_n4() -> None:
    h = relaunch_run(cached=True).set("4", cached_from=None)
    h.effect("B/add_xy/0:add", "4")
    result = h.check("N4")
    assert result.verdict == FAIL
    assert "executed (process 4) instead of hitting A/add_xy/0:add" in result.sentence


# ------------------------------------------- several labels per process (issue 18, point 3)
def retry_relaunch_run(aliases: tuple[str, ...]) -> Hist:
    """An engine that relaunches by retrying the excepted run: B gets A's id 1, and the
    run finishes; ``aliases`` is what the adapter reports as the run's further labels."""
    h = Hist("add_three_numbers_relaunch_uncached")
    h.launch("A", "1").wf("1", "A", "AddThreeNumbers", state="excepted", exit_status=None)
    h.effect("A/add_xy", "1")
    h.effect("A/add_xy/0:add", "2")
    h.calc("2", "A/add_xy/0:add", "1", {"sum": 3})
    h.effect("A/add_xyz", "1", raised=True)
    h.terminal("2", "1").launch("B", "1", of="A")
    h.effect("B/add_xy", "1")
    h.effect("B/add_xy/0:add", "4")
    h.calc("4", "B/add_xy/0:add", "1", {"sum": 3})
    h.effect("B/add_xyz", "1")
    h.effect("B/add_xyz/0:add", "5")
    h.calc("5", "B/add_xyz/0:add", "1", {"sum": 6})
    h.effect("B/result", "1")
    h.set("1", state="finished", exit_status=0, outputs={"sum": 6}, aliases=aliases)
    return h.terminal("4", "5")


def failing(h: Hist) -> dict[str, str]:
    results = {clause: h.check(clause) for clause in CHECKS}
    return {clause: r.sentence for clause, r in results.items() if r.verdict == FAIL}


def test_a_relaunch_reviving_the_old_id_fails_only_n1_and_n2_when_it_names_both_labels(
        ) -> None:
    # the root cause, seen twice: the excepted process ran again (N1) and the relaunch
    # made no new instance (N2); no knock-on failure in L2, C4 or P1
    failed = failing(retry_relaunch_run(aliases=("B",)))
    assert set(failed) == {"N1", "N2"}, failed
    assert "relaunch B of A reused process id 1" in failed["N2"]
    assert "process 1 (A) was excepted, then ran B/add_xy" in failed["N1"]


def test_without_aliases_the_second_label_has_no_process_and_l2_says_so() -> None:
    failed = failing(retry_relaunch_run(aliases=()))
    assert set(failed) == {"N1", "N2", "L2"}, failed
    assert "launch B returned process 1 but the engine shows top-level process(es) none" \
        in failed["L2"]


def test_a_process_is_found_at_each_of_its_paths() -> None:
    observation = retry_relaunch_run(aliases=("B",)).history().observation()
    assert [p.id for p in observation.at_path("A")] == ["1"]
    assert [p.id for p in observation.at_path("B")] == ["1"]
    assert observation.get("1") is not None and observation.get("1").paths == ("A", "B")


def _waited_then_running() -> Hist:
    """Launch A's wait returned `finished`, but by the next observation (and in the final
    view) the engine showed it running: no `terminal` sighting was ever recorded (AiiDA,
    campaign seed 1717: a second executor set `running` on the sealed node)."""
    h = Hist("c2_checkpointed_effect_not_repeated").launch("A", "1")
    h.effect("A/s1", "1")
    h.add("op", i=0, op="wait", label="A", process="1", state="finished", timeout=60.0)
    return h.wf("1", "A", "Steps", state="running", exit_status=0, outputs=None)


def test_a_process_a_wait_saw_terminal_that_is_running_later_fails_n1() -> None:
    result = _waited_then_running().check("N1")
    assert result.verdict == FAIL, result.sentence
    assert "process 1 (A) was finished, then it became running" in result.sentence
    assert any('"op":"wait"' in line for line in result.witness)


def test_a_wait_sighting_is_judged_on_its_state_only() -> None:
    # the wait line holds no exit status or outputs: a process that stays finished is
    # no violation (the scenario does not exercise N1, so the verdict stays unknown)
    h = _waited_then_running().set("1", state="finished", outputs={"out": 7})
    assert h.check("N1").verdict != FAIL, h.check("N1").sentence


def test_a_body_begun_after_a_wait_saw_the_process_terminal_fails_n1() -> None:
    h = _waited_then_running().set("1", state="finished", outputs={"out": 7})
    h.effect("A/s2", "1", worker=12)
    result = h.check("N1")
    assert result.verdict == FAIL and "was finished, then ran A/s2" in result.sentence


def test_a_wait_that_timed_out_is_no_sighting() -> None:
    h = Hist("c2_checkpointed_effect_not_repeated").launch("A", "1")
    h.add("op", i=0, op="wait", label="A", process="1", state="timeout", timeout=60.0)
    h.wf("1", "A", "Steps", state="running", exit_status=None, outputs=None)
    assert h.check("N1").verdict != FAIL
