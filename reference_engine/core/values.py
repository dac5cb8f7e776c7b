"""Values: the only things the engine stores (inputs, outputs, context), typed.

Plain ``json`` keeps the distinctions the engine cares about (``1`` vs ``1.0`` vs
``True``, ``-0.0``, NaN, big ints), so values are stored as JSON text, checked first;
kinds JSON lacks (tuples, sets, bytes, Decimals, datetimes, non-``str`` keys, NumPy
arrays) are written with the tags of ``reference_engine.core.codec``.
"""

from __future__ import annotations

import json
from typing import Any

from reference_engine.core.codec import from_json, is_storable, is_value, needs_tags, to_json
from reference_engine.errors import NotSerialisableError

JsonValue = Any  # a value ``codec.is_value`` accepts: JSON-like, or tuples, sets, bytes, ...


def check_value(value: object, where: str) -> None:
    """Raise NotSerialisableError naming ``where`` if ``value`` is not JSON-like.

    Two passes: ``is_json_like`` answers yes or no without building a path string per
    item (most values are fine, and every transition checks its whole context), and only
    a bad value is walked again to name the offending item.
    """
    if not is_json_like(value) and not is_value(value):
        _raise_for(value, where)


_EXACT_SCALARS = frozenset({type(None), bool, int, float, str})
_SCALARS = (bool, int, float, str)


def is_json_like(value: object) -> bool:
    """Whether ``value`` is plain JSON data (the common, fast case), exact types first."""
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
    if value is None or isinstance(value, _SCALARS) or is_storable(value):
        return
    if isinstance(value, (list, tuple, set, frozenset)):
        for index, item in enumerate(value):
            _raise_for(item, f"{where}[{index}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not is_value(key):
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
    return _ENCODER.encode(to_json(value) if needs_tags(value) else value)


_DECODER = json.JSONDecoder(object_hook=from_json)
"""As ``_ENCODER``: ``json.loads`` with an ``object_hook`` builds a decoder (and its C
scanner) per call, a third of decoding a small checkpoint. Its scanner keeps no state
between calls (the key memo is cleared after each), so it is safe to share."""


def loads(text: str) -> JsonValue:
    """Inverse of ``dumps`` (tags are read only when the text has a ``$`` at all)."""
    return _DECODER.decode(text) if "$" in text else json.loads(text)


def same_value(left: JsonValue, right: JsonValue) -> bool:
    """Typed equality: ``1 != 1.0 != True``, NaN equals NaN, ``-0.0 != 0.0``, ``(1,) != [1]``."""
    from reference_engine.core.hashing import canonical_bytes

    return type(left) is type(right) and canonical_bytes(left) == canonical_bytes(right)
