"""The reference adapter on the embedded tier: names, caching rules, faults it lacks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.adapters.reference import ReferenceAdapter
from harness.adapters.reference_workflows import ScenarioCalculation, register
from harness.errors import Unsupported
from harness.journal import read_records
from harness.runner import RunOptions, run_scenario
from harness.session import Session
from reference_engine.loader import resolve
from scenarios.catalog import by_name
from scenarios.oracle import expect

pytestmark = pytest.mark.embedded


@pytest.fixture
def nested(tmp_path: Path) -> Iterator[tuple[ReferenceAdapter, Session]]:
    session = Session(tmp_path, by_name("p1_nested_links_consistent")).write()
    adapter = ReferenceAdapter()
    adapter.open(session)
    try:
        yield adapter, session
    finally:
        adapter.close()


def test_processes_are_named_by_their_scenario_paths(
        nested: tuple[ReferenceAdapter, Session]) -> None:
    adapter, session = nested
    handle = adapter.launch("A", "Nested", {"n": 2})
    assert adapter.wait(handle, 30) == "finished"
    views = {view.path: view for view in adapter.observe().processes}
    assert set(views) == {"A", "A/inner", "A/inner/repeat#0/tick/0:add",
                          "A/inner/repeat#1/tick/0:add"}
    assert views["A"].outputs == {"iterations": 2, "branch": "then"}
    assert (views["A/inner"].name, views["A/inner"].parent) == ("Inner", handle.id)
    assert views["A/inner/repeat#1/tick/0:add"].outputs == {"sum": 3}
    expected = expect(session.scenario, adapter.capabilities()).effects
    journalled = [entry["key"] for entry in read_records(session.journal_path)]
    assert sorted(journalled) == sorted(expected)


def test_caching_patterns_resolve_the_most_specific_pattern_per_type(
        nested: tuple[ReferenceAdapter, Session]) -> None:
    adapter, _ = nested
    adapter.set_caching(False, enabled=("add",), disabled=("*",))
    assert adapter.engine is not None and adapter.types is not None
    config = adapter.engine.caching()
    assert config.enabled == (adapter.types.calculations["add"],)
    assert config.disabled == ()


def test_broker_and_database_faults_are_unsupported_on_the_embedded_tier() -> None:
    adapter = ReferenceAdapter("embedded")
    assert not adapter.supports("restart_broker")
    assert adapter.supports("kill_at_crashpoint")
    with pytest.raises(Unsupported, match="cannot restart broker: the embedded tier has no"):
        adapter.restart_broker(hard=True)
    with pytest.raises(Unsupported, match="restart database"):
        adapter.restart_database()


def test_each_calculation_name_is_its_own_engine_type() -> None:
    types = register(by_name("k8_types_never_hit_each_other"))
    add, plus = types.calculations["add"], types.calculations["plus"]
    assert add != plus
    first, second = resolve(add), resolve(plus)
    assert isinstance(first, ScenarioCalculation) and isinstance(second, ScenarioCalculation)
    assert first is not second
    assert first.definition.function == second.definition.function == "add"


def test_a_kill_after_the_checkpoint_on_a_later_attempt_lands_exactly_once(
        tmp_path: Path) -> None:
    run = run_scenario(ReferenceAdapter, by_name("l2_one_launch_one_process"),
                       RunOptions(workdir_root=str(tmp_path)))
    assert run.history is not None
    crashes = [e["state"] for e in run.history.of("event") if e["state"].startswith("crash:")]
    assert crashes == ["crash:after_checkpoint_before_ack:A@Steps.s_s1"]
    body_kills = [f for f in run.history.of("fault") if f.get("source") == "body"]
    assert [(f["crashpoint"], f["attempt"]) for f in body_kills] == [("after_claim", 1)]
    assert not run.failed()
