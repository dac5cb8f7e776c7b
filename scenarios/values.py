"""Input values: what is allowed, how they compare, hash and round-trip through JSON.

A *value* is `None`, `bool`, `int`, `float`, `str`, `bytes`, `Decimal`, `datetime`
(naive, or aware with a fixed offset), `NumArray`, and the containers `list`, `tuple`,
`set`, `frozenset` and `dict` (keys: any hashable value), exact types, no subclasses,
nested at most `MAX_DEPTH` deep. Python's own equality is too weak for a caching harness
(`1 == 1.0 == True`, `(1, 2)` vs `[1, 2]` only by type, `nan != nan`,
`Decimal("1.0") == Decimal("1.00")`), so everything here works on a typed *canonical
text*: each kind has its own prefix, `-0.0` differs from `0.0`, every NaN equals every
NaN, a Decimal keeps its exponent, an aware datetime its offset, and dict and set order
is irrelevant. That text is the equality key, the source of `digest()`, and (after the
engine's declared normalisations) the cache key the oracle predicts hits with.

The JSON form (tags such as `{"$tuple": [...]}`, format 2) lives in
`scenarios._value_codec`; `first_difference` names where two values differ (K4 reports
it with the exact pair).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import math
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Any, TypeVar

from scenarios._value_codec import decode_value, encode_value
from scenarios._value_kinds import JSON_KINDS, VALUE_KINDS, NumArray, kind_of, kinds_of
from scenarios.errors import InvalidScenarioError

__all__ = [
    "HASH_NORMALISATIONS",
    "JSON_KINDS",
    "MAX_DEPTH",
    "MAX_INT_BITS",
    "VALUE_KINDS",
    "FrozenMap",
    "NumArray",
    "canonical",
    "check_value",
    "decode_value",
    "digest",
    "encode_value",
    "first_difference",
    "kind_of",
    "kinds_of",
    "normalise",
    "truthy",
    "value_key",
    "values_equal",
]

MAX_DEPTH = 100
"""Deepest nesting of containers accepted. At least 64 (deep values are a test case: an
engine may hash only the first levels), below the 128 the reference engine's boundary
refuses."""

MAX_INT_BITS = 4096
"""Largest integer magnitude (in bits) accepted; keeps `str(int)` under CPython's digit limit."""

HASH_NORMALISATIONS: Mapping[str, str] = {
    "float_round_14": "floats hash by their text at 14 significant digits (AiiDA float_to_text)",
    "float_signed_zero": "-0.0 hashes as 0.0",
}
"""Documented ways an engine may coarsen its cache key; declared in `Capabilities`."""

_SCALARS = (type(None), bool, int, float, str)
_FAST = frozenset({type(None), bool, float, str})
_LEAVES = frozenset({type(None), bool, int, float, str, bytes, Decimal, _dt.datetime})
_HASHABLE = _LEAVES | {tuple, frozenset, NumArray}
_EXPECTED = ("None, bool, int, float, str, bytes, Decimal, datetime, NumArray, list, tuple, "
             "set, frozenset or dict (exact types)")


def check_value(value: Any, field: str, _depth: int = 0) -> None:
    """Raise `InvalidScenarioError` naming `field` unless `value` is a valid value.

    Called once at the public entry points (constructors, decoder), so the rest of the
    package can trust its inputs.
    """
    kind = type(value)
    if kind in _LEAVES:
        _check_leaf(value, field)
        return
    if kind is NumArray:
        return  # checked by its constructor
    if _depth >= MAX_DEPTH:
        raise InvalidScenarioError(
            field, value, f"nesting at most {MAX_DEPTH} deep", "flatten the value"
        )
    if kind in (list, tuple):
        for index, item in enumerate(value):
            item_kind = type(item)
            if item_kind in _FAST or (item_kind is int and item.bit_length() <= MAX_INT_BITS):
                continue  # the common leaves, without a call and a path string
            check_value(item, f"{field}[{index}]", _depth + 1)
        return
    if kind in (set, frozenset):
        for item in value:
            _check_hashable(item, f"{field} element")
            check_value(item, f"{field} element {item!r}", _depth + 1)
        return
    if kind is dict:
        for key, item in value.items():
            _check_hashable(key, f"{field} key")
            if type(key) is not str:
                check_value(key, f"{field} key {key!r}", _depth + 1)
            check_value(item, f"{field}[{key!r}]", _depth + 1)
        return
    raise InvalidScenarioError(
        field, value, _EXPECTED, "convert other objects to one of these types"
    )


def _check_leaf(value: Any, field: str) -> None:
    kind = type(value)
    if kind is int and value.bit_length() > MAX_INT_BITS:
        raise InvalidScenarioError(
            field, value, f"an int of at most {MAX_INT_BITS} bits", "use a smaller integer"
        )
    if kind is _dt.datetime and value.tzinfo is not None \
            and type(value.tzinfo) is not _dt.timezone:
        raise InvalidScenarioError(
            field, value, "a naive datetime or one with a datetime.timezone offset",
            "convert the zone to a fixed offset: value.astimezone(datetime.timezone.utc)")
    if kind is Decimal and len(str(value)) > 1300:
        raise InvalidScenarioError(field, value, "a Decimal of at most 1300 characters",
                                   "use a shorter Decimal")


def _check_hashable(value: Any, field: str) -> None:
    if type(value) not in _HASHABLE:
        raise InvalidScenarioError(
            field, value, "a hashable value (None, bool, int, float, str, bytes, Decimal, "
            "datetime, tuple, frozenset, NumArray)", "use a tuple or frozenset as key")


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
    elif kind is list or kind is tuple:
        out(f"{'l' if kind is list else 't'}{len(value)}[")
        for item in value:
            # ints and strs inline (as above): long tuples of them are common values,
            # and a call per item was most of their canonical text
            sub = type(item)
            if sub is int:
                out(f"i{item};")
            elif sub is str:
                out(f"s{len(item)}:")
                out(item)
            else:
                _canon(item, out)
        out("]")
    elif kind is dict:
        if all(type(key) is str for key in value):
            out(f"d{len(value)}{{")
            for key in sorted(value):
                out(f"{len(key)}:{key}")
                _canon(value[key], out)
        else:  # any hashable keys: ordered by their canonical text, typed like values
            out(f"m{len(value)}{{")
            for key_text, key in sorted((canonical(key), key) for key in value):
                out(key_text)
                _canon(value[key], out)
        out("}")
    else:
        _canon_more(value, kind, out)


def _canon_more(value: Any, kind: type, out: Callable[[str], Any]) -> None:
    if kind is set or kind is frozenset:
        out(f"{'S' if kind is set else 'Z'}{len(value)}{{")
        for text in sorted(canonical(item) for item in value):
            out(text)
        out("}")
    elif kind is bytes:
        out(f"b{len(value)}:{value.hex()};")
    elif kind is Decimal:
        out(f"D{value};")  # str keeps the exponent: 1.0 and 1.00 differ
    elif kind is _dt.datetime:
        out(f"w{value.isoformat()};")  # naive has no offset; +00:00 and +01:00 differ
    elif kind is NumArray:
        out(f"a{value.dtype}{list(value.shape)}[")
        for item in value.items:
            _canon(item, out)
        out("]")
    else:
        raise TypeError(f"not a scenario value: {value!r} ({kind.__name__})")


def canonical(value: Any) -> str:
    """Typed, order-free text of a value: equal texts iff the values are the same value."""
    parts: list[str] = []
    _canon(value, parts.append)
    return "".join(parts)


def value_key(value: Any) -> Any:
    """Hashable equality key: the canonical text for values, the object itself otherwise."""
    try:
        return canonical(value)
    except TypeError:
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
    if kind in (list, tuple, set, frozenset):
        return kind(normalise(item, normalisations) for item in value)
    if kind is dict:
        return {key: normalise(item, normalisations) for key, item in value.items()}
    if kind is NumArray and value.dtype == "float64":
        return NumArray(value.dtype, value.shape,
                        tuple(normalise(x, normalisations) for x in value.items))
    return value


def truthy(value: Any) -> bool:
    """Python truthiness, the rule `If` uses (NaN is truthy, -0.0 and empty containers not;
    an array is truthy when it has elements)."""
    if type(value) is NumArray:
        return len(value.items) > 0
    return bool(value)


def first_difference(left: Any, right: Any, path: str = "") -> str | None:
    """Where two values first differ (`[0]`, `['k']`, `{key 1}`, `` for the whole), with the
    two sub-values: `"[0]: 1 vs 1.0"`; None when they are the same value."""
    if canonical(left) == canonical(right):
        return None
    kind = type(left)
    if kind is type(right):
        if kind in (list, tuple) and len(left) == len(right):
            for index, (a, b) in enumerate(zip(left, right, strict=True)):
                found = first_difference(a, b, f"{path}[{index}]")
                if found is not None:
                    return found
        if kind is dict:
            lkeys = {canonical(k): k for k in left}
            rkeys = {canonical(k): k for k in right}
            if lkeys.keys() == rkeys.keys():
                for text in sorted(lkeys):
                    found = first_difference(left[lkeys[text]], right[rkeys[text]],
                                             f"{path}[{lkeys[text]!r}]")
                    if found is not None:
                        return found
            else:
                left_only = [lkeys[t] for t in sorted(set(lkeys) - set(rkeys))]
                right_only = [rkeys[t] for t in sorted(set(rkeys) - set(lkeys))]
                return (f"{path or 'the value'}: keys {_keys(left_only)} vs "
                        f"{_keys(right_only)}")
    return f"{path or 'the value'}: {_show(left)} vs {_show(right)}"


def _keys(keys: list[Any]) -> str:
    return "[" + ", ".join(f"{_show(k)} ({type(k).__name__})" for k in keys) + "]"


def _show(value: Any) -> str:
    text = repr(value)
    if type(value) is str and not unicodedata.is_normalized("NFC", value):
        text += " (NFD)"
    return text if len(text) <= 120 else text[:117] + "..."


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
