"""Launch plans: the operations a scenario performs, in order.

Launches run sequentially: each `Launch`/`Relaunch` runs to a terminal state (heal phase
included) before the next operation starts. Caching is off until the first
`SetCaching` (AiiDA's default). Labels name the processes a plan creates and are the
first segment of every effect key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from scenarios._checks import check_bool, check_int, check_name, freeze_map, freeze_tuple
from scenarios.errors import InvalidScenarioError
from scenarios.values import check_value

__all__ = [
    "Invalidate",
    "KillProcess",
    "Launch",
    "LaunchOp",
    "Relaunch",
    "SetCaching",
    "caching_enabled",
]


@dataclass(frozen=True)
class Launch:
    """Launch a new top-level process of `workflow` with literal `inputs`, labelled `label`."""

    label: str
    workflow: str
    inputs: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_name(self, "label", self.label)
        check_name(self, "workflow", self.workflow)
        freeze_map(self, "inputs", self.inputs, check_value, "values")


@dataclass(frozen=True)
class Relaunch:
    """Restart builder: a new instance, labelled `label`, from the inputs of launch `of`."""

    label: str
    of: str

    def __post_init__(self) -> None:
        check_name(self, "label", self.label)
        check_name(self, "of", self.of)


def _is_pattern(item: Any) -> bool:
    return type(item) is str and bool(item)


@dataclass(frozen=True)
class SetCaching:
    """Replace the caching configuration (fnmatch patterns over calculation names).

    Resolution, as in AiiDA: no matching pattern -> `default`; only enabling or only
    disabling patterns match -> that; both match -> the most specific pattern (the one
    matched by every other matching pattern) wins; no unique most specific one -> the
    scenario is invalid.
    """

    default: bool
    enabled: tuple[str, ...] = ()
    disabled: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_bool(self, "default", self.default)
        freeze_tuple(self, "enabled", self.enabled, _is_pattern, "non-empty patterns")
        freeze_tuple(self, "disabled", self.disabled, _is_pattern, "non-empty patterns")


@dataclass(frozen=True)
class Invalidate:
    """Mark the calculation node at `calc_path` of launch `launch` as not a cache source.

    `calc_path` is the calculation's effect key without the launch label, e.g.
    `add_xy/0:add` (see `scenarios.effects`). A node that never ran makes this a no-op.
    """

    launch: str
    calc_path: str

    def __post_init__(self) -> None:
        check_name(self, "launch", self.launch)
        if type(self.calc_path) is not str or ":" not in self.calc_path:
            raise InvalidScenarioError(
                "Invalidate.calc_path", self.calc_path, "a calculation path like 'step/0:calc'",
                "copy the path from effect_keys(scenario, launch)",
            )


@dataclass(frozen=True)
class KillProcess:
    """Request a kill of launch `launch`; kills propagate to its children.

    With `at_effect=None` the request is sent when the plan reaches this op; the launch is
    then already terminal and the request must change nothing (N1). With `at_effect=k`
    the op *arms* a kill for a launch created later in the plan: the request is sent when
    that launch's k-th journal entry appears, while it is active.
    """

    launch: str
    at_effect: int | None = None

    def __post_init__(self) -> None:
        check_name(self, "launch", self.launch)
        check_int(self, "at_effect", self.at_effect, 1, optional=True)


LaunchOp = Launch | Relaunch | SetCaching | Invalidate | KillProcess
LAUNCH_OP_TYPES = (Launch, Relaunch, SetCaching, Invalidate, KillProcess)
LAUNCH_OP_KINDS: tuple[str, ...] = ("launch", "relaunch", "set_caching", "invalidate", "kill")


def caching_enabled(config: SetCaching | None, calc_name: str) -> bool:
    """Whether caching is on for calculation type `calc_name` under `config` (None = off)."""
    if config is None:
        return False
    on = [p for p in config.enabled if fnmatchcase(calc_name, p)]
    off = [p for p in config.disabled if fnmatchcase(calc_name, p)]
    if not on and not off:
        return config.default
    if not off:
        return True
    if not on:
        return False
    matching = on + off
    # "Most specific" = matched by every other matching pattern (q matches p means p is narrower).
    specific = [p for p in sorted(set(matching)) if all(fnmatchcase(p, q) for q in matching)]
    if len(specific) != 1 or (specific[0] in on and specific[0] in off):
        raise InvalidScenarioError(
            "SetCaching", config, f"one most specific pattern for {calc_name!r}, got {matching}",
            "make one pattern narrower than the others or drop the overlap",
        )
    return specific[0] in on
