"""Typed storage of values: what the engine can store, and its exact JSON text.

The engine stores inputs, outputs and context as JSON text. Plain JSON would turn a
tuple into a list and has no bytes, sets, Decimals or datetimes, so the engine would
hash one value and give back another (K2, K4). Here every value kind the engine takes
keeps its type through storage:

- ``is_storable(leaf)``: the one rule for leaves (``None``, ``bool``, ``int``, ``float``,
  ``str``, ``bytes``, ``Decimal``, ``datetime`` naive or with a fixed offset, a numeric
  NumPy array). Containers (``list``, ``tuple``, ``set``, ``frozenset``, ``dict`` with
  hashable keys) are walked by ``is_value``; a boundary validator (depth, size limits)
  can walk them its own way and ask ``is_storable`` about each leaf.
- ``to_json`` / ``from_json``: tags for what JSON lacks (``{"$tuple": [...]}``,
  ``{"$set": [...]}``, ``{"$frozenset": [...]}``, ``{"$bytes": hex}``, ``{"$decimal":
  text}``, ``{"$datetime": iso}``, ``{"$map": [[k, v], ...]}`` for non-``str`` keys,
  ``{"$ndarray": {...}}``); a ``str`` key starting with ``$`` is written with one more
  ``$`` so no user dict reads back as a tag.

NumPy is never imported here unless an array must be read back (it is optional).
"""

from __future__ import annotations

import datetime as _dt
from decimal import Decimal
from typing import Any

__all__ = ["from_json", "is_array", "is_storable", "is_value", "needs_tags", "to_json"]

_PLAIN = frozenset({type(None), bool, int, float, str})
_LEAVES = _PLAIN | {bytes, Decimal}
_CONTAINERS = (list, tuple, set, frozenset, dict)
_TAGS = frozenset({"$tuple", "$set", "$frozenset", "$bytes", "$decimal", "$datetime", "$map",
                   "$ndarray"})
_ARRAY_KINDS = frozenset("biuf")  # bool, signed, unsigned, float dtypes


def is_array(value: object) -> bool:
    """A NumPy ndarray of booleans or numbers (recognised without importing NumPy)."""
    kind = type(value)
    return kind.__name__ == "ndarray" and kind.__module__ == "numpy" \
        and getattr(getattr(value, "dtype", None), "kind", "") in _ARRAY_KINDS


def is_storable(leaf: object) -> bool:
    """Whether the engine can store and hash this non-container value, typed."""
    kind = type(leaf)
    if kind in _LEAVES:
        return True
    if kind is _dt.datetime:
        tz = leaf.tzinfo  # type: ignore[attr-defined]  # a datetime, checked above
        return tz is None or type(tz) is _dt.timezone
    return is_array(leaf)


def is_value(value: object) -> bool:
    """Whether the whole value (containers walked, keys included) can be stored."""
    kind = type(value)
    if kind in _PLAIN:
        return True
    if kind is dict:
        return all(is_value(k) and is_value(v) for k, v in value.items())  # type: ignore[attr-defined]
    if kind in _CONTAINERS:
        return all(is_value(item) for item in value)  # type: ignore[attr-defined]
    return is_storable(value)


def needs_tags(value: object) -> bool:
    """Whether plain JSON would lose something of ``value`` (a kind, or a ``$`` key)."""
    kind = type(value)
    if kind in _PLAIN:
        return False
    if kind is list:
        return any(type(item) not in _PLAIN and needs_tags(item) for item in value)  # type: ignore[attr-defined]
    if kind is dict:
        for key, item in value.items():  # type: ignore[attr-defined]
            if type(key) is not str or key.startswith("$"):
                return True
            if type(item) not in _PLAIN and needs_tags(item):
                return True
        return False
    return True


def to_json(value: Any) -> Any:
    """The JSON-ready form of a storable value (``from_json`` gives it back, typed).

    Plain items are taken as they are without a call (most of a context is plain, and
    a call per leaf was most of the cost of tagging it).
    """
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is list:
        return [item if type(item) in _PLAIN else to_json(item) for item in value]
    if kind is dict:
        for key in value:
            if type(key) is not str:
                return {"$map": [[to_json(k), to_json(v)] for k, v in value.items()]}
        return {("$" + key if key[:1] == "$" else key):
                (item if type(item) in _PLAIN else to_json(item))
                for key, item in value.items()}
    if kind in (tuple, set, frozenset):
        return {f"${kind.__name__}": [item if type(item) in _PLAIN else to_json(item)
                                      for item in value]}
    if kind is bytes:
        return {"$bytes": value.hex()}
    if kind is Decimal:
        return {"$decimal": str(value)}
    if kind is _dt.datetime:
        return {"$datetime": value.isoformat()}
    if is_array(value):
        return {"$ndarray": {"dtype": value.dtype.str, "shape": list(value.shape),
                             "items": value.ravel().tolist()}}
    raise TypeError(f"cannot store {kind.__name__}")


def from_json(data: dict[str, Any]) -> Any:
    """``json.loads`` object hook: a tag becomes its value, ``$$key`` becomes ``$key``."""
    if len(data) == 1:
        ((tag, payload),) = data.items()
        if tag in _TAGS:
            return _untag(tag, payload)
    for key in data:  # a loop, not ``any(...)``: this runs for every object decoded
        if key[:1] == "$":
            return {(k[1:] if k.startswith("$$") else k): item for k, item in data.items()}
    return data


def _untag(tag: str, payload: Any) -> Any:
    if tag == "$tuple":
        return tuple(payload)
    if tag == "$set":
        return set(payload)
    if tag == "$frozenset":
        return frozenset(payload)
    if tag == "$bytes":
        return bytes.fromhex(payload)
    if tag == "$decimal":
        return Decimal(payload)
    if tag == "$datetime":
        return _dt.datetime.fromisoformat(payload)
    if tag == "$map":
        return {key: item for key, item in payload}  # keys decoded first, bottom-up
    import numpy  # an array was stored, so NumPy was there to make it

    return numpy.array(payload["items"], dtype=payload["dtype"]).reshape(payload["shape"])

