"""One effect-key convention names every effect; `effect_keys` enumerates them statically."""

from __future__ import annotations

import pytest

from scenarios import (
    InvalidScenarioError,
    by_name,
    calc_key,
    effect_keys,
    effect_sites,
    effect_target,
    is_calc_key,
    loop_prefix,
    step_key,
)


def test_key_builders_follow_the_documented_convention():
    assert step_key("A", "add_xy") == "A/add_xy"
    assert calc_key("A", "add_xy", 0, "add") == "A/add_xy/0:add"
    assert loop_prefix("A/sub", "loop", 1) == "A/sub/loop#1"
    assert calc_key(loop_prefix("A/sub", "loop", 1), "fit", 0, "add") == "A/sub/loop#1/fit/0:add"


def test_calculation_keys_are_recognised_by_their_last_segment():
    assert is_calc_key("A/add_xy/0:add")
    assert not is_calc_key("A/add_xy")
    assert not is_calc_key("A/loop#0/step")


def test_add_three_numbers_has_the_keys_of_its_steps_and_calls_for_each_launch():
    keys = effect_keys(by_name("add_three_numbers_relaunch_uncached"))
    assert keys == ("A/add_xy", "A/add_xy/0:add", "A/add_xyz", "A/add_xyz/0:add", "A/result",
                    "B/add_xy", "B/add_xy/0:add", "B/add_xyz", "B/add_xyz/0:add", "B/result")


def test_sub_workflows_nest_and_loops_list_every_possible_iteration():
    keys = effect_keys(by_name("p1_nested_links_consistent"), "A")
    assert "A/inner/repeat#2/tick/0:add" in keys  # max_iterations = 3
    assert "A/inner/repeat#3/tick" not in keys
    assert {"A/inner/yes", "A/inner/no"} <= set(keys)  # both branches are possible
    assert not any(k.endswith("/repeat") or k.endswith("/check") for k in keys)


def test_each_key_maps_to_the_fault_target_journals_count_attempts_under():
    scenario = by_name("p1_nested_links_consistent")
    assert effect_target(scenario, "A/inner/repeat#1/tick") == "Inner.tick"
    assert effect_target(scenario, "A/inner/repeat#1/tick/0:add") == "calc:add"
    assert effect_target(scenario, "A/start") == "Nested.start"
    kinds = {site.kind for site in effect_sites(scenario)}
    assert kinds == {"step", "calc"}


def test_an_unknown_key_is_rejected_with_the_fix():
    with pytest.raises(InvalidScenarioError, match="effect_keys"):
        effect_target(by_name("p1_nested_links_consistent"), "A/nope")
    with pytest.raises(InvalidScenarioError, match="launch label"):
        effect_target(by_name("p1_nested_links_consistent"), "Z/start")
