"""Values compare, hash, digest and encode with their types, not Python's loose equality."""

from __future__ import annotations

import json
import math
import pickle
import unicodedata

import pytest
from hypothesis import given

from scenarios import (
    FrozenMap,
    InvalidScenarioError,
    canonical,
    decode_value,
    digest,
    encode_value,
    normalise,
    values_equal,
)
from scenarios.strategies import values
from scenarios.values import check_value

NFC = unicodedata.normalize("NFC", "caf\u00e9")
NFD = unicodedata.normalize("NFD", "caf\u00e9")
DISTINCT = [1, 1.0, True, "1", 0.0, -0.0, 0, False, None, "", [], {}, [[]], math.nan,
            math.inf, 2**70, 2**70 + 1, NFC, NFD, {"a": 1}, {"a": 1.0}, [1, 2], [2, 1]]


def round_trip(value):
    return decode_value(json.loads(json.dumps(encode_value(value), allow_nan=False)))


def test_one_float_true_and_string_one_are_four_different_values():
    keys = {canonical(v) for v in (1, 1.0, True, "1")}
    assert len(keys) == 4
    assert len({digest(v) for v in (1, 1.0, True, "1")}) == 4


def test_every_listed_tricky_value_has_its_own_canonical_text():
    assert len({canonical(v) for v in DISTINCT}) == len(DISTINCT)


def test_nan_equals_nan_and_signed_zeros_differ():
    assert values_equal(math.nan, float("nan"))
    assert not values_equal(0.0, -0.0)


def test_dict_order_does_not_change_equality_or_digest():
    a, b = {"x": 1, "y": [1, {"p": 2, "q": 3}]}, {"y": [1, {"q": 3, "p": 2}], "x": 1}
    assert values_equal(a, b)
    assert digest(a) == digest(b)


def test_digest_is_pinned_so_it_stays_stable_across_versions():
    # Changing the canonical text breaks hash stability (K5) for stored digests: don't.
    value = {"x": [1, 1.0, True, "1", None]}
    assert canonical(value) == "d1{1:xl5[i1;f0x1.0000000000000p+0;Ts1:1n]}"
    assert digest(value) == "9b764cc5ff78eaf99aa5557967e0e517aa0ad8a2c186de397b73ebf3fef11f86"
    assert len({digest(""), digest([]), digest({})}) == 3


@pytest.mark.parametrize("value", DISTINCT, ids=repr)
def test_json_encoding_round_trips_each_tricky_value_exactly(value):
    assert canonical(round_trip(value)) == canonical(value)


def test_json_encoding_keeps_dict_order():
    assert list(round_trip({"b": 1, "a": 2})) == ["b", "a"]


def test_dicts_with_dollar_keys_are_escaped_and_not_mistaken_for_tags():
    tricky = {"$float": "nan"}
    encoded = encode_value(tricky)
    assert encoded == {"$dict": {"$float": "nan"}}
    assert round_trip(tricky) == tricky


def test_big_ints_are_tagged_so_no_json_reader_rounds_them():
    assert encode_value(2**70) == {"$int": str(2**70)}
    assert encode_value(2**53 - 1) == 2**53 - 1


def test_unknown_tags_are_rejected_with_the_fix():
    with pytest.raises(InvalidScenarioError, match=r"\$dict"):
        decode_value({"$weird": 1}, "launches[0].inputs.x")


def test_malformed_big_int_tag_is_rejected():
    with pytest.raises(InvalidScenarioError, match="decimal digits"):
        decode_value({"$int": "12a"})


@given(values())
def test_any_generated_value_round_trips_through_json_exactly(value):
    back = round_trip(value)
    assert canonical(back) == canonical(value)
    assert json.dumps(encode_value(back)) == json.dumps(encode_value(value))


def test_objects_are_not_values_and_the_error_names_the_field():
    with pytest.raises(InvalidScenarioError) as caught:
        check_value({"a": (1, object())}, "Launch.inputs")
    assert caught.value.field == "Launch.inputs['a'][1]"
    assert "convert other objects" in str(caught.value)


def test_unhashable_dict_keys_are_rejected():
    with pytest.raises(InvalidScenarioError, match="hashable value") as caught:
        check_value({1j: "a"}, "v")
    assert caught.value.field == "v key"


def test_float_round_14_normalisation_merges_neighbouring_floats_only():
    close = 0.1 + 2**-56
    assert canonical(normalise(0.1, frozenset({"float_round_14"}))) == canonical(
        normalise(close, frozenset({"float_round_14"})))
    assert canonical(normalise(0.1, frozenset())) != canonical(normalise(close, frozenset()))
    assert canonical(normalise(1, frozenset({"float_round_14"}))) != canonical(1.0)


def test_signed_zero_normalisation_merges_zeros_inside_containers():
    norm = frozenset({"float_signed_zero"})
    assert canonical(normalise({"a": [-0.0]}, norm)) == canonical({"a": [0.0]})


def test_frozen_map_compares_typed_and_ignores_order_but_keeps_it():
    assert FrozenMap({"a": 1, "b": 2}) == FrozenMap({"b": 2, "a": 1})
    assert FrozenMap({"a": 1}) != FrozenMap({"a": True})
    assert list(FrozenMap({"b": 2, "a": 1})) == ["b", "a"]
    assert hash(FrozenMap({"a": [1]})) == hash(FrozenMap({"a": [1]}))


def test_frozen_map_survives_pickling():
    original = FrozenMap({"a": [1, math.nan]})
    assert pickle.loads(pickle.dumps(original)) == original


def test_errors_pickle_with_their_fields():
    error = InvalidScenarioError("f", 1, "an int", "fix it")
    back = pickle.loads(pickle.dumps(error))
    assert (back.field, back.value, back.expected, back.fix) == ("f", 1, "an int", "fix it")
    assert str(back) == str(error)
