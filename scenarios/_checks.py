"""Construction-time type checks shared by the data classes.

These run in `__post_init__`, i.e. once per object at the public entry point, and only
check shapes (a name is an identifier, a tuple holds the right kind of thing). Cross
references (does this step exist?) are `Scenario.validate()`'s job.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from scenarios.errors import InvalidScenarioError
from scenarios.values import FrozenMap

NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
"""Names are identifiers so effect keys (`/`, `:`, `#`) and `describe()` stay unambiguous."""


def check_name(obj: object, field: str, value: Any) -> None:
    if type(value) is not str or not NAME_PATTERN.match(value):
        raise InvalidScenarioError(
            f"{type(obj).__name__}.{field}", value, "an identifier ([A-Za-z_][A-Za-z0-9_]*)",
            "rename it with letters, digits and underscores only",
        )


def check_int(obj: object, field: str, value: Any, minimum: int, optional: bool = False) -> None:
    if optional and value is None:
        return
    if type(value) is not int or value < minimum:
        expected = f"an int >= {minimum}" + (" or None" if optional else "")
        raise InvalidScenarioError(
            f"{type(obj).__name__}.{field}", value, expected, f"pass an integer >= {minimum}"
        )


def check_bool(obj: object, field: str, value: Any) -> None:
    if type(value) is not bool:
        raise InvalidScenarioError(
            f"{type(obj).__name__}.{field}", value, "a bool", "pass True or False"
        )


def freeze_tuple(
    obj: object, field: str, value: Any, item_check: Callable[[Any], bool], what: str
) -> None:
    """Store `value` as a tuple on the frozen `obj`, checking each item."""
    if isinstance(value, (str, bytes, Mapping)) or not hasattr(value, "__iter__"):
        raise InvalidScenarioError(
            f"{type(obj).__name__}.{field}", value, f"a tuple of {what}",
            "wrap the items in a tuple",
        )
    items = tuple(value)
    for index, item in enumerate(items):
        if not item_check(item):
            raise InvalidScenarioError(
                f"{type(obj).__name__}.{field}[{index}]", item, what, f"pass {what} only"
            )
    object.__setattr__(obj, field, items)


def freeze_map(
    obj: object, field: str, value: Any, item_check: Callable[[str, Any], None], what: str
) -> None:
    """Store `value` as a `FrozenMap` on the frozen `obj`; keys must be identifiers."""
    if not isinstance(value, Mapping):
        raise InvalidScenarioError(
            f"{type(obj).__name__}.{field}", value, f"a mapping of names to {what}",
            "pass a dict",
        )
    for key, item in value.items():
        if type(key) is not str or not NAME_PATTERN.match(key):
            raise InvalidScenarioError(
                f"{type(obj).__name__}.{field} key", key, "an identifier",
                "rename it with letters, digits and underscores only",
            )
        item_check(f"{type(obj).__name__}.{field}[{key!r}]", item)
    if not isinstance(value, FrozenMap):
        value = FrozenMap(value)
    object.__setattr__(obj, field, value)
