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
    "number_type": "an int, float, bool or numeric str of the same number",
    "sign": "one sign flipped (-0.0 for 0.0)",
    "tuple_list": "a tuple for a list or the reverse",
    "set_frozenset": "a frozenset for a set or the reverse",
    "bytes_str": "bytes for str or the reverse",
    "int_edge": "an int beyond 2**53 moved by one (a float-based hash merges them)",
    "normal_form": "one string in the other Unicode normal form (NFC/NFD)",
    "key": "one dict key renamed: a new accent",
    "key_type": "one dict key of another type with the same text or number (1, '1', 1.0, True)",
    "key_normal_form": "one dict key in the other Unicode normal form (NFC/NFD)",
    "deeper": "one level deeper: a value wrapped in a one-element list (tuple if hashable)",
    "empty_none": "an empty container for None, or None for an empty container",
    "decimal_exponent": "a Decimal with another exponent (1.0 and 1.00)",
    "timezone": "a naive datetime made aware (UTC), or the reverse",
    "set_reorder": "a set built in another insertion order: equal, so it must still hit",
    "dict_reorder": "a dict in another key order: equal, so it must still hit",
    "neighbour": "a float moved to the next float up",
    "array_dtype": "an int64 array as float64 or the reverse",
    "array_shape": "an array of the same items in another shape ((2, 2) and (4,))",
    "array_item": "an array with one item changed",
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
    "array_shape": (NumArray("int64", (2, 2), (1, 2, 3, 4)), NumArray("int64", (4,), (1, 2, 3, 4))),
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


def near(value: Any, chooser: Any, *, pooled: bool = False) -> Any:
    """A value one minimal change away from `value` (or equal, for the reorder kinds).

    The kind of change is drawn first (among those `value` offers anywhere), then the
    place: so every kind is as likely as every other, whatever the value's shape.

    `pooled`: `value` is a constant of `scenarios._values_pool`, never mutated, so its
    places are walked once per process and kept (a rich value offers hundreds; walking
    them at every draw was most of the generator's time). The result then shares its
    unchanged parts with the constant: copy it (`generate.fresh`) before handing it out.
    """
    table = _SITES.get(id(value)) if pooled else None
    if table is None:
        table = _table(value)
        if pooled:
            _SITES[id(value)] = table
    labels, places_of = table
    label = chooser.choice(labels)
    places, deepest = places_of[label]
    if chooser.boolean(0.3):  # the deepest place: a hash may look only so deep
        places = deepest
    steps, change = chooser.choice(places)
    return _replace(value, steps, change)


Site = tuple[tuple[Any, ...], Any]
_SITES: dict[int, tuple[list[str], dict[str, tuple[list[Site], list[Site]]]]] = {}


def _table(value: Any) -> tuple[list[str], dict[str, tuple[list[Site], list[Site]]]]:
    """The kinds of change `value` offers (in `_ORDER`), and per kind its places and its
    deepest places."""
    sites: list[tuple[tuple[Any, ...], str, Any]] = []
    _collect(value, (), False, 0, sites)
    by_label: dict[str, list[Site]] = {}
    for steps, label, change in sites:
        by_label.setdefault(label, []).append((steps, change))
    places_of: dict[str, tuple[list[Site], list[Site]]] = {}
    for label, places in by_label.items():
        depth = max(len(steps) for steps, _ in places)
        places_of[label] = (places, [p for p in places if len(p[0]) == depth])
    return sorted(by_label, key=_ORDER.index), places_of


_ORDER = ("number_type", "sign", "tuple_list", "set_frozenset", "bytes_str", "int_edge",
          "normal_form", "key", "key_type", "key_normal_form", "deeper", "empty_none",
          "decimal_exponent", "timezone", "set_reorder", "dict_reorder", "neighbour", "array_dtype",
          "array_shape", "array_item")


def _collect(value: Any, steps: tuple[Any, ...], hashable: bool, level: int,
             sites: list[tuple[tuple[Any, ...], str, Any]]) -> None:
    """Every (place, kind of change, change) the value offers, keys and members included."""
    sites.extend((steps, label, change) for label, change in _options(value, hashable, level))
    kind = type(value)
    if kind in (list, tuple):
        for index, item in enumerate(value):
            _collect(item, (*steps, ("item", index)), hashable, level + 1, sites)
    elif kind in (set, frozenset):
        for member in value:
            _collect(member, (*steps, ("member", member)), True, level + 1, sites)
    elif kind is dict:
        for key, item in value.items():
            _collect(item, (*steps, ("value", key)), hashable, level + 1, sites)
            if type(key) in (tuple, frozenset):
                _collect(key, (*steps, ("key", key)), True, level + 1, sites)


def _replace(value: Any, steps: tuple[Any, ...], change: Any) -> Any:
    if not steps:
        return change(value)
    (how, where), rest = steps[0], steps[1:]
    kind = type(value)
    if how == "item":
        items = list(value)
        items[where] = _replace(items[where], rest, change)
        return kind(items)
    if how == "member":
        new = _replace(where, rest, change)
        return kind([*(m for m in value if m is not where), new])
    if how == "value":
        return {**value, where: _replace(value[where], rest, change)}
    new_key = _replace(where, rest, change)
    if new_key in value:
        return value
    return {(new_key if k is where else k): item for k, item in value.items()}


def _options(value: Any, hashable: bool, level: int) -> list[tuple[str, Any]]:
    kind = type(value)
    opts: list[tuple[str, Any]] = []
    if kind in (list, tuple):
        if not hashable or kind is list:
            opts.append(("tuple_list", tuple if kind is list else list))
        if not value and not hashable:
            opts.append(("empty_none", lambda v: None))
    elif kind in (set, frozenset):
        if not hashable or kind is set:
            opts.append(("set_frozenset", frozenset if kind is set else set))
        if len(value) > 1:
            opts.append(("set_reorder", lambda v: type(v)(reversed(list(v)))))
        if not value and not hashable:
            opts.append(("empty_none", lambda v: None))
    elif kind is dict:
        if value:
            opts.extend(_key_options(value))
            if len(value) > 1:
                opts.append(("dict_reorder", lambda v: dict(reversed(list(v.items())))))
        elif not hashable:
            opts.append(("empty_none", lambda v: None))
    else:
        opts.extend(_leaf_options(value, hashable))
    if level < _MAX_DEPTH:
        opts.append(("deeper", lambda v: (v,) if hashable else [v]))
    return opts


def _leaf_options(value: Any, hashable: bool) -> list[tuple[str, Any]]:
    kind = type(value)
    if value is None:
        return [("empty_none", lambda v: ())] if hashable else [
            ("empty_none", lambda v: []), ("empty_none", lambda v: {})]
    if kind is bool:
        return [("number_type", int), ("number_type", float)]
    if kind is int:
        opts: list[tuple[str, Any]] = [("sign", lambda v: -v)] if value else []
        if abs(value) < 2**53:
            opts.append(("number_type", float))
        else:
            opts.append(("int_edge", lambda v: v + 1 if v > 0 else v - 1))
        if value in (0, 1):
            opts.append(("number_type", bool))
        return [*opts, ("number_type", str)]
    if kind is float:
        opts = [("sign", lambda v: -v), ("neighbour", lambda v: math.nextafter(v, math.inf))]
        if math.isfinite(value) and value.is_integer() and abs(value) < 2**53:
            opts.append(("number_type", int))
        return opts
    if kind is str:
        return [("normal_form", _other_form), ("bytes_str", lambda v: v.encode("utf-8"))]
    if kind is bytes:
        return [("bytes_str", lambda v: v.decode("latin-1"))]
    if kind is Decimal:
        if value.is_finite():
            return [("decimal_exponent", lambda v: v * Decimal("1.0")), ("sign", lambda v: -v)]
        return [("sign", lambda v: -v)]
    if kind is _dt.datetime:
        return [("timezone", lambda v: v.replace(tzinfo=None if v.tzinfo else _dt.UTC))]
    if kind is NumArray:
        return _array_options(value)
    return []


def _array_options(value: NumArray) -> list[tuple[str, Any]]:
    """Another dtype (same numbers), another shape (same items), one item changed."""
    opts: list[tuple[str, Any]] = []
    other = "float64" if value.dtype == "int64" else "int64"
    cast = float if other == "float64" else int
    if all(math.isfinite(x) and float(x).is_integer() and abs(x) < 2**53 for x in value.items):
        opts.append(("array_dtype",
                     lambda v: NumArray(other, v.shape, tuple(cast(x) for x in v.items))))
    if value.items:
        shape = (len(value.items),) if len(value.shape) != 1 else (1, len(value.items))
        opts.append(("array_shape", lambda v: NumArray(v.dtype, shape, v.items)))
        opts.append(("array_item", lambda v: NumArray(
            v.dtype, v.shape, (*v.items[:-1], _bumped(v.items[-1])))))
    return opts


def _bumped(item: Any) -> Any:
    """An array item moved by one (int64 stays in range; a huge float moves to its
    neighbour, NaN and infinities become 0.0, so the item always changes)."""
    if type(item) is int:
        return item - 1 if item == 2**63 - 1 else item + 1
    if not math.isfinite(item):
        return 0.0
    moved = item + 1.0
    return moved if moved != item else math.nextafter(item, -math.inf)


def _other_form(text: str) -> str:
    for form in ("NFD", "NFC"):
        other = unicodedata.normalize(form, text)
        if other != text:
            return other
    return text + "\u0301"  # a combining accent: NFC would merge it into the letter


def _key_options(value: dict[Any, Any]) -> list[tuple[str, Any]]:
    """Renames of one key: its normal form (`key_normal_form`, where NFC and NFD differ),
    its type among 1, "1", 1.0, True (`key_type`), or a new accent (`key`). Kinds apart,
    so that each is drawn as often as any other kind of change."""
    opts: list[tuple[str, Any]] = []
    for key in sorted(value, key=repr):
        for new in _key_changes(key):
            if not any(type(k) is type(new) and k == new for k in value) and new not in value:
                label = "key_type" if type(new) is not type(key) else \
                    "key_normal_form" if type(key) is str and unicodedata.normalize(
                        "NFC", key) == unicodedata.normalize("NFC", new) else "key"
                opts.append((label, lambda v, old=key, new=new: {
                    (new if k is old else k): item for k, item in v.items()}))
    return opts or [("key", lambda v: {**v, "\u00e9": None})]


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
