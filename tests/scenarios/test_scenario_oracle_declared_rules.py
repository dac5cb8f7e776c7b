"""The oracle predicts caching under the rules an engine declares (issue 18, point 7):
when the caching configuration applies, and what an invalidation reaches."""

from __future__ import annotations

from dataclasses import replace

import pytest

from scenarios import Capabilities, InvalidScenarioError, Launch
from scenarios.catalog import by_name
from scenarios.oracle import expect

CAPS = Capabilities.everything()
AT_LAUNCH = replace(CAPS, caching_config_applies="at_launch")
PER_RESULT = replace(CAPS, invalidation_scope="per_stored_result")


def test_the_defaults_are_the_reference_engines_rules() -> None:
    assert (CAPS.caching_config_applies, CAPS.invalidation_scope) == ("at_lookup", "per_node")


def test_at_lookup_a_node_run_with_caching_off_is_a_source_and_the_reason_says_why() -> None:
    cache = expect(by_name("k7_configuration_applies_as_declared"), CAPS).cache
    hit = cache["B/add_xy/0:add"]
    assert hit.hit is True and hit.sources == ("A/add_xy/0:add",)
    assert hit.rules == ("caching_config_applies=at_lookup",)
    assert "by the declared rule caching_config_applies=at_lookup, A/add_xy/0:add ran while " \
        "caching was off for its type and is a source all the same" in hit.reason


def test_at_launch_a_node_run_with_caching_off_is_no_source_and_k7_is_exercised() -> None:
    expectation = expect(by_name("k7_configuration_applies_as_declared"), AT_LAUNCH)
    miss = expectation.cache["B/add_xyz/0:add"]
    assert miss.hit is False and miss.caching_enabled
    assert miss.rules == ("caching_config_applies=at_launch",)
    assert miss.reason == ("no valid source: A/add_xyz/0:add ran while caching was off for "
                           "add (by the declared rule caching_config_applies=at_launch, it "
                           "kept no result)")
    assert "K7" in expectation.exercises
    assert expectation.effects["B/add_xyz/0:add"].min == 1


def test_per_node_invalidation_leaves_a_hit_of_the_invalidated_node_a_source() -> None:
    cache = expect(by_name("k3_invalidation_reaches_as_declared"), CAPS).cache
    assert cache["C/add_xy/0:add"].hit is True
    assert cache["C/add_xy/0:add"].sources == ("B/add_xy/0:add",)
    assert cache["C/add_xy/0:add"].rules == ("invalidation_scope=per_node",)
    assert "invalidating A/add_xy/0:add left B/add_xy/0:add a source" in \
        cache["C/add_xy/0:add"].reason


def test_per_stored_result_invalidation_drops_every_node_of_the_key_and_only_those() -> None:
    expectation = expect(by_name("k3_invalidation_reaches_as_declared"), PER_RESULT)
    miss = expectation.cache["C/add_xy/0:add"]
    assert miss.hit is False and miss.rules == ("invalidation_scope=per_stored_result",)
    assert "B/add_xy/0:add shares its stored result with A/add_xy/0:add, which was " \
        "invalidated (by the declared rule invalidation_scope=per_stored_result" in miss.reason
    other_key = expectation.cache["C/add_xyz/0:add"]
    assert other_key.hit is True and other_key.rules == ()
    assert "K3" in expectation.exercises


def test_a_later_execution_stores_the_dropped_result_again() -> None:
    """After C's add_xy executed (per stored result), a fourth launch hits C's node."""
    base = by_name("k3_invalidation_reaches_as_declared")
    scenario = replace(base, launches=(*base.launches,
                                       Launch("D", "AddThreeNumbers", {"x": 1, "y": 2, "z": 3})))
    scenario.validate()
    hit = expect(scenario, PER_RESULT).cache["D/add_xy/0:add"]
    assert hit.hit is True and hit.sources == ("C/add_xy/0:add",) and hit.rules == ()


@pytest.mark.parametrize("name", ["k3_invalidated_source_misses",
                                  "add_three_numbers_relaunch_cached",
                                  "k7_per_type_configuration", "k1_hit_executes_no_effect"])
def test_where_the_rules_do_not_matter_both_choices_predict_the_same(name: str) -> None:
    scenario = by_name(name)
    flipped = replace(CAPS, caching_config_applies="at_launch",
                      invalidation_scope="per_stored_result")
    assert expect(scenario, CAPS).cache == expect(scenario, flipped).cache
    assert all(not c.rules for c in expect(scenario, flipped).cache.values())


@pytest.mark.parametrize(("field", "value", "named"), [
    ("caching_config_applies", "at_commit", "at_lookup"),
    ("invalidation_scope", "per_type", "per_stored_result"),
])
def test_an_unknown_rule_is_refused_naming_the_known_ones(field: str, value: str,
                                                          named: str) -> None:
    with pytest.raises(InvalidScenarioError, match=f"Capabilities.{field}=.*{named}"):
        replace(CAPS, **{field: value})
