"""Every value a scenario holds (launch inputs and constants), with where it is.

Why: an engine that cannot take a kind of value (`Capabilities.value_kinds`) must see the
scenario as not applicable, and the oracle must say which value made it so.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from scenarios.language import Const
from scenarios.plan import Launch
from scenarios.scenario import Scenario

__all__ = ["scenario_values"]


def scenario_values(scenario: Scenario) -> Iterator[tuple[str, Any]]:
    """(where, value) for each launch's inputs and each `Const` in the workflows."""
    for op in scenario.launches:
        if isinstance(op, Launch):
            for name, value in op.inputs.items():
                yield f"input {name} of launch {op.label}", value
    for workflow in scenario.workflows:
        for const in _consts(workflow):
            yield f"a constant in workflow {workflow.name}", const.value


def _consts(item: Any) -> Iterator[Const]:
    if isinstance(item, Const):
        yield item
    elif dataclasses.is_dataclass(item) and not isinstance(item, type):
        for field in dataclasses.fields(item):
            yield from _consts(getattr(item, field.name))
    elif isinstance(item, tuple):
        for element in item:
            yield from _consts(element)
    elif hasattr(item, "values") and hasattr(item, "keys"):  # FrozenMap of refs
        for element in item.values():
            yield from _consts(element)
