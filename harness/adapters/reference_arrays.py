"""Scenario arrays (`NumArray`) as NumPy arrays for the reference engine, and back.

Why: the engine stores and hashes NumPy arrays as arrays (dtype, shape and bytes:
``reference_engine.core.codec``, ``reference_engine.core.hashing``), which is what a
scientific engine keys its cache on; a `NumArray` handed over as a dataclass would not
be a value at all. So the adapter gives the engine ``numpy.ndarray`` wherever a scenario
value enters it (launch inputs, constants a step resolves) and turns arrays back into
`NumArray` wherever a value leaves it for the harness (a calculation's body, a condition,
an observed output), so that the oracle, the checks and the digests see the value model.

NumPy is optional: without it the adapter does not declare the kind ``array``
(`ARRAYS`), and a scenario holding an array is not applicable.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from reference_engine.core.codec import is_array
from scenarios.values import NumArray

__all__ = ["ARRAYS", "from_engine", "to_engine"]

ARRAYS: bool = importlib.util.find_spec("numpy") is not None
"""Whether NumPy is importable, hence whether the adapter maps arrays."""

_PLAIN = (type(None), bool, int, float, str, bytes)


def to_engine(value: Any) -> Any:
    """`value` with every `NumArray` replaced by the equal ``numpy.ndarray`` (containers
    are rebuilt only where they hold one). An array inside a set or a dict key cannot be
    an ndarray (unhashable): that is a `TypeError` naming the value."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is NumArray:
        import numpy

        return numpy.array(value.items, dtype=value.dtype).reshape(value.shape)
    if kind in (list, tuple):
        items = [to_engine(item) for item in value]
        return value if all(a is b for a, b in zip(items, value, strict=True)) else kind(items)
    if kind is dict:
        if any(type(key) is NumArray or _holds_array(key) for key in value):
            raise TypeError(f"an array in a dict key cannot be a NumPy array: {value!r}")
        items = {key: to_engine(item) for key, item in value.items()}
        return value if all(items[k] is value[k] for k in value) else items
    if kind in (set, frozenset) and any(_holds_array(member) for member in value):
        raise TypeError(f"an array in a set cannot be a NumPy array: {value!r}")
    return value


def _holds_array(value: Any) -> bool:
    kind = type(value)
    if kind is NumArray:
        return True
    if kind in (tuple, frozenset):
        return any(_holds_array(item) for item in value)
    return False


def from_engine(value: Any) -> Any:
    """`value` with every ``numpy.ndarray`` of int64 or float64 replaced by the equal
    `NumArray` (the inverse of `to_engine`)."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is dict:  # containers before ``is_array``: they are most of what is walked
        items = {key: from_engine(item) for key, item in value.items()}
        return value if all(items[k] is value[k] for k in value) else items
    if kind in (list, tuple):
        items = [from_engine(item) for item in value]
        return value if all(a is b for a, b in zip(items, value, strict=True)) else kind(items)
    if is_array(value):
        dtype = str(value.dtype)
        cast = int if dtype == "int64" else float
        return NumArray(dtype, tuple(value.shape),
                        tuple(cast(x) for x in value.reshape(-1).tolist()))
    return value
