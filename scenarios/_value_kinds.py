"""The kinds of value a scenario may hold, and the one non-builtin kind: `NumArray`.

Why kinds: engines differ in what they can take as a calculation input (AiiDA has no
node for a `set`, JSON engines have no tuples). An adapter declares the kinds its engine
accepts (`Capabilities.value_kinds`); a scenario holding a value of another kind is *not
applicable* to that engine, never a pass or a fail. `kinds_of(value)` names them.

Why `NumArray` and not `numpy.ndarray`: `scenarios` imports only the standard library
(STYLE.md), so a numeric array is plain data here (dtype, shape, flat items) and an
adapter maps it to the engine's array type (NumPy, AiiDA `ArrayData`).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from scenarios.errors import InvalidScenarioError

__all__ = ["ARRAY_DTYPES", "JSON_KINDS", "VALUE_KINDS", "NumArray", "kind_of", "kinds_of"]

ARRAY_DTYPES: tuple[str, ...] = ("int64", "float64")
"""Element types a `NumArray` may have (NumPy names)."""


@dataclass(frozen=True)
class NumArray:
    """A numeric array as data: NumPy dtype name, shape, items in C order.

    Equality is exact and typed (`canonical`), so `NumArray("int64", (2,), (1, 2))` and
    the float64 array of the same numbers are different values, as in an engine that
    hashes the array's bytes and dtype.
    """

    dtype: str
    shape: tuple[int, ...]
    items: tuple[Any, ...]

    def __post_init__(self) -> None:
        if self.dtype not in ARRAY_DTYPES:
            raise InvalidScenarioError("NumArray.dtype", self.dtype, f"one of {ARRAY_DTYPES}",
                                       "use int64 or float64")
        shape = tuple(self.shape)
        if not all(type(n) is int and n >= 0 for n in shape) or len(shape) > 8:
            raise InvalidScenarioError("NumArray.shape", self.shape,
                                       "at most 8 non-negative ints", "give the array's shape")
        size = 1
        for n in shape:
            size *= n
        items = tuple(self.items)
        want = int if self.dtype == "int64" else float
        if len(items) != size or any(type(x) is not want for x in items):
            raise InvalidScenarioError(
                "NumArray.items", self.items, f"{size} item(s) of type {want.__name__}",
                "give the items in C order, one per element")
        if want is int and any(not -(2**63) <= x < 2**63 for x in items):
            raise InvalidScenarioError("NumArray.items", self.items, "int64 items",
                                       "keep items within +-2**63")
        object.__setattr__(self, "shape", shape)
        object.__setattr__(self, "items", items)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


JSON_KINDS: frozenset[str] = frozenset({"none", "bool", "int", "float", "str", "list", "dict"})
"""What every engine takes: the JSON-like kinds (the default of `Capabilities.value_kinds`)."""

VALUE_KINDS: tuple[str, ...] = (
    "none", "bool", "int", "float", "str", "list", "dict",
    "tuple", "bytes", "set", "frozenset", "decimal", "datetime", "aware_datetime",
    "keyed_dict", "array",
)
"""Every kind of the model. `datetime` is naive, `aware_datetime` has a fixed UTC offset;
`keyed_dict` is a dict with at least one key that is not a `str`; `array` a `NumArray`."""

_KIND = {type(None): "none", bool: "bool", int: "int", float: "float", str: "str",
         list: "list", tuple: "tuple", bytes: "bytes", set: "set", frozenset: "frozenset",
         Decimal: "decimal", NumArray: "array"}


def kind_of(value: Any) -> str:
    """The kind of one (checked) value, not looking inside containers."""
    kind = type(value)
    name = _KIND.get(kind)
    if name is not None:
        return name
    if kind is dict:
        return "dict" if all(type(k) is str for k in value) else "keyed_dict"
    if kind is _dt.datetime:
        return "datetime" if value.tzinfo is None else "aware_datetime"
    raise TypeError(f"not a scenario value: {value!r} ({kind.__name__})")


def kinds_of(value: Any) -> frozenset[str]:
    """Every kind used anywhere inside `value` (keys included)."""
    seen: set[str] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        kind = kind_of(item)
        seen.add(kind)
        if kind in ("dict", "keyed_dict"):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif kind in ("list", "tuple", "set", "frozenset"):
            stack.extend(item)
    return frozenset(seen)
