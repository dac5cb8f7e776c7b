"""How the Celery adapter reads processes from Celery's result rows: pure code."""

from __future__ import annotations

from harness.adapters.celery.observe import Launched, Row, build_views, workflow_outcome


class ChordError(Exception):
    """Stands for celery.exceptions.ChordError (matched by name, as stored rows are)."""


def test_a_workflow_finishes_with_the_outcome_its_last_task_stored() -> None:
    rows = [Row("r|s1", "SUCCESS", {"next": "r|s2"}, 1.0),
            Row("r|s2", "SUCCESS", {"end": True, "exit_status": 0, "outputs": {"out": 7}}, 2.0)]
    assert workflow_outcome(rows) == ("finished", 0, {"out": 7})


def test_a_failed_chord_body_is_a_child_failure_not_an_exception_of_the_workflow() -> None:
    rows = [Row("r|fan", "SUCCESS", {"children": []}, 1.0),
            Row("r|fan|collect", "FAILURE", ChordError("Dependency x raised InjectedFault"), 2.0)]
    assert workflow_outcome(rows) == ("finished", 1, {})


def test_a_raising_step_makes_the_workflow_excepted_and_a_revoke_makes_it_killed() -> None:
    assert workflow_outcome([Row("r|s1", "FAILURE", RuntimeError("boom"), 1.0)])[0] == "excepted"
    assert workflow_outcome([Row("r|s1", "SUCCESS", {}, 1.0),
                             Row("r|s2", "REVOKED", None, 2.0)])[0] == "killed"
    chord_revoked = ChordError("Dependency x raised TaskRevokedError('revoked')")
    assert workflow_outcome([Row("r|f|collect", "FAILURE", chord_revoked, 1.0)])[0] == "killed"


def test_the_latest_terminal_row_decides_so_a_revival_shows_in_the_final_view() -> None:
    rows = [Row("r|s3", "FAILURE", RuntimeError("boom"), 1.0),
            Row("r|s3", "SUCCESS", {"end": True, "exit_status": 0, "outputs": {}}, 2.0)]
    assert workflow_outcome(rows)[0] == "finished"
    assert workflow_outcome([])[0] == "created"
    assert workflow_outcome([Row("r|s1", "STARTED", None)])[0] == "running"


def test_children_come_from_the_steps_that_sent_them_with_their_paths_and_parents() -> None:
    rows = {
        "r|fan": Row("r|fan", "SUCCESS", {"children": [
            {"id": "r/fan/0:add", "kind": "calculation", "name": "add", "path": "A/fan/0:add"},
            {"id": "r/fan/1:add", "kind": "calculation", "name": "add", "path": "A/fan/1:add"},
        ]}, 1.0),
        "r/fan/0:add": Row("r/fan/0:add", "SUCCESS", {"outputs": {"sum": 6}, "exit_status": 0}),
        "r/fan/1:add": Row("r/fan/1:add", "FAILURE", RuntimeError("boom")),
        "c0ffee-uuid": Row("c0ffee-uuid", "FAILURE", RuntimeError("chord_unlock")),
        "r|$end": Row("r|$end", "REVOKED", None),
    }
    views = {v.id: v for v in build_views([Launched("r", "A", "Fan")], rows)}
    assert set(views) == {"r", "r/fan/0:add", "r/fan/1:add"}  # not Celery's own task
    assert views["r"].children == ("r/fan/0:add", "r/fan/1:add")
    assert (views["r/fan/0:add"].state, views["r/fan/0:add"].outputs) == ("finished", {"sum": 6})
    assert views["r/fan/1:add"].state == "excepted"
    assert views["r/fan/1:add"].parent == "r"


def test_a_process_no_step_reported_is_still_shown_unless_it_was_never_delivered() -> None:
    rows = {"r/x/0:add": Row("r/x/0:add", "SUCCESS", {"outputs": {}, "exit_status": 0}),
            "r/y/0:add": Row("r/y/0:add", "REVOKED", None)}
    views = {v.id: v for v in build_views([Launched("r", "A", "W")], rows)}
    assert "r/x/0:add" in views and views["r/x/0:add"].path == "A/x/0:add"
    assert "r/y/0:add" not in views


def test_an_unreported_child_is_adopted_by_the_workflow_its_id_extends() -> None:
    rows = {"r|inner": Row("r|inner", "SUCCESS", {"children": [
                {"id": "r/inner", "kind": "workflow", "name": "Inner", "path": "A/inner"}]}),
            "r/inner|loop#0/tick": Row("r/inner|loop#0/tick", "REVOKED", None, 2.0, "w1"),
            "r/inner/loop#0/tick/0:add": Row("r/inner/loop#0/tick/0:add", "SUCCESS",
                                             {"outputs": {"sum": 1}, "exit_status": 0})}
    views = {v.id: v for v in build_views([Launched("r", "A", "Outer")], rows)}
    calc = views["r/inner/loop#0/tick/0:add"]
    assert calc.parent == "r/inner" and calc.path == "A/inner/loop#0/tick/0:add"
    assert views["r/inner"].children == ("r/inner/loop#0/tick/0:add",)
