"""Values that are hard to hash right, shared by `generate` and the Hypothesis strategies.

Each group holds values that a careless hash or JSON layer merges although they differ
(or separates although they are equal: dicts in another order).
"""

from __future__ import annotations

import math
import unicodedata
from typing import Any

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

SIMPLE_VALUES: tuple[Any, ...] = (1, 2, 3, 0, 5, "a", 1.5)
"""Plain values, drawn often so equal inputs (and cache hits) are common."""


def perturbations(value: Any) -> tuple[Any, ...]:
    """Values that differ from `value` only slightly (or only in dict order: equal)."""
    kind = type(value)
    if kind is bool:
        return (int(value), float(value), str(value))
    if kind is int:
        return (float(value), str(value), value + 1, -value if value else 2**70)
    if kind is float:
        if math.isnan(value):
            return (math.inf, None, "nan")
        return (-value, value + (abs(value) * 2**-52 or 5e-324), int(value) if math.isfinite(
            value) else 0)
    if kind is str:
        return (unicodedata.normalize("NFD", value) if value != unicodedata.normalize(
            "NFD", value) else value + "\u0301", value.upper() + "!", "")
    if kind is list:
        return ([*value, None], value[:-1] if value else [[]], [perturbations(v)[0] for v in value])
    if kind is dict:
        reordered = dict(reversed(list(value.items())))
        changed = {k: perturbations(v)[0] for k, v in value.items()} if value else {"k": 1}
        return (reordered, changed, {**value, "extra": 0})
    return (0, "None", [])
