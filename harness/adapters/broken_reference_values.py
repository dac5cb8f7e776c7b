"""Broken cache hashes, one per near pair of typed values: proof that K4/K5 see each pair.

Each bug is a real way a cache key conflates two values an engine must keep apart (or
separates two equal ones): a tuple hashed as a list (Prefect 3's `(1, 2)` and `[1, 2]`),
bytes as text, a set as a frozenset or in its iteration order, a Decimal without its
exponent, ints through a float, numbers without their sign, datetimes without their
offset, dict keys as text or in NFC, an empty container as None, nothing below a fixed
depth, a NumPy array by its bytes alone. Each rewrites the inputs as the broken hash sees
them, then calls the engine's own ``calculation_hash``; ``broken_reference_patches``
merges ``VALUE_EXECUTOR_BUGS``, so the bug runs in worker OS processes (embedded) and
inside one simulation (sim) alike.

``VALUE_BUGS`` names, per variant, the bug, the pair (``scenarios._near_pairs.PAIR_EXAMPLES``)
it conflates and the clause that must fail.
"""

from __future__ import annotations

import datetime as _dt
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

__all__ = ["VALUE_BUGS", "VALUE_EXECUTOR_BUGS", "ValueBug"]

TRUNCATE_DEPTH = 32
"""The depth below which ``hash_truncates_deep`` sees nothing (the deep pair differs at 41)."""


@dataclass(frozen=True)
class ValueBug:
    """One conflating hash: what it does, the pair kind it merges, the clause it breaks."""

    bug: str
    pair: str
    clause: str
    rewrite: Callable[[Any, int], Any]  # (node, depth) -> the node as the broken hash sees it
    keys: bool = False  # also rewrite dict keys and set members (else they are kept)


def _ints_through_float(v: Any, depth: int) -> Any:
    return int(float(v)) if type(v) is int and abs(v) >= 2**53 else v


def _without_sign(v: Any, depth: int) -> Any:
    return abs(v) if type(v) in (int, float, Decimal) else v


def _keys_as_text(v: Any, depth: int) -> Any:
    return {str(k): item for k, item in v.items()} if type(v) is dict else v


def _keys_nfc(v: Any, depth: int) -> Any:
    if type(v) is not dict:
        return v
    return {(unicodedata.normalize("NFC", k) if type(k) is str else k): item
            for k, item in v.items()}


def _empty_as_none(v: Any, depth: int) -> Any:
    return None if type(v) in (list, tuple, dict, set, frozenset) and not v else v


def _array_bytes_only(v: Any, depth: int) -> Any:
    kind = type(v)
    if kind.__name__ == "ndarray" and kind.__module__ == "numpy":
        return v.tobytes(order="C")
    return v


def _truncated(v: Any, depth: int) -> Any:
    if depth >= TRUNCATE_DEPTH and type(v) in (list, tuple, dict, set, frozenset):
        return "<deep>"
    return v


VALUE_BUGS: dict[str, ValueBug] = {
    "hash_tuple_as_list": ValueBug(
        "the cache hash encodes a tuple as a list ((1, 2) and [1, 2] collide)", "tuple_list",
        "K4", lambda v, d: list(v) if type(v) is tuple else v),
    "hash_bytes_as_text": ValueBug(
        "the cache hash encodes bytes as Latin-1 text (b'1' and '1' collide)", "bytes_str",
        "K4", lambda v, d: v.decode("latin-1") if type(v) is bytes else v),
    "hash_set_as_frozenset": ValueBug(
        "the cache hash encodes a set as a frozenset ({1, 2} and frozenset({1, 2}) collide)",
        "set_frozenset", "K4", lambda v, d: frozenset(v) if type(v) is set else v),
    "hash_set_in_iteration_order": ValueBug(
        "the cache hash encodes a set as a list in iteration order, so two equal sets built "
        "in another order miss", "set_order", "K5",
        lambda v, d: (f"<{type(v).__name__}>", *v) if type(v) in (set, frozenset) else v),
    "hash_decimal_normalised": ValueBug(
        "the cache hash normalises Decimals (1.0 and 1.00 collide)", "decimal_exponent", "K4",
        lambda v, d: v.normalize() if type(v) is Decimal and v.is_finite() else v),
    "hash_ints_through_float": ValueBug(
        "the cache hash converts ints beyond 2**53 through float (2**53 and 2**53 + 1 "
        "collide)", "int_edge", "K4", _ints_through_float),
    "hash_ignores_sign": ValueBug(
        "the cache hash encodes numbers without their sign (-1.5 and 1.5, -0.0 and 0.0 "
        "collide)", "sign", "K4", _without_sign),
    "hash_drops_timezone": ValueBug(
        "the cache hash drops a datetime's offset (naive and aware collide)", "timezone", "K4",
        lambda v, d: v.replace(tzinfo=None) if type(v) is _dt.datetime else v),
    "hash_keys_as_text": ValueBug(
        "the cache hash encodes dict keys as text ({1: x} and {'1': x} collide)", "key_type",
        "K4", _keys_as_text),
    "hash_keys_nfc": ValueBug(
        "the cache hash normalises dict keys to NFC (NFC and NFD keys collide)",
        "key_normal_form", "K4", _keys_nfc),
    "hash_empty_as_none": ValueBug(
        "the cache hash encodes an empty container as None ([] and None collide)",
        "empty_none", "K4", _empty_as_none),
    "hash_array_bytes_only": ValueBug(
        "the cache hash encodes a NumPy array by its bytes alone, without shape or dtype "
        "(a (2, 2) array and its (4,) reshape collide)", "array_shape", "K4",
        _array_bytes_only),
    "hash_truncates_deep": ValueBug(
        f"the cache hash ignores everything nested {TRUNCATE_DEPTH} or more levels deep",
        "deep", "K4", _truncated),
}


def _rewrite(value: Any, bug: ValueBug, depth: int, inside_key: bool) -> Any:
    if not inside_key or bug.keys:
        value = bug.rewrite(value, depth)
    kind = type(value)
    if kind in (list, tuple):
        return kind(_rewrite(item, bug, depth + 1, inside_key) for item in value)
    if kind in (set, frozenset):
        return kind(_rewrite(item, bug, depth + 1, True) for item in value)
    if kind is dict:
        return {_rewrite(k, bug, depth + 1, True): _rewrite(item, bug, depth + 1, inside_key)
                for k, item in value.items()}
    return value


def _conflating_hash(name: str) -> Callable[[Any], Any]:
    bug = VALUE_BUGS[name]

    def factory(original: Callable[..., str]) -> Callable[..., str]:
        def broken_hash(type_string: str, version: int, inputs: dict[str, Any]) -> str:
            seen = {key: _rewrite(item, bug, 1, False) for key, item in inputs.items()}
            return original(type_string, version, seen)

        broken_hash.__doc__ = f"{name}: {bug.bug}"
        return broken_hash

    return factory


VALUE_EXECUTOR_BUGS: dict[str, dict[str, Callable[[Any], Any]]] = {
    name: {"calculation_hash": _conflating_hash(name)} for name in VALUE_BUGS
}
"""Per variant: executor global -> factory of its broken replacement."""
