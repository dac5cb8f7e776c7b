"""Typed scenario values as AiiDA nodes: which kinds AiiDA takes, and which it conflates.

The mapping is what an AiiDA user writes by hand for each kind of the value model
(`scenarios.values`): a tuple becomes `orm.List` (AiiDA has no tuple node), a set or
frozenset `orm.List` of its members, a `NumArray` an `orm.ArrayData` holding the NumPy
array, a `Decimal` a `Float`, a `datetime` sits inside a `Dict` (attributes keep
datetimes), deep and large values are `List`/`Dict`. Kinds with no such mapping (bytes,
dicts with non-`str` keys) are refused: the scenario is not applicable.

`python -m harness.adapters.aiida.typed_values` stores each near pair of
`scenarios._near_pairs.PAIR_EXAMPLES` in a throwaway profile, reloads it and compares
AiiDA's hashes: a pair that hashes alike is a conflation, which is either a declared
normalisation or a finding (docs/results/aiida-2.9.md, "Typed values").
"""

from __future__ import annotations

import datetime as _dt
from decimal import Decimal
from typing import Any, cast

from aiida import orm

from scenarios._near_pairs import PAIR_EXAMPLES
from scenarios._value_kinds import NumArray
from scenarios.values import canonical, normalise

__all__ = ["AIIDA_VALUE_KINDS", "probe_pairs", "to_typed_node"]

AIIDA_VALUE_KINDS = frozenset({"none", "bool", "int", "float", "str", "list", "dict", "tuple",
                               "set", "frozenset", "decimal", "datetime", "aware_datetime",
                               "array"})
"""The kinds `to_typed_node` maps (bytes and non-`str` dict keys have no AiiDA node)."""


def _plain(value: Any) -> Any:
    """A value as AiiDA attributes hold it: tuples and sets as lists, Decimals as floats."""
    kind = type(value)
    if kind in (list, tuple):
        return [_plain(item) for item in value]
    if kind in (set, frozenset):
        return [_plain(item) for item in value]
    if kind is dict:
        if not all(type(key) is str for key in value):
            raise TypeError(f"{value!r:.60}: AiiDA Dict keys must be str")
        return {key: _plain(item) for key, item in value.items()}
    if kind is Decimal:
        return float(value)
    if kind is bytes:
        raise TypeError(f"{value!r:.60}: AiiDA has no node for bytes")
    if kind is NumArray:
        raise TypeError("an array inside a container: AiiDA keeps arrays in ArrayData only")
    return value


def to_typed_node(value: Any) -> orm.Data:
    """A new, unstored node for `value`; `TypeError` names a kind AiiDA cannot take."""
    kind = type(value)
    if kind is NumArray:
        import numpy

        node = orm.ArrayData()
        node.set_array("v", numpy.array(value.items, dtype=value.dtype).reshape(value.shape))
        return node
    if kind is Decimal:
        return orm.Float(float(value))
    if kind is _dt.datetime:
        return orm.Dict(dict={"v": value})
    if kind in (list, tuple, set, frozenset):
        return orm.List(list=_plain(value))
    if kind is dict:
        return orm.Dict(dict=_plain(value))
    from harness.adapters.aiida.values import to_node

    if kind is bytes:
        raise TypeError(f"{value!r:.60}: AiiDA has no node for bytes")
    return to_node(value)


def _stored_hash(value: Any) -> str:
    from aiida.manage import get_manager

    node = to_typed_node(value).store()
    session = cast(Any, get_manager().get_profile_storage()).get_session()
    session.commit()
    session.expire_all()  # read back from the database, as a cache lookup does
    return str(orm.load_node(node.pk).base.caching.compute_hash())


def probe_pairs(declared: frozenset[str] = frozenset({"float_round_14", "float_signed_zero"})
                ) -> list[tuple[str, str]]:
    """(pair kind, finding) for every near pair: refused, kept apart, or conflated (and
    whether a declared normalisation explains it). Needs a loaded profile."""
    out = []
    for kind, (left, right) in PAIR_EXAMPLES.items():
        try:
            first, second = _stored_hash(left), _stored_hash(right)
        except Exception as error:  # a refusal to map or store is the finding
            out.append((kind, f"not accepted ({type(error).__name__}: {str(error)[:70]})"))
            continue
        equal = canonical(left) == canonical(right)
        if first != second:
            out.append((kind, "kept apart" if not equal else "equal values hash APART"))
        elif equal:
            out.append((kind, "equal values hash alike (as they must)"))
        else:
            why = canonical(normalise(left, declared)) == canonical(normalise(right, declared))
            out.append((kind, "conflated: declared normalisation" if why
                        else "CONFLATED (not declared)"))
    return out


def main() -> int:
    """Print the finding for each pair kind (throwaway profile, removed afterwards)."""
    from harness.adapters.aiida.profile import ThrowawayProfile

    with ThrowawayProfile().open(daemon=False):
        findings = probe_pairs()
        extra = []
        for label, (left, right) in {
            "array_dtype": (NumArray("int64", (2,), (1, 2)),
                            NumArray("float64", (2,), (1.0, 2.0))),
            "array_shape": (NumArray("int64", (2, 1), (1, 2)), NumArray("int64", (2,), (1, 2))),
        }.items():
            same = _stored_hash(left) == _stored_hash(right)
            extra.append((label, "CONFLATED (not declared)" if same else "kept apart"))
    for kind, finding in findings + extra:
        print(f"  {kind:18} {finding}")
    return 0


if __name__ == "__main__":
    from harness.adapters.aiida.typed_values import main as _main

    raise SystemExit(_main())
