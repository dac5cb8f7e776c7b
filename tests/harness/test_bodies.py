"""The body runtime: attempts, planned exceptions and kills, the gate, the hook."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from harness.bodies import BodyRuntime, InjectedFault
from harness.journal import read_records
from harness.session import ENV_VAR, GATE_OPEN, BodyPlan, Session
from scenarios.catalog import by_name
from scenarios.faults import RaiseIn


class Died(Exception):
    """Stands in for the worker's SIGKILL in these tests."""


def _die() -> None:
    raise Died


def _runtime(tmp_path: Path, faults: tuple = (), gated: bool = False,
             plan: BodyPlan | None = None) -> BodyRuntime:
    scenario = by_name("c2_checkpointed_effect_not_repeated")
    scenario = type(scenario)(scenario.name, scenario.workflows, scenario.calculations,
                              scenario.launches, faults)
    session = Session(tmp_path, scenario, gated=gated).write()
    if plan is not None:
        session.write_plan(plan)
    return BodyRuntime(session, die=_die)


def _run(runtime: BodyRuntime, key: str, target: str = "Steps.s2") -> object:
    return runtime.run(key=key, target=target, process="1", step="s2", engine_attempt=1,
                       compute=lambda: "done")


def test_attempts_count_begins_of_one_target_across_keys_and_launches(tmp_path: Path) -> None:
    runtime = _runtime(tmp_path)
    _run(runtime, "A/s2")
    _run(runtime, "A/s1", target="Steps.s1")
    _run(runtime, "B/s2")
    entries = read_records(runtime.session.journal_path)
    assert [(e["key"], e["attempt"]) for e in entries] == [("A/s2", 1), ("A/s1", 1),
                                                          ("B/s2", 2)]


def test_a_planned_exception_raises_after_the_effect_is_journalled(tmp_path: Path) -> None:
    runtime = _runtime(tmp_path, faults=(RaiseIn("Steps.s2", 1),))
    with pytest.raises(InjectedFault, match="attempt 1"):
        _run(runtime, "A/s2")
    assert _run(runtime, "B/s2") == "done"
    entries = read_records(runtime.session.journal_path)
    assert [e["raised"] for e in entries] == [True, False]
    faults = read_records(runtime.session.faults_path)
    assert [(f["fault"], f["attempt"]) for f in faults] == [("raise_in", 1)]


def test_a_kill_before_the_effect_leaves_no_entry_and_consumes_the_attempt(
        tmp_path: Path) -> None:
    plan = BodyPlan(body_kills=(("before_effect", "Steps.s2", 1),))
    runtime = _runtime(tmp_path, plan=plan)
    with pytest.raises(Died):
        _run(runtime, "A/s2")
    assert read_records(runtime.session.journal_path) == []
    _run(runtime, "A/s2")
    (entry,) = read_records(runtime.session.journal_path)
    assert entry["attempt"] == 2
    (fault,) = read_records(runtime.session.faults_path)
    assert fault["crashpoint"] == "before_effect" and fault["key"] == "A/s2"


def test_a_kill_after_the_effect_keeps_the_entry(tmp_path: Path) -> None:
    plan = BodyPlan(body_kills=(("after_effect_before_checkpoint", "Steps.s2", 1),))
    runtime = _runtime(tmp_path, plan=plan)
    with pytest.raises(Died):
        _run(runtime, "A/s2")
    assert len(read_records(runtime.session.journal_path)) == 1


def test_with_kill_places_body_crashpoints_in_the_body_and_the_rest_with_the_adapter(
        ) -> None:
    plan = BodyPlan().with_kill(("before_effect", "Steps.s2", 1)) \
        .with_kill(("while_waiting", "Steps.s1", 2)) \
        .with_kill(("after_effect_before_checkpoint", "calc:add", 1)) \
        .with_kill(("refuse_commit", "Steps.s3", 1))
    assert plan.body_kills == (("before_effect", "Steps.s2", 1),
                               ("after_effect_before_checkpoint", "calc:add", 1))
    assert plan.engine_kills == (("while_waiting", "Steps.s1", 2), ("refuse_commit", "Steps.s3", 1))
    assert plan.active and not BodyPlan(active=False).with_kill(plan.body_kills[0]).active
    assert BodyPlan.from_json(plan.to_json()) == plan


def test_a_healed_plan_injects_no_kills(tmp_path: Path) -> None:
    plan = BodyPlan(body_kills=(("before_effect", "Steps.s2", 1),), active=False)
    runtime = _runtime(tmp_path, plan=plan)
    assert _run(runtime, "A/s2") == "done"


def test_the_begin_hook_sees_the_target_and_attempt(tmp_path: Path) -> None:
    runtime = _runtime(tmp_path)
    seen: list[tuple[str, int]] = []
    for key in ("A/s2", "B/s2"):
        runtime.run(key=key, target="Steps.s2", process="1", step="s2", engine_attempt=1,
                    compute=lambda: None, on_begin=lambda t, n, plan: seen.append((t, n)))
    assert seen == [("Steps.s2", 1), ("Steps.s2", 2)]


def test_a_gated_body_waits_until_the_nemesis_handled_its_entry(tmp_path: Path) -> None:
    runtime = _runtime(tmp_path, gated=True)
    done = threading.Event()

    def body() -> None:
        _run(runtime, "A/s2")
        done.set()

    thread = threading.Thread(target=body)
    thread.start()
    time.sleep(0.2)
    assert not done.is_set(), "the body must hold after writing its entry"
    assert len(read_records(runtime.session.journal_path)) == 1
    runtime.session.set_gate(1)
    assert done.wait(5)
    thread.join()
    runtime.session.set_gate(GATE_OPEN)


def test_the_runtime_is_found_through_the_environment(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    session = _runtime(tmp_path).session
    monkeypatch.setenv(ENV_VAR, str(session.path))
    assert BodyRuntime.current().session.scenario == session.scenario
    assert BodyRuntime.current() is BodyRuntime.current()
    monkeypatch.delenv(ENV_VAR)
    with pytest.raises(RuntimeError, match=ENV_VAR):
        BodyRuntime.current()


def test_an_emulated_engine_kill_fires_once_and_is_logged_like_a_body_kill(
        tmp_path: Path) -> None:
    runtime = _runtime(tmp_path)
    other = BodyRuntime(runtime.session, die=_die)  # a second worker of the same scenario
    with pytest.raises(Died):
        runtime.land_engine_kill("while_waiting", "Steps.s2", 1, key="A/s2", process="7")
    # the re-walked workflow reaches the same place in another worker: it lives
    assert other.land_engine_kill("while_waiting", "Steps.s2", 1) is False
    with pytest.raises(Died):  # another attempt, or another target, is another kill
        other.land_engine_kill("while_waiting", "Steps.s2", 2)
    faults = read_records(runtime.session.faults_path)
    assert [(f["fault"], f["crashpoint"], f["target"], f["attempt"], f["status"])
            for f in faults] == [("kill_at_crashpoint", "while_waiting", "Steps.s2", 1, "fired"),
                                 ("kill_at_crashpoint", "while_waiting", "Steps.s2", 2, "fired")]
    assert faults[0]["key"] == "A/s2" and faults[0]["process"] == "7"
