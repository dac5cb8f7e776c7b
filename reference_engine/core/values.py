"""JSON-like values: the only things the engine stores (inputs, outputs, context).

Plain ``json`` keeps the distinctions the engine cares about (``1`` vs ``1.0`` vs
``True``, ``-0.0``, NaN, big ints), so values are stored as JSON text, checked first.
"""

from __future__ import annotations

import json
import math
from typing import Any

from reference_engine.errors import NotSerialisableError

JsonValue = Any  # None | bool | int | float | str | list[JsonValue] | dict[str, JsonValue]


def check_value(value: object, where: str) -> None:
    """Raise NotSerialisableError naming ``where`` if ``value`` is not JSON-like.

    Two passes: ``is_json_like`` answers yes or no without building a path string per
    item (most values are fine, and every transition checks its whole context), and only
    a bad value is walked again to name the offending item.
    """
    if not is_json_like(value):
        _raise_for(value, where)


_EXACT_SCALARS = frozenset({type(None), bool, int, float, str})
_SCALARS = (bool, int, float, str)


def is_json_like(value: object) -> bool:
    """Whether ``check_value`` accepts ``value``: the same rules, exact types first."""
    if type(value) in _EXACT_SCALARS:
        return True
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return False
            if type(item) not in _EXACT_SCALARS and not is_json_like(item):
                return False
        return True
    if isinstance(value, list):
        for item in value:
            if type(item) not in _EXACT_SCALARS and not is_json_like(item):
                return False
        return True
    return isinstance(value, _SCALARS)


def _raise_for(value: object, where: str) -> None:
    """The checking walk that names the first bad item; returns if there is none."""
    if value is None or isinstance(value, _SCALARS):
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            _raise_for(item, f"{where}[{index}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise NotSerialisableError(f"{where} key", key)
            _raise_for(item, f"{where}[{key!r}]")
        return
    raise NotSerialisableError(where, value)


# One encoder for every call: ``json.dumps`` with non-default options builds a new
# ``JSONEncoder`` per call, about a sixth of the cost of encoding a checkpoint. Stateless
# (``encode`` makes its circularity markers per call), so it is safe to share.
_ENCODER = json.JSONEncoder(allow_nan=True, separators=(",", ":"), ensure_ascii=False)


def dumps(value: JsonValue) -> str:
    """Serialise a checked value; keys keep their order (hashing sorts, storage need not)."""
    return _ENCODER.encode(value)


def loads(text: str) -> JsonValue:
    return json.loads(text)


def same_value(left: JsonValue, right: JsonValue) -> bool:
    """Typed equality: ``1 != 1.0 != True``, NaN equals NaN, ``-0.0 != 0.0``."""
    if type(left) is not type(right):
        return False
    if isinstance(left, float):
        if math.isnan(left) and math.isnan(right):
            return True
        return left == right and math.copysign(1.0, left) == math.copysign(1.0, right)
    if isinstance(left, list):
        return len(left) == len(right) and all(map(same_value, left, right))
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(same_value(left[k], right[k]) for k in left)
    return bool(left == right)
