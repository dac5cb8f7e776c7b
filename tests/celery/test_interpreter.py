"""The Celery adapter's outline walk and id scheme: pure code, no Celery needed."""

from __future__ import annotations

from harness.adapters.celery.interpreter import (
    collect_task_id,
    end_task_id,
    ids_of_launch,
    next_action,
    process_id,
    step_task_id,
)
from scenarios import by_name, effect_keys


def _run_to_end(scenario, workflow, label, inputs, outputs_of):
    """Drive next_action as the tasks do, answering each step with ``outputs_of``."""
    done, keys = {}, []
    while True:
        action = next_action(scenario, workflow, label, inputs, done)
        if action.key is None:
            return keys, action.outputs
        keys.append(action.key)
        done[action.key] = outputs_of(action)


def test_steps_run_in_outline_order_and_outputs_resolve_from_done() -> None:
    scenario = by_name("c2_checkpointed_effect_not_repeated")
    keys, outputs = _run_to_end(scenario, "Steps", "A", {"x": 7},
                                lambda a: {"value": a.env.get("s1", {}).get("value", 7)})
    assert keys == ["A/s1", "A/s2", "A/s3"]
    assert outputs == {"out": 7}


def test_a_loop_runs_as_often_as_its_condition_says_and_the_if_takes_its_branch() -> None:
    scenario = by_name("p1_nested_links_consistent")
    keys, outputs = _run_to_end(scenario, "Inner", "A/inner", {"n": 2},
                                lambda a: {"0.sum": 1} if a.key.endswith("tick")
                                else {"value": True})
    assert keys == ["A/inner/repeat#0/tick", "A/inner/repeat#1/tick", "A/inner/yes"]
    assert outputs == {"iterations": 2, "branch": "then"}


def test_the_same_done_map_always_gives_the_same_next_step() -> None:
    scenario = by_name("p1_nested_links_consistent")
    done = {"A/inner/repeat#0/tick": {"0.sum": 1}}
    first = next_action(scenario, "Inner", "A/inner", {"n": 2}, done)
    again = next_action(scenario, "Inner", "A/inner", {"n": 2}, dict(done))
    assert first.key == again.key == "A/inner/repeat#1/tick"


def test_process_and_task_ids_are_frozen_from_the_path() -> None:
    assert process_id("r1", "A", "A/inner/repeat#0/tick/0:add") == "r1/inner/repeat#0/tick/0:add"
    assert step_task_id("r1/inner", "A/inner", "A/inner/repeat#1/tick") == "r1/inner|repeat#1/tick"
    assert collect_task_id("r1", "A", "A/fan") == "r1|fan|collect"
    assert end_task_id("r1") == "r1|$end"


def test_a_launch_lists_every_task_id_it_could_send_so_a_kill_can_revoke_them() -> None:
    scenario = by_name("p1_kill_propagates_to_children")
    ids = set(ids_of_launch(scenario, "A", "r1"))
    for key in effect_keys(scenario, "A"):
        if ":" in key.rpartition("/")[2]:
            assert process_id("r1", "A", key) in ids
    assert {"r1|start", "r1|inner", "r1|inner|collect", "r1|finish", "r1|$end",
            "r1/inner|repeat#2/tick", "r1/inner|repeat#2/tick|collect", "r1/inner|yes",
            "r1/inner|no", "r1/inner|$end"} <= ids
