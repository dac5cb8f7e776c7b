"""Effect keys: the one naming convention for effects, shared by the oracle and journals.

Every execution of a step body or calculation body writes one journal entry whose key is:

    <label>/<step>                         a step body of the launched workflow
    <label>/<step>/<i>:<calc>              call i (0-based) of LaunchCalcs step <step>
    <label>/<loop>#<n>/<step>              a step in iteration n (0-based) of While <loop>
    <label>/<step>/<inner>                 a step of the sub-workflow launched by <step>

Segments nest: a calculation in iteration 1 of a loop inside a sub-workflow is
`A/sub/loop#1/fit/0:add`. `If` steps are transparent (step names are unique in their
workflow, so branches need no segment) and execute no effect themselves; nor does `While`.
A key names a *place*, not an execution: re-executions (after a crash) and orphan copies
write the same key again, which is what per-key execution bounds count.

Names are identifiers, so `/`, `:` and `#` never occur inside a segment.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scenarios.errors import InvalidScenarioError
from scenarios.language import Compute, If, LaunchCalcs, LaunchWorkflow, Step, While

if TYPE_CHECKING:
    from scenarios.scenario import Scenario

__all__ = [
    "EffectSite",
    "calc_key",
    "effect_keys",
    "effect_sites",
    "effect_target",
    "is_calc_key",
    "loop_prefix",
    "step_key",
]


def step_key(prefix: str, step: str) -> str:
    """Key of step body `step` under `prefix` (a launch label or a longer prefix)."""
    return f"{prefix}/{step}"


def calc_key(prefix: str, step: str, index: int, calc: str) -> str:
    """Key of call `index` (calculation type `calc`) of LaunchCalcs step `step`."""
    return f"{prefix}/{step}/{index}:{calc}"


def loop_prefix(prefix: str, loop: str, iteration: int) -> str:
    """Prefix of the body steps of iteration `iteration` (0-based) of While `loop`."""
    return f"{prefix}/{loop}#{iteration}"


def is_calc_key(key: str) -> bool:
    """True for calculation effects (the last segment is `<i>:<calc>`)."""
    return ":" in key.rpartition("/")[2]


@dataclass(frozen=True)
class EffectSite:
    """A place that can execute an effect: its key, fault target and kind.

    `target` is the fault-plan name of the body (`Workflow.step` or `calc:Name`), the name
    journals count attempts under; `kind` is `"step"` or `"calc"`.
    """

    key: str
    target: str
    kind: str


def _walk(scenario: Scenario, workflow: str, prefix: str, steps: tuple[Step, ...]
          ) -> Iterator[EffectSite]:
    for step in steps:
        if isinstance(step, Compute):
            yield EffectSite(step_key(prefix, step.name), f"{workflow}.{step.name}", "step")
        elif isinstance(step, LaunchCalcs):
            yield EffectSite(step_key(prefix, step.name), f"{workflow}.{step.name}", "step")
            for index, call in enumerate(step.calls):
                key = calc_key(prefix, step.name, index, call.calc)
                yield EffectSite(key, f"calc:{call.calc}", "calc")
        elif isinstance(step, LaunchWorkflow):
            key = step_key(prefix, step.name)
            yield EffectSite(key, f"{workflow}.{step.name}", "step")
            child = scenario.workflow(step.workflow)
            yield from _walk(scenario, child.name, key, child.steps)
        elif isinstance(step, If):
            yield from _walk(scenario, workflow, prefix, step.then)
            yield from _walk(scenario, workflow, prefix, step.otherwise)
        elif isinstance(step, While):
            for iteration in range(step.max_iterations):
                inner = loop_prefix(prefix, step.name, iteration)
                yield from _walk(scenario, workflow, inner, step.body)


def effect_sites(scenario: Scenario, launch: str | None = None) -> tuple[EffectSite, ...]:
    """Every site a launch (or, with None, every launch) could execute, in program order.

    Static: all branches and all loop iterations up to `max_iterations` are listed, so a
    key outside this set is never legitimate. The scenario must be valid.
    """
    sites: list[EffectSite] = []
    labels = [launch] if launch is not None else list(scenario.launch_labels())
    for label in labels:
        workflow = scenario.workflow(scenario.launch_workflow(label))
        sites.extend(_walk(scenario, workflow.name, label, workflow.steps))
    return tuple(sites)


def effect_keys(scenario: Scenario, launch: str | None = None) -> tuple[str, ...]:
    """The keys of `effect_sites(scenario, launch)`."""
    return tuple(site.key for site in effect_sites(scenario, launch))


def effect_target(scenario: Scenario, key: str) -> str:
    """Fault target (`Workflow.step` or `calc:Name`) of an effect key of this scenario."""
    label = key.partition("/")[0]
    if label not in scenario.launch_labels():
        raise InvalidScenarioError(
            "effect key", key, "a key starting with a launch label of the scenario",
            "take keys from effect_keys(scenario)",
        )
    for site in effect_sites(scenario, label):
        if site.key == key:
            return site.target
    raise InvalidScenarioError(
        "effect key", key, f"one of the keys launch {label!r} can execute",
        "take keys from effect_keys(scenario, launch)",
    )
