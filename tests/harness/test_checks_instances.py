"""N1..N4 on hand-made histories of the AddThreeNumbers relaunch story."""

from __future__ import annotations

from harness.checks import FAIL, PASS
from tests.harness.histories import relaunch_run


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
