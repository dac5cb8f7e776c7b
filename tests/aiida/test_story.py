"""CI smoke test: the AddThreeNumbers story on real aiida-core, through the adapter.

The three catalog parts of the story run as the conformance suite runs them (fresh
daemon workers per scenario, the harness's journal and nemesis): an excepted launch
and its relaunch without caching (add_xy runs again), the same with caching (add_xy of
the relaunch is a cache hit from the excepted launch's child), and a worker killed
while the workflow waits for add_xyz (the same process continues). About a minute.
"""

from __future__ import annotations

from typing import Any

import pytest

from scenarios.catalog import by_name
from tests.aiida.conftest import needs_aiida

pytestmark = [needs_aiida, pytest.mark.services, pytest.mark.slow]

STORY = ("add_three_numbers_relaunch_uncached", "add_three_numbers_relaunch_cached",
         "c1_kill_while_waiting_keeps_id")


@pytest.fixture(scope="module")
def story(aiida_profile: Any) -> Any:
    from harness.adapters import load_adapter
    from harness.conformance import run_conformance

    return run_conformance(load_adapter("aiida", "sqlite"), [by_name(n) for n in STORY])


def _run(result: Any, name: str) -> Any:
    return next(run for run in result.runs if run.scenario.name == name)


def _keys(run: Any) -> list[str]:
    return [line["key"] for line in run.history.of("effect")]


def test_no_promised_clause_fails_on_the_add_three_numbers_story(story: Any) -> None:
    failures = [f"{row.clause}: {row.reason}" for row in story.rows if row.is_failure]
    assert not failures, failures
    assert [run.status for run in story.runs] == ["ran"] * len(STORY)


def test_excepted_launch_relaunched_without_caching_runs_add_xy_again(story: Any) -> None:
    run = _run(story, "add_three_numbers_relaunch_uncached")
    keys = _keys(run)
    assert keys.count("A/add_xy/0:add") == 1 and keys.count("B/add_xy/0:add") == 1
    observation = run.history.observation()
    (first,), (second,) = observation.at_path("A"), observation.at_path("B")
    # what to look at when B excepted (seen once in CI at load 10: AiiDA's SQLite storage
    # under load is the suspect, not shown): the bodies that ran and every op the plan made
    assert first.state == "excepted" and second.state == "finished", (
        keys, [line.text for line in run.history.of("op")], second)
    assert second.outputs == {"sum": 6} and second.restart_of == first.id != second.id


def test_relaunch_with_caching_takes_add_xy_from_the_excepted_launchs_child(story: Any) -> None:
    run = _run(story, "add_three_numbers_relaunch_cached")
    assert "B/add_xy/0:add" not in _keys(run)
    assert "B/add_xy" in _keys(run)  # the workflow step itself still runs
    observation = run.history.observation()
    (source,), (hit,) = observation.at_path("A/add_xy/0:add"), observation.at_path(
        "B/add_xy/0:add")
    assert hit.cached_from == source.id and hit.outputs == source.outputs == {"sum": 3}


def test_worker_killed_while_waiting_continues_the_same_process(story: Any) -> None:
    run = _run(story, "c1_kill_while_waiting_keeps_id")
    fired = [line for line in run.history.of("fault") if line.get("status") == "fired"]
    assert [line["crashpoint"] for line in fired] == ["while_waiting"]
    keys = _keys(run)
    assert keys.count("A/add_xy") == 1 and keys.count("A/add_xy/0:add") == 1
    (process,) = run.history.observation().at_path("A")
    assert process.state == "finished" and process.outputs == {"sum": 6}
