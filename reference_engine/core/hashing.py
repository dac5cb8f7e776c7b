"""Canonical, typed hashing of calculation inputs.

Why typed: a cache that treats ``1``, ``1.0``, ``True`` and ``"1"`` as equal returns
outputs computed from a different input (clause K4). Why canonical: dict order is not
part of a value, so ``{"a": 1, "b": 2}`` and ``{"b": 2, "a": 1}`` must hash alike (K5).
Strings are hashed as given: NFC and NFD forms are different inputs. Every other kind
the engine stores (``reference_engine.core.codec``) has its own prefix, so a tuple and
a list, bytes and str, a set and a frozenset, ``Decimal("1.0")`` and ``Decimal("1.00")``
(the exponent is kept), a naive and an aware datetime, ``{1: x}`` and ``{"1": x}`` all
differ; sets and dicts are hashed order-free (members sorted by their encoding).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import math
from decimal import Decimal

from reference_engine.core.codec import is_array
from reference_engine.core.values import JsonValue


def _encode(value: JsonValue, out: list[bytes]) -> None:
    """Append the encoding of ``value``; the common exact types first, the rest in ``_encode_any``.

    Why two functions: calculation inputs are mostly plain ints, strings, lists and
    dicts with ``str`` keys, and an ``isinstance`` chain with a key function per dict
    costs a third more. For exact ``str`` keys, ``sorted`` gives the same order as
    sorting by UTF-8 bytes: UTF-8 (lone surrogates included, with ``surrogatepass``)
    preserves code point order, which is how ``str`` compares.
    """
    kind = type(value)
    if kind is int:
        out.append(b"i%d;" % value)
    elif kind is str:
        data = value.encode("utf-8", "surrogatepass")
        out.append(b"s%d:%b" % (len(data), data))
    elif kind is list:
        out.append(b"l%d[" % len(value))
        for item in value:
            _encode(item, out)
        out.append(b"]")
    elif kind is dict and all(type(key) is str for key in value):
        out.append(b"d%d{" % len(value))
        for key in sorted(value):
            data = key.encode("utf-8", "surrogatepass")
            out.append(b"s%d:%b" % (len(data), data))
            _encode(value[key], out)
        out.append(b"}")
    else:
        _encode_any(value, out)


def _encode_any(value: JsonValue, out: list[bytes]) -> None:
    """Any JSON-like value, subclasses included (``bool`` before ``int``: it is one)."""
    if value is None:
        out.append(b"n;")
    elif isinstance(value, bool):
        out.append(b"b1;" if value else b"b0;")
    elif isinstance(value, int):
        out.append(b"i%d;" % value)
    elif isinstance(value, float):
        text = "nan" if math.isnan(value) else value.hex()
        out.append(b"f" + text.encode() + b";")
    elif isinstance(value, str):
        data = value.encode("utf-8", "surrogatepass")
        out.append(b"s%d:" % len(data) + data)
    elif isinstance(value, list):
        out.append(b"l%d[" % len(value))
        for item in value:
            _encode(item, out)
        out.append(b"]")
    elif isinstance(value, dict):
        if all(isinstance(key, str) for key in value):
            items = sorted(value.items(), key=lambda kv: kv[0].encode("utf-8", "surrogatepass"))
            out.append(b"d%d{" % len(items))
            for key, item in items:
                _encode(key, out)
                _encode(item, out)
        else:  # keys of any kind, typed: 1, 1.0, True and "1" are four keys
            pairs = sorted((canonical_bytes(key), item) for key, item in value.items())
            out.append(b"m%d{" % len(pairs))
            for key_bytes, item in pairs:
                out.append(key_bytes)
                _encode(item, out)
        out.append(b"}")
    else:
        _encode_more(value, out)


def _encode_more(value: JsonValue, out: list[bytes]) -> None:
    """The kinds beyond JSON: each with its own prefix, unordered ones sorted."""
    kind = type(value)
    if kind is tuple:
        out.append(b"t%d[" % len(value))
        for item in value:
            _encode(item, out)
        out.append(b"]")
    elif kind is set or kind is frozenset:
        members = sorted(canonical_bytes(item) for item in value)
        out.append(b"%s%d{" % (b"S" if kind is set else b"Z", len(members)))
        out.extend(members)
        out.append(b"}")
    elif kind is bytes:
        out.append(b"y%d:%b" % (len(value), value))
    elif kind is Decimal:
        out.append(b"D" + str(value).encode() + b";")  # str keeps the exponent
    elif kind is _dt.datetime:
        out.append(b"w" + value.isoformat().encode() + b";")  # the offset, if any
    elif is_array(value):
        header = f"a{value.dtype.str}{list(value.shape)}:".encode()
        out.append(header + value.tobytes(order="C") + b";")
def canonical_bytes(value: JsonValue) -> bytes:
    """The unambiguous typed encoding of a value (length-prefixed, sorted dict keys)."""
    out: list[bytes] = []
    _encode(value, out)
    return b"".join(out)


def calculation_hash(type_string: str, version: int, inputs: dict[str, JsonValue]) -> str:
    """Hash = type identity + declared version + canonical inputs (DESIGN.md §3)."""
    digest = hashlib.sha256()
    digest.update(type_string.encode() + b"\0" + str(version).encode() + b"\0")
    digest.update(canonical_bytes(inputs))
    return digest.hexdigest()
