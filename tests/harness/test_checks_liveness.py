"""L1, L2 and P1 on hand-made histories."""

from __future__ import annotations

from harness.checks import FAIL, PASS
from tests.harness.histories import c2_run, c6_run, relaunch_run


def test_every_process_terminal_after_heal_passes_l1() -> None:
    assert c6_run().check("L1").verdict == PASS


def test_a_process_stuck_after_heal_fails_l1_with_the_classified_reason() -> None:
    h = c6_run().set("3", state="running", exit_status=None)
    h.add("op", op="heal_wait", process="3", path="A/fan/1:add", state="stuck", timeout=10.0,
          reason="no task: running with no task in the queue (lost task)")
    result = h.check("L1")
    assert result.verdict == FAIL
    assert "still running 10.0 s after faults stopped: no task" in result.sentence
    assert any('"op":"heal_wait"' in line for line in result.witness)


def test_one_top_level_process_per_launch_passes_l2() -> None:
    assert relaunch_run(cached=False).check("L2").verdict == PASS


def test_a_launch_that_made_two_processes_fails_l2() -> None:
    h = c2_run().wf("9", "A", "Steps", outputs={"out": 7})
    result = h.check("L2")
    assert result.verdict == FAIL
    assert "top-level process(es) ['1', '9']" in result.sentence


def test_a_top_level_process_no_launch_made_fails_l2() -> None:
    result = c2_run().wf("9", None, "Steps").check("L2")  # type: ignore[arg-type]  # no path
    assert result.verdict == FAIL
    assert "made by no launch" in result.sentence


def test_consistent_parent_and_child_links_pass_p1() -> None:
    assert c6_run().check("P1").verdict == PASS


def test_a_child_missing_from_its_parents_list_fails_p1() -> None:
    h = c6_run()
    h.procs["1"]["children"].remove("2")
    result = h.check("P1")
    assert result.verdict == FAIL
    assert "names parent 1, which does not list it" in result.sentence


def test_an_active_child_of_a_terminated_parent_fails_p1() -> None:
    result = c6_run().set("4", state="waiting", exit_status=None).check("P1")
    assert result.verdict == FAIL
    assert "is finished but its child 4 (A/fan/2:digest) is still waiting" in result.sentence
