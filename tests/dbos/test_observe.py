"""The DBOS adapter's pure view: processes and claims from ``workflow_status`` rows.

No DBOS needed: these rules read rows the adapter got from ``DBOSClient``.
"""

from __future__ import annotations

from harness.adapters.dbos.observe import Row, build_views, claims, view_state

CALC = "wfc.calc"


def _row(id_: str, status: str, *, name: str = "wfc.workflow", parent: str | None = None,
         output: object = None, attempts: int = 1, **spec: object) -> Row:
    return Row(id_, status, name, spec, output, parent, "wfc-worker-0", "wfc-v1", attempts,
               1, 2)


def test_success_carries_the_exit_status_and_outputs_the_workflow_returned() -> None:
    ok = _row("A-1", "SUCCESS", output={"exit_status": 0, "outputs": {"out": 7}})
    failed_child = _row("A-2", "SUCCESS", output={"exit_status": 1, "outputs": {}})
    assert view_state(ok) == ("finished", 0, {"out": 7})
    assert view_state(failed_child) == ("finished", 1, {})


def test_dbos_statuses_map_to_protocol_states() -> None:
    assert view_state(_row("x", "ERROR"))[0] == "excepted"
    assert view_state(_row("x", "CANCELLED"))[0] == "killed"
    assert view_state(_row("x", "PENDING"))[0] == "running"
    assert view_state(_row("x", "ENQUEUED"))[0] == "created"
    # DBOS's dead-letter status is not terminal: an operator may resume it
    assert view_state(_row("x", "MAX_RECOVERY_ATTEMPTS_EXCEEDED"))[0] == "created"


def test_children_are_linked_by_dbos_parent_ids_and_named_by_their_paths() -> None:
    rows = [_row("R", "SUCCESS", workflow="Fan", path="A",
                 output={"exit_status": 0, "outputs": {}}),
            _row("R/fan/0:add", "SUCCESS", name=CALC, parent="R", calc="add",
                 path="A/fan/0:add", output={"exit_status": 0, "outputs": {"sum": 6}})]
    views = {v.id: v for v in build_views(rows, {"R": ["A"]}, {}, CALC)}
    assert views["R"].children == ("R/fan/0:add",) and views["R"].path == "A"
    calc = views["R/fan/0:add"]
    assert (calc.kind, calc.name, calc.path, calc.parent) == ("calculation", "add",
                                                               "A/fan/0:add", "R")


def test_a_reused_workflow_id_carries_every_label_that_launched_it() -> None:
    rows = [_row("Steps", "SUCCESS", workflow="Steps", path="A",
                 output={"exit_status": 0, "outputs": {"out": 1}})]
    (view,) = build_views(rows, {"Steps": ["A", "B"]}, {}, CALC)
    assert view.path == "A" and view.aliases == ("B",)


def test_claims_are_one_per_dbos_dispatch_and_name_the_latest_executor() -> None:
    events = claims([_row("A-1", "SUCCESS", attempts=2), _row("B-1", "SUCCESS", attempts=1)])
    assert [(e["process"], e["state"], e["attempt"]) for e in events] == [
        ("A-1", "claimed", 1), ("A-1", "claimed", 2), ("B-1", "claimed", 1)]
    assert [e["worker"] for e in events] == [None, "wfc-worker-0", "wfc-worker-0"]
