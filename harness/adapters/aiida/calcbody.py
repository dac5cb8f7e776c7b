"""The body of every generated calcfunction: the harness's body protocol around the function.

A calculation whose type declares a non-zero exit status must *finish* with that status
and still have its outputs (a finished-but-failed source's outputs are what a cache hit
clones). A calcfunction cannot return both, so the body attaches the outputs itself
with `Process.current().out(...)` and returns the `ExitCode`; AiiDA links the outputs and
records the status, as a CalcJob's parser would.
"""

from __future__ import annotations

from typing import Any, cast

from aiida import orm
from aiida.engine import ExitCode, Process

from harness.adapters.aiida.values import from_node, to_node
from harness.bodies import BodyRuntime
from scenarios.calculations import evaluate_calculation
from scenarios.language import Calculation

__all__ = ["run_calculation"]


def run_calculation(name: str, function: str, exit_status: int, invalidates_cache: bool,
                    inputs: dict[str, orm.Data]) -> dict[str, orm.Data] | ExitCode:
    """Execute calculation type `name` on AiiDA input nodes; see the module docstring."""
    process = cast("Process | None", Process.current())
    if process is None:
        raise RuntimeError(f"calculation {name!r} ran outside an AiiDA process; call the "
                           "generated calcfunction, not this body")
    node = process.node
    calc = Calculation(name, function, exit_status=exit_status,
                       invalidates_cache=invalidates_cache)
    values: dict[str, Any] = {label: from_node(item) for label, item in inputs.items()}
    outputs = BodyRuntime.current().run(
        key=node.label, target=f"calc:{name}", process=str(node.pk), step=None,
        engine_attempt=None, compute=lambda: evaluate_calculation(calc, values))
    nodes = {label: to_node(value) for label, value in outputs.items()}
    if exit_status == 0:
        return nodes
    for label, item in nodes.items():
        process.out(label, item)
    return ExitCode(exit_status, f"scenario calculation {name!r} declares exit status "
                    f"{exit_status}", invalidates_cache=invalidates_cache)
