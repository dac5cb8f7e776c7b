"""Values that are hard to hash right, shared by `generate` and the Hypothesis strategies.

Each group holds values that a careless hash or JSON layer merges although they differ
(or separates although they are equal: dicts in another order).
"""

from __future__ import annotations

import datetime as _dt
import math
import unicodedata
from decimal import Decimal
from typing import Any

from scenarios._value_kinds import NumArray

_CAFE_NFC = unicodedata.normalize("NFC", "caf\u00e9")
_CAFE_NFD = unicodedata.normalize("NFD", "caf\u00e9")

TRICKY_VALUES: tuple[Any, ...] = (
    1, 1.0, True, "1",
    0, 0.0, -0.0, False, "", None,
    math.nan, math.inf, -math.inf,
    2**70, -(2**64) - 1, 2**53 + 1,
    0.1, 0.1 + 2**-56, 1e-300,
    _CAFE_NFC, _CAFE_NFD, "\u212b", "\u00c5",
    [], {}, [[]], {"": None},
    {"a": 1, "b": [1, 2]}, {"b": [1, 2], "a": 1},
    {"a": {"b": {"c": 1}}}, {"a": {"b": {"c": 1.0}}},
    [1, [2, [3]]], {"$float": "nan"},
)
"""Simplest first: shrinking moves toward the start of this tuple."""

def _deep(levels: int, leaf: Any) -> Any:
    value = leaf
    for _ in range(levels):
        value = [value]
    return value


_UTC = _dt.UTC
TYPED_VALUES: tuple[Any, ...] = (
    (1, 2), [1, 2], b"1", "1", {8, 16, 24}, frozenset({8, 16}), set(), (),
    Decimal("1.0"), Decimal("-0"), Decimal("1E+2"),
    _dt.datetime(2026, 1, 1), _dt.datetime(2026, 1, 1, tzinfo=_UTC),
    {1: "a", "b": (1.0, True)}, {True: None, "1": b""}, {(1, 2): frozenset({b"x"})},
    {_CAFE_NFC: 1, "k": [0.0, {1.5: Decimal("2.50")}]},
    2**53 + 1, 2**63, -(2**63) - 1,
    {"a": ({"b": [set(), None, {"c": (Decimal("0.10"),)}]},), "t": _dt.datetime(2026, 6, 1)},
    _deep(70, {1: (b"x", 0.0)}),
    NumArray("int64", (2,), (1, 2)), NumArray("float64", (2, 2), (0.5, -0.0, 1.0, 2.0)),
    tuple(range(300)), "x" * 5000,
)
"""Values of every kind of the model (`scenarios._value_kinds`), for near pairs at depth:
keys of four types, sets whose iteration order depends on insertion (8, 16, 24 collide),
a value 71 levels deep, a large tuple and string. Immutable where possible (cheap draws)."""

RICH_VALUES: tuple[Any, ...] = (
    {"t": (1, 2), "b": b"1", "s": {8, 16, 24}, "f": frozenset({1, 2}), "d": Decimal("1.0"),
     "i": 2**53, "n": -1.5, "w": _dt.datetime(2026, 1, 1), 1: "k", _CAFE_NFC: [], "e": None,
     "deep": _deep(40, 1)},
    [(0.0, b"x"), {True: {8, 16}, "1": [Decimal("2.50"), None], _CAFE_NFD: frozenset({8, 16})},
     "\u00c5",
     {(1, 2): _dt.datetime(2026, 1, 1, tzinfo=_UTC)}, -(2**63), {}],
    {"m": NumArray("int64", (2, 2), (1, 2, 3, 4)), "k": (1, "x"),
     "v": [NumArray("float64", (3,), (0.5, -0.0, 2.0)), NumArray("int64", (0,), ())]},
)
"""Values holding every kind at once (keys, members, a level-41 leaf), and arrays apart (an
engine without arrays still gets the first two): a near pair of one of them can be any
kind of near pair (`scenarios._near_pairs.near` draws the kind first)."""

SIMPLE_VALUES: tuple[Any, ...] = (1, 2, 3, 0, 5, "a", 1.5)
"""Plain values, drawn often so equal inputs (and cache hits) are common."""
