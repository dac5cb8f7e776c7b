"""The storage limits as pure logic (``reference_engine.core.limits``)."""

from __future__ import annotations

import pytest

from reference_engine import NotSerialisableError, StorageLimitError
from reference_engine.core import limits
from reference_engine.core.limits import (
    MAX_DEPTH,
    check_limits,
    check_name,
    check_stored,
    safe_text,
    set_leaf_check,
)
from tests.engine.poison import nested


def test_depth_up_to_the_limit_is_accepted_and_one_more_is_refused() -> None:
    assert MAX_DEPTH >= 128
    check_stored(nested(MAX_DEPTH), "v")
    with pytest.raises(StorageLimitError, match=f"nested deeper than {MAX_DEPTH} levels"):
        check_stored(nested(MAX_DEPTH + 1), "v")


def test_a_value_nested_far_beyond_the_recursion_limit_is_refused_in_one_line() -> None:
    with pytest.raises(StorageLimitError) as caught:
        check_stored({"a": nested(100_000)}, "inputs of t")
    message = str(caught.value)
    assert message.startswith("inputs of t['a'][0][0][0][...") and "\n" not in message
    assert len(message) < 300


def test_strings_and_keys_with_lone_surrogates_are_refused_with_their_path() -> None:
    with pytest.raises(StorageLimitError, match=r"v\['k'\]\[1\] is a string with a lone"):
        check_stored({"k": ["ok", "\udcff"]}, "v")
    with pytest.raises(StorageLimitError, match=r"v\['k'\] has a key that is a string"):
        check_stored({"k": {"\ud800": 1}}, "v")
    check_stored({"k": "ünïcödé \U0001f600"}, "v")


def test_huge_integers_and_huge_values_are_refused() -> None:
    with pytest.raises(StorageLimitError, match="more than 4000 digits"):
        check_stored([10 ** 5000], "v")
    with pytest.raises(StorageLimitError, match="over the 16777216 limit"):
        check_stored(["x" * (9 * 1024 * 1024), "y" * (9 * 1024 * 1024)], "v")


def test_types_are_still_checked_after_the_limits() -> None:
    with pytest.raises(NotSerialisableError):
        check_stored({"a": object()}, "v")


@pytest.mark.parametrize(("name", "problem"), [
    ("k" * 201, "201 characters long"), ("a\x00b", "NUL"), ("\ud800", "lone surrogate"),
    (3, "is a int"),
])
def test_names_are_limited_identically_on_every_tier(name: object, problem: str) -> None:
    with pytest.raises(StorageLimitError, match=problem):
        check_name(name, "label")
    check_name("k" * 200, "label")


def test_containers_are_walked_generically_and_the_leaf_rule_can_be_replaced() -> None:
    with pytest.raises(StorageLimitError, match=r"v\[0\]\[0\] is a string with a lone"):
        check_limits(({"\ud800"},), "v")  # a set in a tuple: walked like lists
    saved = limits.leaf_problem
    set_leaf_check(lambda leaf: "is a bytes value" if isinstance(leaf, bytes) else None)
    try:
        with pytest.raises(StorageLimitError, match=r"v\['b'\] is a bytes value"):
            check_limits({"b": b"x"}, "v")
    finally:
        set_leaf_check(saved)


def test_messages_are_made_writable_everywhere() -> None:
    assert safe_text("a\x00b\ud800c") == "a\\x00b\\ud800c"
    assert safe_text("plain") == "plain"


def test_the_quick_acceptance_never_accepts_what_the_checking_walks_refuse() -> None:
    """``check_stored`` first asks ``_fine_size`` whether a value is certainly fine; it
    must only say so when both checking walks accept it, with their size estimate."""
    import datetime as dt
    from decimal import Decimal

    from reference_engine.core.values import check_value

    class Text(str):
        pass

    deep: object = 1
    for _ in range(70):
        deep = [deep]
    cases: list[object] = [
        {"a": [1, 2.5, None, True, "x"], "b": {"c": ("t", frozenset({1}))}},
        {(1, "k"): {b"\x00", Decimal("1.50")}, 3: dt.datetime(2026, 1, 1)},
        dt.datetime(2026, 1, 1, tzinfo=dt.UTC), "ünï", {"ü": ["ö"]},
        "\ud800", {"\ud800": 1}, [1, "\udcff"], {("\ud800",): 1}, 10**5000, {10**5000: 1},
        Text("a"), [Text("a")], {"a": object()}, deep, nested(MAX_DEPTH + 1),
    ]
    accepted = 0
    for value in cases:
        size = limits._fine_size(value, 0)
        if size < 0:
            continue
        accepted += 1
        check_limits(value, "v")
        check_value(value, "v")
    assert accepted == 5
