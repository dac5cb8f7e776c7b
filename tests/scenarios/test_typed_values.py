"""The typed value model: every kind round-trips exactly, compares typed, and near pairs
reach every kind at any depth; format 1 files still load."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
from decimal import Decimal

import pytest

from scenarios import CATALOG, Capabilities, Launch, Scenario, by_name, expect
from scenarios._near_pairs import PAIR_EXAMPLES, PAIR_KINDS, near
from scenarios._values_pool import RICH_VALUES, TYPED_VALUES
from scenarios.errors import InvalidScenarioError
from scenarios.generate import RandomChooser, generate
from scenarios.values import (
    JSON_KINDS,
    VALUE_KINDS,
    NumArray,
    canonical,
    check_value,
    decode_value,
    encode_value,
    first_difference,
    kinds_of,
    normalise,
)

UTC = dt.UTC


def round_trip(value: object) -> object:
    return decode_value(json.loads(json.dumps(encode_value(value))))


@pytest.mark.parametrize("value", [*TYPED_VALUES, *RICH_VALUES], ids=repr)
def test_every_typed_value_round_trips_through_json_exactly(value: object) -> None:
    check_value(value, "v")
    back = round_trip(value)
    assert canonical(back) == canonical(value)
    assert type(back) is type(value)


def test_near_values_differ_only_by_type_or_form_and_canonical_tells_them_apart() -> None:
    for kind, (left, right) in PAIR_EXAMPLES.items():
        same = canonical(left) == canonical(right)
        assert same is (kind == "set_order"), kind
        assert (first_difference(left, right) is None) is same, kind


def test_set_and_dict_order_do_not_matter_but_types_do() -> None:
    assert canonical({1: "a", "b": 2}) == canonical({"b": 2, 1: "a"})
    assert canonical({3, 1, 2}) == canonical({2, 3, 1})
    assert canonical({1, 2}) != canonical(frozenset({1, 2}))
    assert canonical({1: 0}) != canonical({True: 0}) != canonical({1.0: 0})
    assert canonical(Decimal("1.0")) != canonical(Decimal("1.00"))
    assert canonical(dt.datetime(2026, 1, 1, tzinfo=UTC)) != canonical(
        dt.datetime(2026, 1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=1))))
    assert canonical(NumArray("int64", (2,), (1, 2))) != canonical(
        NumArray("float64", (2,), (1.0, 2.0)))


def test_a_set_keeps_its_iteration_order_through_json() -> None:
    left, right = PAIR_EXAMPLES["set_order"]
    assert list(left) != list(right)
    assert list(round_trip(right)) == list(right)  # type: ignore[arg-type]


def test_first_difference_names_the_path_and_the_exact_pair() -> None:
    assert first_difference({"x": [1, (1, 2)]}, {"x": [1, [1, 2]]}) == "['x'][1]: (1, 2) vs [1, 2]"
    assert "keys [1 (int)] vs ['1' (str)]" in str(first_difference({1: 0}, {"1": 0}))


def test_deep_values_are_accepted_to_depth_100_and_refused_beyond() -> None:
    value: object = 1
    for _ in range(100):
        value = [value]
    check_value(value, "v")
    with pytest.raises(InvalidScenarioError, match="nesting at most 100 deep"):
        check_value([value], "v")


def test_bad_typed_values_are_refused_with_the_field_and_the_fix() -> None:
    zone = dt.timezone(dt.timedelta(hours=2))
    check_value(dt.datetime(2026, 1, 1, tzinfo=zone), "v")
    with pytest.raises(InvalidScenarioError, match=r"NumArray\.items"):
        NumArray("int64", (3,), (1, 2))
    with pytest.raises(InvalidScenarioError, match="a JSON list") as caught:
        decode_value({"$tuple": 5}, "v")
    assert caught.value.field == "v.$tuple"
    with pytest.raises(InvalidScenarioError, match="decimal"):
        decode_value({"$decimal": "one"}, "v")


def test_normalise_reaches_floats_inside_every_container() -> None:
    value = ({0.1 + 2**-56}, [(-0.0,)], NumArray("float64", (1,), (0.1 + 2**-56,)))
    seen = normalise(value, frozenset({"float_round_14", "float_signed_zero"}))
    assert canonical(seen) == canonical(({0.1}, [(0.0,)], NumArray("float64", (1,), (0.1,))))


def test_near_reaches_every_kind_of_change_keys_included() -> None:
    chooser = RandomChooser(7)
    seen = set()
    for value in RICH_VALUES:
        for _ in range(400):
            other = near(value, chooser)
            check_value(other, "near")
            diff = first_difference(value, other)
            seen.add("equal" if diff is None else "key" if "keys" in diff else "changed")
    assert seen == {"equal", "key", "changed"}
    assert "key" in PAIR_KINDS and "deeper" in PAIR_KINDS


def test_near_changes_the_innermost_level_of_a_deep_value() -> None:
    deep = RICH_VALUES[0]["deep"]  # type: ignore[index]
    chooser = RandomChooser(3)
    depths = {first_difference(deep, near(deep, chooser)).count("[")  # type: ignore[union-attr]
              for _ in range(300)}
    assert max(depths) >= 40


def test_generated_scenarios_hold_typed_near_pairs_and_survive_json() -> None:
    kinds: set[str] = set()
    for seed in range(60):
        scenario = generate(seed)
        assert Scenario.from_json(scenario.to_json()) == scenario
        for op in scenario.launches:
            if isinstance(op, Launch):
                for value in op.inputs.values():
                    kinds |= kinds_of(value)
    assert {"tuple", "set", "bytes", "decimal", "keyed_dict"} <= kinds


def test_a_format_1_file_still_loads_and_may_not_hold_format_2_tags() -> None:
    data = CATALOG[0].to_dict()
    data["format"] = 1
    assert Scenario.from_dict(data) == CATALOG[0]
    typed = by_name("k4_typed_near_pairs").to_dict()
    typed["format"] = 1
    with pytest.raises(InvalidScenarioError, match="known tag"):
        Scenario.from_dict(typed)


def test_a_value_the_engine_cannot_take_makes_the_scenario_not_applicable() -> None:
    scenario = by_name("k4_typed_near_pairs")
    json_only = dataclasses.replace(Capabilities.everything(), value_kinds=JSON_KINDS)
    reasons = expect(scenario, json_only).not_applicable
    assert any("tuple" in r and "launch A_tuple_list" in r for r in reasons), reasons
    assert expect(scenario, Capabilities.everything()).not_applicable == ()
    with pytest.raises(InvalidScenarioError, match="value_kinds"):
        dataclasses.replace(Capabilities.everything(), value_kinds=frozenset({"complex"}))
    assert set(VALUE_KINDS) >= JSON_KINDS


def test_generation_restricted_to_json_kinds_draws_only_json_values() -> None:
    caps = dataclasses.replace(Capabilities.everything(), value_kinds=JSON_KINDS)
    for seed in range(40):
        scenario = generate(seed, capabilities=caps)
        assert expect(scenario, caps).not_applicable == (), seed


def test_nan_and_signed_zero_keep_their_tags() -> None:
    assert encode_value((math.nan, -0.0)) == {"$tuple": [{"$float": "nan"}, {"$float": "-0.0"}]}


def test_the_pool_offers_every_kind_of_near_pair_and_array_pairs_differ() -> None:
    from scenarios._near_pairs import _table

    offered = {label for value in (*RICH_VALUES, *TYPED_VALUES) for label in _table(value)[0]}
    assert offered == set(PAIR_KINDS)
    rich = set().union(*(_table(value)[0] for value in RICH_VALUES))
    assert rich == set(PAIR_KINDS)  # a series started from a rich value can be any kind
    array = NumArray("int64", (2, 2), (1, 2, 3, 4))
    chooser = RandomChooser(5)
    others = {canonical(near(array, chooser)) for _ in range(200)}
    assert canonical(array) not in others
    assert {canonical(NumArray("int64", (4,), (1, 2, 3, 4))),
            canonical(NumArray("float64", (2, 2), (1.0, 2.0, 3.0, 4.0))),
            canonical(NumArray("int64", (2, 2), (1, 2, 3, 5)))} <= others


def test_near_on_a_pooled_value_equals_near_on_a_copy_and_leaves_the_pool_alone() -> None:
    before = canonical(RICH_VALUES[0])
    pooled = [near(RICH_VALUES[0], RandomChooser(s), pooled=True) for s in range(50)]
    copied = [near(round_trip(RICH_VALUES[0]), RandomChooser(s)) for s in range(50)]
    assert [canonical(v) for v in pooled] == [canonical(v) for v in copied]
    assert canonical(RICH_VALUES[0]) == before
