"""A fault the engine cannot do is skipped, not the whole scenario (issue 18, point 2).

On the sim tier, with adapters that cannot restart a broker: one that says so up front
(``supports``) and one that raises ``Unsupported`` only when the fault lands.
"""

from __future__ import annotations

import pytest

from harness.adapters.reference_sim import SimReferenceAdapter
from harness.checks import PASS, UNKNOWN
from harness.errors import Unsupported
from harness.runner import ScenarioRun, run_scenario
from scenarios.catalog import by_name

pytestmark = pytest.mark.simulation


class NoBroker(SimReferenceAdapter):
    """Says up front that it has no broker (and no database or connections to cut)."""

    def supports(self, operation: str) -> bool:
        return operation not in {"restart_broker", "restart_database", "drop_connection"} \
            and super().supports(operation)


class RaisingBroker(SimReferenceAdapter):
    """Claims a broker, but raises ``Unsupported`` when asked to restart it."""

    def restart_broker(self, hard: bool) -> None:
        raise Unsupported(self.name, self.tier, "restart broker", "no broker after all")


def verdicts(run: ScenarioRun) -> dict[str, str]:
    return {result.clause: result.verdict for result in run.results}


def fired(run: ScenarioRun) -> list[str]:
    assert run.history is not None
    return [str(line["fault"]) for line in run.history.of("fault")
            if line.get("status") == "fired"]


def test_the_only_n1_scenario_runs_without_its_broker_restart_and_judges_n1() -> None:
    run = run_scenario(NoBroker, by_name("n1_excepted_process_never_runs_again"))
    assert run.status == "ran", run.reasons
    (reason,) = run.reasons
    assert reason.startswith("fault restart_broker(") and reason.endswith(
        "skipped: reference/sim cannot restart broker")
    assert verdicts(run)["N1"] == PASS
    assert run.history is not None
    assert run.history.of("outcome")[0]["skipped_faults"] == list(run.reasons)
    assert "restart_broker" not in fired(run)


def test_the_l1_scenario_keeps_its_kill_when_its_service_faults_are_skipped() -> None:
    run = run_scenario(NoBroker, by_name("l1_every_launch_terminates_after_faults"))
    assert run.status == "ran"
    assert len(run.reasons) == 3, run.reasons
    assert fired(run) == ["kill_on_effect"]
    assert verdicts(run)["L1"] == PASS


def test_a_scenario_whose_every_fault_is_skipped_does_not_credit_its_own_clause() -> None:
    run = run_scenario(NoBroker, by_name("c5_no_overlap_after_redelivery"))
    assert run.status == "ran" and not fired(run)
    (c5,) = [r for r in run.results if r.clause == "C5"]
    assert c5.verdict == UNKNOWN and not c5.exercised
    assert "written for C5 with restart_broker, drop_connection" in c5.sentence


def test_a_fault_that_raises_unsupported_when_it_lands_is_skipped_and_the_run_goes_on() -> None:
    run = run_scenario(RaisingBroker, by_name("l1_every_launch_terminates_after_faults"))
    assert run.status == "ran", run.reasons
    assert [r for r in run.reasons if "restart_broker" in r], run.reasons
    assert "kill_on_effect" in fired(run) and "restart_database" in fired(run)
    assert verdicts(run)["L1"] == PASS
    assert not run.failed()


def test_an_engine_that_can_do_every_fault_skips_none() -> None:
    run = run_scenario(SimReferenceAdapter, by_name("l1_every_launch_terminates_after_faults"))
    assert run.status == "ran" and run.reasons == ()
    assert run.history is not None and "skipped_faults" not in run.history.of("outcome")[0].data
    assert "restart_broker" in fired(run)


def test_the_progress_line_says_which_faults_were_skipped() -> None:
    from harness.matrix import render_run_line

    run = run_scenario(NoBroker, by_name("n1_excepted_process_never_runs_again"))
    line = render_run_line(run, frozenset({"N1"}))
    assert line.splitlines()[0].lstrip().startswith("ok")
    assert "fault restart_broker(" in line and "skipped" in line
