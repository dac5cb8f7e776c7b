"""Exact, versioned JSON form of values: plain JSON where lossless, tagged objects otherwise.

Scenario files stay readable JSON, and every distinction the value model makes survives
the round trip. Tags (format 2; format 1 knew only the first three):

| tag | value |
| --- | --- |
| `{"$float": "nan" \\| "inf" \\| "-inf" \\| "-0.0"}` | floats JSON cannot write |
| `{"$int": "<digits>"}` | ints outside +-2**53 (no JSON reader rounds them) |
| `{"$dict": {...}}` | a str-keyed dict with a key starting with `$` |
| `{"$tuple": [...]}`, `{"$set": [...]}`, `{"$frozenset": [...]}` | those containers |
| `{"$bytes": "<hex>"}` | bytes |
| `{"$decimal": "1.00"}` | a Decimal, exponent kept |
| `{"$datetime": "2026-01-01T00:00:00+00:00"}` | a datetime, offset kept (or none) |
| `{"$map": [[key, value], ...]}` | a dict with a key that is not a str |
| `{"$array": {"dtype": "int64", "shape": [2], "items": [1, 2]}}` | a `NumArray` |

A set is written in its iteration order, and read back by inserting in that order, so a
set whose order depends on insertion (colliding hashes) keeps it: an engine that hashes a
set in iteration order is then caught (K5) by the two equal sets of a near pair.
"""

from __future__ import annotations

import datetime as _dt
import math
from decimal import Decimal, InvalidOperation
from typing import Any

from scenarios._value_kinds import NumArray
from scenarios.errors import InvalidScenarioError

__all__ = ["JSON_SAFE_INT", "VALUE_FORMAT", "decode_value", "encode_value"]

VALUE_FORMAT = 2
"""Version of the tagged form `encode_value` writes (the scenario file's `format`)."""

JSON_SAFE_INT = 2**53
"""Integers at least this large are written as `{"$int": ...}` so no JSON reader rounds them."""

_OLD_TAGS = ("$float", "$int", "$dict")
_NEW_TAGS = ("$tuple", "$set", "$frozenset", "$bytes", "$decimal", "$datetime", "$map",
             "$array")


def encode_value(value: Any) -> Any:
    """JSON-ready form of a value; plain JSON where lossless, tagged objects otherwise."""
    kind = type(value)
    if kind is float:
        if math.isnan(value):
            return {"$float": "nan"}
        if math.isinf(value):
            return {"$float": "inf" if value > 0 else "-inf"}
        if value == 0.0 and math.copysign(1.0, value) < 0:
            return {"$float": "-0.0"}
        return value
    if kind is int and abs(value) >= JSON_SAFE_INT:
        return {"$int": str(value)}
    if kind is list:
        return [encode_value(item) for item in value]
    if kind is dict:
        if not all(type(key) is str for key in value):
            return {"$map": [[encode_value(k), encode_value(v)] for k, v in value.items()]}
        encoded = {key: encode_value(item) for key, item in value.items()}
        if any(key.startswith("$") for key in value):
            return {"$dict": encoded}
        return encoded
    if kind in (tuple, set, frozenset):
        return {f"${kind.__name__}": [encode_value(item) for item in value]}
    if kind is bytes:
        return {"$bytes": value.hex()}
    if kind is Decimal:
        return {"$decimal": str(value)}
    if kind is _dt.datetime:
        return {"$datetime": value.isoformat()}
    if kind is NumArray:
        return {"$array": {"dtype": value.dtype, "shape": list(value.shape),
                           "items": [encode_value(x) for x in value.items]}}
    return value


_FLOAT_TAGS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf, "-0.0": -0.0}


def decode_value(data: Any, field: str = "value", version: int = VALUE_FORMAT) -> Any:
    """Inverse of `encode_value` for files of `version` (1 or 2); raises
    `InvalidScenarioError` naming `field` on bad input (a format-2 tag in a format-1
    file is bad input: that version had no such tag)."""
    kind = type(data)
    if kind in (type(None), bool, str, float):
        return data
    if kind is int:
        return _check_int(data, field)
    if kind is list:
        return [decode_value(item, f"{field}[{index}]", version)
                for index, item in enumerate(data)]
    if kind is not dict:
        raise InvalidScenarioError(field, data, "a JSON value", "write the value as JSON")
    tags = _OLD_TAGS if version < 2 else _OLD_TAGS + _NEW_TAGS
    if len(data) == 1:
        ((tag, payload),) = data.items()
        if tag in tags:
            return _decode_tag(tag, payload, field, version)
    for key in data:
        if key.startswith("$"):
            raise InvalidScenarioError(
                field, data, f"a known tag ({', '.join(tags)}) or keys not starting with '$'",
                'wrap dicts whose keys start with "$" as {"$dict": {...}}',
            )
    return {key: decode_value(item, f"{field}[{key!r}]", version) for key, item in data.items()}


def _decode_tag(tag: str, payload: Any, field: str, version: int) -> Any:
    where = f"{field}.{tag}"
    if tag == "$float":
        if payload not in _FLOAT_TAGS:
            raise InvalidScenarioError(
                field, payload, 'a $float tag of "nan", "inf", "-inf" or "-0.0"',
                "write finite floats as plain JSON numbers")
        return _FLOAT_TAGS[payload]
    if tag == "$int":
        return _decode_big_int(payload, field)
    containers = {"$dict": dict, "$array": dict, "$tuple": list, "$set": list,
                  "$frozenset": list, "$map": list}
    if tag in containers and type(payload) is not containers[tag]:
        raise InvalidScenarioError(where, payload, f"a JSON {containers[tag].__name__}",
                                   f"write {tag} as encode_value does")
    if tag == "$dict":
        return {key: decode_value(item, f"{field}[{key!r}]", version)
                for key, item in payload.items()}
    if tag in ("$tuple", "$set", "$frozenset"):
        items = [decode_value(item, f"{where}[{i}]", version) for i, item in enumerate(payload)]
        try:
            return {"$tuple": tuple, "$set": set, "$frozenset": frozenset}[tag](items)
        except TypeError:
            raise InvalidScenarioError(where, payload, "hashable elements",
                                       "use tuples or frozensets inside sets") from None
    if tag == "$map":
        return _decode_map(payload, where, version)
    if tag == "$array":
        return _decode_array(payload, where, version)
    return _decode_text_leaf(tag, payload, where)


def _decode_text_leaf(tag: str, payload: Any, where: str) -> Any:
    try:
        if type(payload) is not str:
            raise ValueError(payload)
        if tag == "$bytes":
            return bytes.fromhex(payload)
        if tag == "$decimal":
            return Decimal(payload)
        return _dt.datetime.fromisoformat(payload)
    except (ValueError, InvalidOperation):
        example = {"$bytes": '"00ff"', "$decimal": '"1.00"',
                   "$datetime": '"2026-01-01T00:00:00+00:00"'}[tag]
        raise InvalidScenarioError(where, payload, f"the text of a {tag[1:]}",
                                   f"write e.g. {{\"{tag}\": {example}}}") from None


def _decode_map(payload: list[Any], where: str, version: int) -> dict[Any, Any]:
    out: dict[Any, Any] = {}
    for i, pair in enumerate(payload):
        if type(pair) is not list or len(pair) != 2:
            raise InvalidScenarioError(f"{where}[{i}]", pair, "a [key, value] pair",
                                       "write each item as [key, value]")
        key = decode_value(pair[0], f"{where}[{i}] key", version)
        try:
            out[key] = decode_value(pair[1], f"{where}[{i}] value", version)
        except TypeError:
            raise InvalidScenarioError(f"{where}[{i}] key", pair[0], "a hashable key",
                                       "use a tuple or frozenset as key") from None
    return out


def _decode_array(payload: dict[str, Any], where: str, version: int) -> NumArray:
    if set(payload) != {"dtype", "shape", "items"} or type(payload["shape"]) is not list \
            or type(payload["items"]) is not list:
        raise InvalidScenarioError(where, payload, "an object with dtype, shape and items",
                                   'write e.g. {"dtype": "int64", "shape": [2], "items": [1, 2]}')
    items = tuple(decode_value(x, f"{where}.items", version) for x in payload["items"])
    return NumArray(payload["dtype"], tuple(payload["shape"]), items)


def _check_int(value: int, field: str) -> int:
    if value.bit_length() > 4096:
        raise InvalidScenarioError(field, value, "an int of at most 4096 bits",
                                   "use a smaller integer")
    return value


def _decode_big_int(payload: Any, field: str) -> int:
    text = payload if type(payload) is str else ""
    digits = text[1:] if text.startswith("-") else text
    if not digits.isdigit() or not digits.isascii() or len(digits) > 1300:
        raise InvalidScenarioError(
            field, payload, "a $int tag holding decimal digits", 'write e.g. {"$int": "-123"}'
        )
    return _check_int(int(text), field)
