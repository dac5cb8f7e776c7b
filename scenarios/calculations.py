"""The calculation bodies: deterministic functions of the inputs, shared by oracle and engines.

Both the oracle and every engine adapter call `evaluate_calculation`, so "the outputs a
calculation must produce" has exactly one definition. The functions are chosen for what
they make testable, not for arithmetic interest:

- `add`: the sum of the numeric inputs (the AddThreeNumbers story); output `sum`.
- `echo`: returns its inputs unchanged; outputs named like the inputs (K2: a hit's
  outputs must equal its source's, value for value, type for type).
- `digest`: a stable hex digest of the typed canonical text of all inputs; output
  `digest` (K4: `1`, `1.0`, `True` and `"1"` give different digests, dict order does not).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from scenarios.errors import InvalidScenarioError
from scenarios.values import digest

if TYPE_CHECKING:
    from scenarios.language import Calculation

__all__ = ["CALCULATION_FUNCTIONS", "calculation_output_names", "evaluate_calculation"]

CALCULATION_FUNCTIONS: tuple[str, ...] = ("add", "echo", "digest")
"""Names a `Calculation.function` may take, simplest first (generators shrink toward `add`)."""


def calculation_output_names(function: str, input_names: Iterable[str]) -> tuple[str, ...]:
    """Output names a call produces, known statically from the function and input names."""
    if function == "add":
        return ("sum",)
    if function == "digest":
        return ("digest",)
    if function == "echo":
        return tuple(input_names)
    raise InvalidScenarioError(
        "Calculation.function", function, f"one of {CALCULATION_FUNCTIONS}",
        "pick a known function",
    )


def _add(inputs: Mapping[str, Any]) -> Any:
    # Booleans are flags, not numbers; summing in name order keeps float results stable.
    total: Any = 0
    for name in sorted(inputs):
        item = inputs[name]
        if type(item) in (int, float):
            total = total + item
    return total


def evaluate_calculation(calc: Calculation, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Outputs of one execution of `calc` on `inputs` (a fresh dict; inputs are not mutated).

    `add` sums the int and float inputs (bools and other types ignored) in input-name
    order, starting from int 0, so all-int inputs give an int. The calculation's
    `exit_status` does not change its outputs: a finished-but-failed calculation still
    produces them, which is what a cache hit on a failed source clones.
    """
    function = calc.function
    if function == "add":
        return {"sum": _add(inputs)}
    if function == "echo":
        return {name: copy.deepcopy(item) for name, item in inputs.items()}
    if function == "digest":
        return {"digest": digest(dict(inputs))}
    raise InvalidScenarioError(
        "Calculation.function", function, f"one of {CALCULATION_FUNCTIONS}",
        "pick a known function",
    )
