from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from reference_engine.core.hashing import calculation_hash, canonical_bytes


def h(value: object, type_string: str = "m:add", version: int = 1) -> str:
    return calculation_hash(type_string, version, {"v": value})


def test_typed_leaves_hash_differently() -> None:
    values = [1, 1.0, True, "1", None, [1], {"1": 1}]
    assert len({h(v) for v in values}) == len(values)


def test_negative_zero_nan_and_big_ints_are_distinct_and_stable() -> None:
    assert h(-0.0) != h(0.0)
    assert h(math.nan) == h(float("nan"))
    assert h(2**70) != h(2**70 + 1)
    assert h(2**70) != h(float(2**70))


def test_unicode_normalisation_forms_differ() -> None:
    assert h("\u00e9") != h("e\u0301")


def test_dict_order_does_not_matter_but_nested_changes_do() -> None:
    a = {"a": 1, "b": {"c": [1, 2], "d": 2}}
    b = {"b": {"d": 2, "c": [1, 2]}, "a": 1}
    assert h(a) == h(b)
    assert h(a) != h({"a": 1, "b": {"c": [1, 2], "d": 2.0}})
    assert h(a) != h({"a": 1, "b": {"c": [2, 1], "d": 2}})


def test_type_identity_and_version_are_part_of_the_hash() -> None:
    assert h(1, "m:add") != h(1, "m:mul")
    assert h(1, version=1) != h(1, version=2)


def test_empty_containers_differ() -> None:
    assert len({h([]), h({}), h(""), h(None)}) == 4


def test_encoding_is_unambiguous_for_strings_that_look_like_encodings() -> None:
    assert canonical_bytes(["ab", "c"]) != canonical_bytes(["a", "bc"])
    assert canonical_bytes("i1;") != canonical_bytes(1)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=3), children, max_size=3),
    max_leaves=10,
)


@given(st.dictionaries(st.text(max_size=4), json_values, max_size=5))
def test_hash_is_independent_of_dict_insertion_order(inputs: dict[str, object]) -> None:
    reversed_inputs = dict(reversed(list(inputs.items())))
    assert calculation_hash("m:f", 1, inputs) == calculation_hash("m:f", 1, reversed_inputs)
