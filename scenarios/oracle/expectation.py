"""What the oracle predicts: the `Expectation` of a scenario for one engine declaration.

Everything is frozen data. Where the model cannot decide something without the engine's
history (which of two equal sources was picked, whether an external kill landed before
or after a checkpoint), the field says so honestly: a bound's `max` is None, a cache
decision's `hit` is None, a launch lists several allowed `states`, or a launch is not
`decided` at all (with the reason in `Expectation.undecided`). Checks must report such
cases as "unknown", never as passed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from scenarios.effects import is_calc_key

__all__ = [
    "CacheExpectation",
    "EffectBound",
    "Expectation",
    "IdRelation",
    "LaunchExpectation",
]


@dataclass(frozen=True)
class EffectBound:
    """How many journal entries an effect key may have: `min <= n <= max` (None: no bound)."""

    min: int
    max: int | None
    reason: str = ""

    @property
    def exact(self) -> bool:
        """True when the count is fully determined (`min == max`)."""
        return self.max == self.min

    def allows(self, count: int) -> bool:
        """Whether `count` executions satisfy the bound."""
        return count >= self.min and (self.max is None or count <= self.max)


@dataclass(frozen=True)
class CacheExpectation:
    """The cache decision for one calculation node, named by its effect key (`path`).

    `hit` is True (must be a hit, from one of `sources`), False (must execute), or None
    (either is correct). `via_normalisation` marks a hit that exists only because of a
    declared hash normalisation (K4 reports it). `caching_enabled` is the configuration
    in force for this calculation type when the node was created. `rules` names the
    declared rules the decision depends on, as `name=value` (`invalidation_scope=
    per_node`, ...): under the other value it would differ. K7 judges a lookup its
    configuration rule decides, K3 one its invalidation rule decides; K1, K4 and K5 leave
    those to them, so a declared rule never reads as a hash fault.
    """

    path: str
    calc: str
    hit: bool | None
    sources: tuple[str, ...]
    caching_enabled: bool
    via_normalisation: bool = False
    reason: str = ""
    inputs: Any = field(default=None, compare=False, repr=False)
    """The node's inputs as the model knows them (K4 and K8 name the exact pair)."""
    rules: tuple[str, ...] = ()

    def decided_by(self, rule: str) -> bool:
        """Whether the declared rule called `rule` (a `Capabilities` field) decides it."""
        return any(r.partition("=")[0] == rule for r in self.rules)


@dataclass(frozen=True)
class LaunchExpectation:
    """The outcome of launch `label`.

    `states` is the set of allowed terminal states (`finished`, `excepted`, `killed`);
    `exit_status` and `outputs` apply when the launch finishes (outputs None: not
    predictable). `worker_kills` counts the kills certain to hit the launch: crashpoint
    kills, and `KillOnEffect` faults whose entry the model can place (other external
    faults are not counted: whether they land in it is timing). `decided` is
    False when the model could not follow this launch; then only structural clauses (N1,
    L1, L2, P1, C5) can be checked for it.
    """

    label: str
    workflow: str
    inputs: Mapping[str, Any]
    states: frozenset[str]
    exit_status: int | None
    outputs: Mapping[str, Any] | None
    decided: bool = True
    relaunch_of: str | None = None
    worker_kills: int = 0
    reason: str = ""

    @property
    def state(self) -> str | None:
        """The single allowed state, or None if several are allowed (or undecided)."""
        if self.decided and len(self.states) == 1:
            return next(iter(self.states))
        return None


@dataclass(frozen=True)
class IdRelation:
    """Two process names (launch labels or calculation paths) that must share an id or not.

    `a == b` with `same=True` states continuity: every observation of that process, before
    and after worker kills, shows one id (C1).
    """

    a: str
    b: str
    same: bool
    reason: str


@dataclass(frozen=True)
class Expectation:
    """The oracle's verdict model for one scenario under one capability set.

    - `launches`: per launch label, its `LaunchExpectation`.
    - `effects`: per effect key, an `EffectBound`. For a decided launch, a key that is
      absent must not execute at all (use `bound(key)`, which says so).
    - `cache`: per calculation path, a `CacheExpectation`.
    - `ids`: `IdRelation`s between launches, continued processes and cache hits.
    - `exercises`: clause ids this scenario exercises (only these may pass).
    - `not_applicable`: reasons the engine cannot run the scenario (unsupported
      crashpoints); when non-empty the harness should skip it.
    - `undecided`: reasons parts of the scenario could not be predicted.
    - `notes`: other remarks (e.g. a fault whose effect index is never reached).
    """

    scenario: str
    launches: Mapping[str, LaunchExpectation]
    effects: Mapping[str, EffectBound]
    cache: Mapping[str, CacheExpectation]
    ids: tuple[IdRelation, ...]
    exercises: frozenset[str]
    not_applicable: tuple[str, ...] = ()
    undecided: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def applicable(self) -> bool:
        """False when the engine lacks something the scenario needs."""
        return not self.not_applicable

    def bound(self, key: str) -> EffectBound | None:
        """The bound for an effect key; (0, 0) for unlisted keys of decided launches.

        None when the key belongs to an undecided launch (nothing can be said).
        """
        if key in self.effects:
            return self.effects[key]
        launch = self.launches.get(key.partition("/")[0])
        if launch is None or not launch.decided:
            return None
        kind = "calculation" if is_calc_key(key) else "step"
        return EffectBound(0, 0, f"this {kind} is not reached in launch {launch.label}")
