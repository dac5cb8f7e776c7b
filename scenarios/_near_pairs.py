"""Near pairs: a value and a minimally different one, at any depth, keys included.

Why: a cache key that conflates two inputs is found only by launching that exact pair
(K4: the second must miss), and a cache key that separates two equal inputs only by
launching an equal pair in another order (K5: the second must hit). Random values almost
never form such pairs, so the generator makes them: it walks to a random depth of a
launched value (a dict key, a set member and the innermost level of a deep value are all
reachable) and changes one thing there (`PAIR_KINDS`).

Every decision goes through the generator's `Chooser`, so Hypothesis can shrink it, and
each option list starts with the simplest change.
"""

from __future__ import annotations

import datetime as _dt
import math
import unicodedata
from decimal import Decimal
from typing import Any

from scenarios._value_kinds import NumArray

__all__ = ["PAIR_EXAMPLES", "PAIR_KINDS", "depth_of", "near"]

PAIR_KINDS: dict[str, str] = {
    "type_swap": "one container or scalar type swapped (tuple/list, set/frozenset, bytes/str, "
                 "int/float/bool)",
    "sign": "one sign flipped (-0.0 for 0.0)",
    "int_edge": "an int beyond 2**53 moved by one (a float-based hash merges them)",
    "normal_form": "one string in the other Unicode normal form (NFC/NFD)",
    "key": "one dict key changed: its type (1, '1', 1.0, True) or its normal form",
    "deeper": "one level deeper: a value wrapped in a one-element list",
    "empty_none": "an empty container for None, or None for an empty container",
    "decimal_exponent": "a Decimal with another exponent (1.0 and 1.00)",
    "timezone": "a naive datetime made aware (UTC), or the reverse",
    "set_reorder": "a set built in another insertion order: equal, so it must still hit",
    "dict_reorder": "a dict in another key order: equal, so it must still hit",
}
"""What `near` may change; all but the two reorders make a different value."""

def _deep(levels: int, leaf: Any) -> Any:
    for _ in range(levels):
        leaf = [leaf]
    return leaf


def _reinserted(members: list[int]) -> set[int]:
    out: set[int] = set()
    for member in members:
        out.add(member)
    return out


PAIR_EXAMPLES: dict[str, tuple[Any, Any]] = {
    "tuple_list": ((1, 2), [1, 2]),
    "bytes_str": (b"1", "1"),
    "set_frozenset": ({1, 2}, frozenset({1, 2})),
    "set_order": (_reinserted([8, 16, 24]), _reinserted([24, 16, 8])),
    "decimal_exponent": (Decimal("1.0"), Decimal("1.00")),
    "int_edge": (2**53, 2**53 + 1),
    "sign": ({"x": -1.5}, {"x": 1.5}),
    "signed_zero": (-0.0, 0.0),
    "timezone": (_dt.datetime(2026, 1, 1), _dt.datetime(2026, 1, 1, tzinfo=_dt.UTC)),
    "key_type": ({1: "a"}, {"1": "a"}),
    "key_normal_form": ({unicodedata.normalize("NFC", "caf\u00e9"): 1},
                        {unicodedata.normalize("NFD", "caf\u00e9"): 1}),
    "empty_none": ([], None),
    "deep": (_deep(40, 1), _deep(40, 2)),
}
"""One exact pair per kind the variants conflate (catalog `k4_typed_near_pairs`): each
pair differs, except `set_order` (equal sets whose iteration order differs: must hit)."""

_MAX_DEPTH = 99  # scenarios.values.MAX_DEPTH - 1: "deeper" must stay valid


def depth_of(value: Any) -> int:
    """Container levels of a value (a scalar is 0, `[1]` is 1), keys included."""
    deepest = 0
    stack = [(value, 0)]
    while stack:
        item, level = stack.pop()
        kind = type(item)
        if kind is dict:
            stack.extend((child, level + 1) for child in (*item.keys(), *item.values()))
        elif kind in (list, tuple, set, frozenset):
            stack.extend((child, level + 1) for child in item)
        else:
            continue
        deepest = max(deepest, level + 1)
    return deepest


def near(value: Any, chooser: Any) -> Any:
    """A value one minimal change away from `value` (or equal, for the reorder kinds)."""
    depth = depth_of(value)
    return _at(value, chooser.integer(0, depth) if depth else 0, chooser, False, 0)


def _at(value: Any, depth: int, c: Any, hashable: bool, level: int) -> Any:
    kind = type(value)
    if depth > 0 and kind in (list, tuple):
        eligible = [i for i, item in enumerate(value) if depth_of(item) >= depth - 1]
        if eligible:
            index = c.choice(eligible)
            items = list(value)
            items[index] = _at(value[index], depth - 1, c, hashable or kind is tuple, level + 1)
            return kind(items)
    elif depth > 0 and kind in (set, frozenset):
        eligible = sorted((m for m in value if depth_of(m) >= depth - 1), key=repr)
        if eligible:
            member = c.choice(eligible)
            rest = [m for m in value if m is not member]
            return kind([*rest, _at(member, depth - 1, c, True, level + 1)])
    elif depth > 0 and kind is dict:
        eligible = [(0, k) for k in sorted(value, key=repr) if depth_of(value[k]) >= depth - 1]
        eligible += [(1, k) for k in sorted(value, key=repr) if depth_of(k) >= depth - 1]
        if eligible:
            in_key, key = c.choice(eligible)
            if in_key:
                new = _at(key, depth - 1, c, True, level + 1)
                if new not in value:
                    return {(new if k is key else k): item for k, item in value.items()}
            else:
                return {**value, key: _at(value[key], depth - 1, c, hashable, level + 1)}
    options = _options(value, hashable, level)
    return c.choice(options)(value)


def _options(value: Any, hashable: bool, level: int) -> list[Any]:
    kind = type(value)
    opts: list[Any] = []
    if kind in (list, tuple):
        if not hashable or kind is list:
            opts.append(tuple if kind is list else list)
        if not value:
            opts.append(lambda v: None)
    elif kind in (set, frozenset):
        if not hashable or kind is set:
            opts.append(frozenset if kind is set else set)
        opts.append(lambda v: kind(reversed(list(v))))  # set_reorder
        if not value:
            opts.append(lambda v: None)
    elif kind is dict:
        if value:
            opts.extend(_key_options(value))
            opts.append(lambda v: dict(reversed(list(v.items()))))  # dict_reorder
        else:
            opts.append(lambda v: None)
    else:
        opts.extend(_leaf_options(value, hashable))
    if level < _MAX_DEPTH:
        opts.append(lambda v: (v,) if hashable else [v])  # deeper
    return opts


def _leaf_options(value: Any, hashable: bool) -> list[Any]:
    kind = type(value)
    if value is None:
        return [lambda v: ()] if hashable else [lambda v: [], lambda v: {}]
    if kind is bool:
        return [int, float, lambda v: not v]
    if kind is int:
        opts = [lambda v: -v] if value else [lambda v: False]
        if abs(value) < 2**53:
            opts.append(float)
        else:
            opts.append(lambda v: v + 1 if v > 0 else v - 1)  # int_edge
        if value in (0, 1):
            opts.append(bool)
        return [*opts, str]
    if kind is float:
        opts = [lambda v: -v]
        if math.isfinite(value) and value.is_integer() and abs(value) < 2**53:
            opts.append(int)
        return [*opts, lambda v: math.nextafter(v, math.inf)]
    if kind is str:
        return [_other_form, lambda v: v.encode("utf-8")]
    if kind is bytes:
        return [lambda v: v.decode("latin-1")]
    if kind is Decimal:
        if value.is_finite():
            return [lambda v: v * Decimal("1.0"), lambda v: -v]
        return [lambda v: -v]
    if kind is _dt.datetime:
        return [lambda v: v.replace(tzinfo=None if v.tzinfo else _dt.UTC)]
    if kind is NumArray:
        other = "float64" if value.dtype == "int64" else "int64"
        cast = float if other == "float64" else int
        if all(math.isfinite(x) for x in value.items):
            return [lambda v: NumArray(other, v.shape, tuple(cast(x) for x in v.items))]
    return [lambda v: None]


def _other_form(text: str) -> str:
    for form in ("NFD", "NFC"):
        other = unicodedata.normalize(form, text)
        if other != text:
            return other
    return text + "\u0301"  # a combining accent: NFC would merge it into the letter


def _key_options(value: dict[Any, Any]) -> list[Any]:
    """Renames of one key (of the first two): its type (1, "1", 1.0, True) or normal form."""
    opts = []
    for key in sorted(value, key=repr)[:2]:
        for new in _key_changes(key):
            if not any(type(k) is type(new) and k == new for k in value) and new not in value:
                opts.append(lambda v, old=key, new=new: {
                    (new if k is old else k): item for k, item in v.items()})
    return opts or [lambda v: {**v, "\u00e9": None}]


def _key_changes(key: Any) -> list[Any]:
    kind = type(key)
    if kind is str:
        changes: list[Any] = [_other_form(key)]
        if key.lstrip("-").isdigit():
            changes.append(int(key))
        return changes
    if kind is bool:
        return [int(key), str(key)]
    if kind is int:
        return [str(key), float(key)] + ([bool(key)] if key in (0, 1) else [])
    if kind is float:
        return [int(key), str(key)] if key.is_integer() else [str(key)]
    return [(key,)] if kind is not tuple else [str(key)]
