"""Scenario values as AiiDA data nodes, and back.

The mapping is the one an AiiDA user would write by hand, so that caching sees what it
would see in real use: `bool` -> `Bool`, `int` -> `Int`, `float` -> `Float`, `str` ->
`Str`, `list` -> `List`, `dict` -> `Dict`. `None` has no AiiDA type; it becomes a bare
`orm.Data` node (no attributes), so all `None`s hash alike and nothing else hashes like
them. Nested values stay plain JSON inside `List`/`Dict` attributes.

Some values cannot be stored by AiiDA at all; `unstorable` names them, so the adapter can
refuse a launch up front (`Unsupported`) instead of failing inside AiiDA. Measured on
aiida-core 2.9.4 with SQLite storage (`tests/aiida` keeps the list honest): NaN and
infinities anywhere (`ValidationError: nan and inf/-inf can not be serialized`), dict
keys containing `.` or empty (attribute key validation), and lone surrogates in text
(`UnicodeEncodeError`). Big ints, `-0.0`, `None` in lists and NUL characters survive.
"""

from __future__ import annotations

import math
from typing import Any

from aiida import orm

__all__ = ["from_node", "pk", "to_node", "unstorable"]


def to_node(value: Any) -> orm.Data:
    """A new, unstored AiiDA node holding `value` (exact scenario types only)."""
    kind = type(value)
    if value is None:
        return orm.Data()
    if kind is bool:
        return orm.Bool(value)
    if kind is int:
        return orm.Int(value)
    if kind is float:
        return orm.Float(value)
    if kind is str:
        return orm.Str(value)
    if kind is list:
        return orm.List(list=value)
    if kind is dict:
        return orm.Dict(dict=value)
    raise TypeError(
        f"value {value!r} of type {kind.__name__}: expected a scenario value (None, bool, "
        "int, float, str, list, dict); validate the scenario before running it"
    )


def unstorable(value: Any, where: str = "value") -> str | None:
    """Why AiiDA cannot store `value` (see the module docstring), or None if it can."""
    kind = type(value)
    if kind is float and not math.isfinite(value):
        return f"{where}={value!r}: AiiDA cannot store NaN or infinity"
    if kind is str:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return f"{where}={value!r}: AiiDA cannot store text with lone surrogates"
    if kind is list:
        for index, item in enumerate(value):
            reason = unstorable(item, f"{where}[{index}]")
            if reason:
                return reason
    if kind is dict:
        for key, item in value.items():
            if not key or "." in key:
                return (f"{where} key {key!r}: AiiDA attribute keys cannot be empty or "
                        "contain '.'")
            reason = unstorable(item, f"{where}[{key!r}]")
            if reason:
                return reason
    return None


def pk(node: orm.Node) -> int:
    """The pk of a stored node (AiiDA types it optional, for unstored nodes)."""
    if node.pk is None:
        raise ValueError(f"node {node!r} is not stored: expected a stored node with a pk")
    return int(node.pk)


def from_node(node: orm.Node) -> Any:
    """The scenario value a node holds (inverse of `to_node`)."""
    kind = type(node)
    if kind is orm.Data:
        return None
    if kind in (orm.Bool, orm.Int, orm.Float, orm.Str):
        return node.value
    if kind is orm.List:
        return node.get_list()
    if kind is orm.Dict:
        return node.get_dict()
    raise TypeError(
        f"node {node.pk} of type {kind.__name__}: expected one of Data, Bool, Int, Float, "
        "Str, List, Dict as written by to_node; was the node made outside the adapter?"
    )
