"""Input values: what is allowed, how they compare, hash and round-trip through JSON.

A *value* is `None`, `bool`, `int`, `float`, `str`, `list` of values or `dict` with `str`
keys and value values (exact types, no subclasses). Python's own equality is too weak
for a caching harness (`1 == 1.0 == True`, `nan != nan`), so everything here works on a
typed *canonical text*: `1`, `1.0`, `True` and `"1"` differ, `-0.0` differs from `0.0`,
every NaN equals every NaN, and dict order is irrelevant. That text is the equality key,
the source of `digest()`, and (after the engine's declared normalisations) the cache key
the oracle predicts hits with.

JSON loses some of these distinctions, so `encode_value` writes a tagged form for them
(see docs/scenarios.md): `{"$float": "nan" | "inf" | "-inf" | "-0.0"}`, `{"$int": "<digits>"}`
for integers outside +-2**53, and `{"$dict": {...}}` for a dict with a key starting with `$`.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

from scenarios.errors import InvalidScenarioError

__all__ = [
    "HASH_NORMALISATIONS",
    "MAX_DEPTH",
    "MAX_INT_BITS",
    "FrozenMap",
    "canonical",
    "check_value",
    "decode_value",
    "digest",
    "encode_value",
    "normalise",
    "truthy",
    "value_key",
    "values_equal",
]

MAX_DEPTH = 32
"""Deepest nesting of lists and dicts accepted; deeper data is a bug, not a test case."""

MAX_INT_BITS = 4096
"""Largest integer magnitude (in bits) accepted; keeps `str(int)` under CPython's digit limit."""

JSON_SAFE_INT = 2**53
"""Integers at least this large are written as `{"$int": ...}` so no JSON reader rounds them."""

HASH_NORMALISATIONS: Mapping[str, str] = {
    "float_round_14": "floats hash by their text at 14 significant digits (AiiDA float_to_text)",
    "float_signed_zero": "-0.0 hashes as 0.0",
}
"""Documented ways an engine may coarsen its cache key; declared in `Capabilities`."""

_SCALARS = (type(None), bool, int, float, str)


def check_value(value: Any, field: str, _depth: int = 0) -> None:
    """Raise `InvalidScenarioError` naming `field` unless `value` is a valid value.

    Called once at the public entry points (constructors, decoder), so the rest of the
    package can trust its inputs.
    """
    kind = type(value)
    if kind in _SCALARS:
        if kind is int and value.bit_length() > MAX_INT_BITS:
            raise InvalidScenarioError(
                field, value, f"an int of at most {MAX_INT_BITS} bits", "use a smaller integer"
            )
        return
    if _depth >= MAX_DEPTH:
        raise InvalidScenarioError(
            field, value, f"nesting at most {MAX_DEPTH} deep", "flatten the value"
        )
    if kind is list:
        for index, item in enumerate(value):
            check_value(item, f"{field}[{index}]", _depth + 1)
        return
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str:
                raise InvalidScenarioError(
                    f"{field} key", key, "str dict keys", "convert the key to a string"
                )
            check_value(item, f"{field}[{key!r}]", _depth + 1)
        return
    raise InvalidScenarioError(
        field,
        value,
        "None, bool, int, float, str, list or dict with str keys (exact types)",
        "convert tuples to lists and other objects to one of these types",
    )


def _float_text(value: float) -> str:
    # float.hex is exact and distinguishes -0.0; all NaNs collapse to "nan" on purpose.
    return "nan" if math.isnan(value) else value.hex()


def _canon(value: Any, out: Callable[[str], Any]) -> None:
    kind = type(value)
    if value is None:
        out("n")
    elif kind is bool:
        out("T" if value else "F")
    elif kind is int:
        out(f"i{value};")
    elif kind is float:
        out(f"f{_float_text(value)};")
    elif kind is str:
        out(f"s{len(value)}:")
        out(value)
    elif kind is list:
        out(f"l{len(value)}[")
        for item in value:
            _canon(item, out)
        out("]")
    elif kind is dict:
        out(f"d{len(value)}{{")
        for key in sorted(value):
            out(f"{len(key)}:{key}")
            _canon(value[key], out)
        out("}")
    else:
        raise TypeError(f"not a scenario value: {value!r} ({kind.__name__})")


def canonical(value: Any) -> str:
    """Typed, order-free text of a value: equal texts iff the values are the same value."""
    parts: list[str] = []
    _canon(value, parts.append)
    return "".join(parts)


def value_key(value: Any) -> Any:
    """Hashable equality key: the canonical text for values, the object itself otherwise."""
    if type(value) in _SCALARS or type(value) in (list, dict):
        return canonical(value)
    return value


def values_equal(left: Any, right: Any) -> bool:
    """Typed equality: `values_equal(1, 1.0)` is False, `values_equal(nan, nan)` is True."""
    return bool(value_key(left) == value_key(right))


def digest(value: Any) -> str:
    """Stable SHA-256 hex digest of the canonical text (the `digest` calculation's output)."""
    text = canonical(value)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def normalise(value: Any, normalisations: frozenset[str]) -> Any:
    """The value as an engine with these declared hash normalisations sees it.

    Unknown names are rejected by `Capabilities`; here they are ignored.
    """
    if not normalisations:
        return value
    kind = type(value)
    if kind is float:
        if "float_round_14" in normalisations and math.isfinite(value):
            value = float(f"{value:.14g}")
        if "float_signed_zero" in normalisations and value == 0.0:
            value = 0.0
        return value
    if kind is list:
        return [normalise(item, normalisations) for item in value]
    if kind is dict:
        return {key: normalise(item, normalisations) for key, item in value.items()}
    return value


def truthy(value: Any) -> bool:
    """Python truthiness, the rule `If` uses (NaN is truthy, -0.0 and empty containers not)."""
    return bool(value)


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
        encoded = {key: encode_value(item) for key, item in value.items()}
        if any(key.startswith("$") for key in value):
            return {"$dict": encoded}
        return encoded
    return value


_FLOAT_TAGS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf, "-0.0": -0.0}


def decode_value(data: Any, field: str = "value") -> Any:
    """Inverse of `encode_value`; raises `InvalidScenarioError` naming `field` on bad input."""
    kind = type(data)
    if kind in (type(None), bool, str):
        return data
    if kind is int:
        check_value(data, field)
        return data
    if kind is float:
        return data
    if kind is list:
        return [decode_value(item, f"{field}[{index}]") for index, item in enumerate(data)]
    if kind is not dict:
        raise InvalidScenarioError(field, data, "a JSON value", "write the value as JSON")
    if len(data) == 1:
        ((tag, payload),) = data.items()
        if tag == "$float":
            if payload not in _FLOAT_TAGS:
                raise InvalidScenarioError(
                    field, data, 'a $float tag of "nan", "inf", "-inf" or "-0.0"',
                    "write finite floats as plain JSON numbers",
                )
            return _FLOAT_TAGS[payload]
        if tag == "$int":
            return _decode_big_int(payload, field)
        if tag == "$dict" and type(payload) is dict:
            return {key: decode_value(item, f"{field}[{key!r}]") for key, item in payload.items()}
    for key in data:
        if key.startswith("$"):
            raise InvalidScenarioError(
                field, data, "a known tag ($float, $int, $dict) or keys not starting with '$'",
                'wrap dicts whose keys start with "$" as {"$dict": {...}}',
            )
    return {key: decode_value(item, f"{field}[{key!r}]") for key, item in data.items()}


def _decode_big_int(payload: Any, field: str) -> int:
    text = payload if type(payload) is str else ""
    digits = text[1:] if text.startswith("-") else text
    if not digits.isdigit() or not digits.isascii() or len(digits) > 1300:
        raise InvalidScenarioError(
            field, payload, "a $int tag holding decimal digits", 'write e.g. {"$int": "-123"}'
        )
    value = int(text)
    check_value(value, field)
    return value


V = TypeVar("V")


class FrozenMap(Mapping[str, V]):
    """Immutable, hashable, insertion-ordered mapping with typed, order-free equality.

    Used for every mapping inside scenario data (inputs, outputs) so frozen dataclasses
    stay hashable and `Launch(inputs={"x": 1}) != Launch(inputs={"x": True})`. Order is
    kept for display and JSON, but two maps with the same items in another order are equal.
    """

    __slots__ = ("_data", "_hash")

    def __init__(self, items: Mapping[str, V] | Any = ()) -> None:
        self._data: dict[str, V] = dict(items)
        self._hash: int | None = None

    def __getitem__(self, key: str) -> V:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def _keys(self) -> frozenset[tuple[str, Any]]:
        return frozenset((key, value_key(item)) for key, item in self._data.items())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FrozenMap):
            return self._keys() == other._keys()
        if isinstance(other, Mapping):
            return self._keys() == FrozenMap(other)._keys()
        return NotImplemented

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(self._keys())
        return self._hash

    def __repr__(self) -> str:
        return f"FrozenMap({self._data!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenMap, (tuple(self._data.items()),))

    def to_dict(self) -> dict[str, V]:
        """A plain, mutable copy (shallow) for callers that need a `dict`."""
        return dict(self._data)
