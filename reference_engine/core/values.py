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
    """Raise NotSerialisableError naming ``where`` if ``value`` is not JSON-like."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            check_value(item, f"{where}[{index}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise NotSerialisableError(f"{where} key", key)
            check_value(item, f"{where}[{key!r}]")
        return
    raise NotSerialisableError(where, value)


def dumps(value: JsonValue) -> str:
    """Serialise a checked value; keys keep their order (hashing sorts, storage need not)."""
    return json.dumps(value, allow_nan=True, separators=(",", ":"), ensure_ascii=False)


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
