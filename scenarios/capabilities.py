"""Clauses and the capability set an engine declares.

The oracle needs the declaration (failed-source policy, hash normalisations, supported
crashpoints) to say what *this* engine must do, so it lives here rather than in the
harness. Clause texts are one-line summaries of DESIGN.md section 1.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from scenarios.errors import InvalidScenarioError
from scenarios.faults import CRASHPOINTS
from scenarios.language import CHILD_FAILED_EXIT_STATUS
from scenarios.values import HASH_NORMALISATIONS, JSON_KINDS, VALUE_KINDS, kinds_of

__all__ = ["ALL_CLAUSES", "CACHE_HIT_CLAUSES", "CACHING_CONFIG_RULES", "CHILD_FAILURE_RULES",
           "CLAUSES", "FAILED_SOURCE_POLICIES", "INVALIDATION_RULES", "Capabilities"]

CLAUSES: Mapping[str, str] = {
    "C1": "a continued process keeps its id and reaches a terminal state once workers run again",
    "C2": "an effect completed before the last checkpoint is not executed again",
    "C3": "the effect in flight at a kill executes at most (kills during it + 1) times",
    "C4": "final outputs equal those of the same scenario without worker kills",
    "C5": "no two workers run the same process at the same time",
    "C6": "children launched before the last checkpoint are awaited, not launched again",
    "N1": "an excepted or killed process never runs again",
    "N2": "relaunching a terminated process's inputs makes a new id; the old one is untouched",
    "N3": "a new instance starts from the first step: without caching every effect runs again",
    "N4": "with caching on, equal cacheable calculations hit; workflow steps still execute",
    "K1": "a cache hit executes no effect",
    "K2": "a hit's outputs equal its source's outputs, and the hit names its source",
    "K3": "hits never come from excepted, killed, unfinished or invalidated sources",
    "K4": "any change of any input, at any depth, misses (up to declared normalisations)",
    "K5": "equal inputs hit across worker restarts and separate processes",
    "K6": "workflows are never cached; caching off never hits",
    "K7": "per-type caching configuration is honoured",
    "K8": "two different calculation types never hit each other",
    "L1": "after faults stop, every launched process reaches a terminal state within a bound",
    "L2": "one launch makes one process",
    "P1": "parent/child links are consistent; no active child of a terminated parent remains",
    "P2": "every executed effect belongs to a process the engine reports",
}

ALL_CLAUSES: tuple[str, ...] = tuple(CLAUSES)
CACHE_HIT_CLAUSES = frozenset({"N4", "K1", "K2", "K3", "K4", "K5", "K7", "K8"})
"""The clauses about what a cache hit may and must do; an engine that promises none of
them keeps no result cache (K6, "caching off never hits", holds for any engine)."""
"""Clause ids in matrix order: C1..C6, N1..N4, K1..K8, L1, L2, P1, P2."""

FAILED_SOURCE_POLICIES: tuple[str, ...] = ("allow_unless_invalidating", "never", "always")

FailedSourcePolicy = Literal["allow_unless_invalidating", "never", "always"]

CHILD_FAILURE_RULES: Mapping[str, str] = {
    "parent_finishes_failed": f"the parent finishes with exit status "
                              f"{CHILD_FAILED_EXIT_STATUS} and no outputs",
    "parent_excepted": "the parent ends excepted",
}
"""How a failed child (excepted, killed, non-zero exit status) affects its parent: the
rule's name and what the oracle then predicts (`Capabilities.child_failure`)."""

ChildFailure = Literal["parent_finishes_failed", "parent_excepted"]

CACHING_CONFIG_RULES: Mapping[str, str] = {
    "at_lookup": "the configuration decides only whether a node looks for a source; a node "
                 "that ran while caching was off for its type is a source all the same",
    "at_launch": "the configuration when a calculation is launched also decides whether its "
                 "result is kept: a node launched while caching was off for its type is "
                 "never a source",
}
"""When the caching configuration (on or off per type) applies: the rule's name and what
the oracle then predicts (`Capabilities.caching_config_applies`)."""

CachingConfigRule = Literal["at_lookup", "at_launch"]

INVALIDATION_RULES: Mapping[str, str] = {
    "per_node": "invalidating a node stops that node alone from being a source; other "
                "nodes with equal inputs (its cache hits included) still are",
    "per_stored_result": "invalidating a node drops the result stored under its key: no "
                         "node that shares the key is a source until one executes again",
}
"""What an invalidation reaches: the rule's name and what the oracle then predicts
(`Capabilities.invalidation_scope`)."""

InvalidationRule = Literal["per_node", "per_stored_result"]


def _frozen_subset(field: str, value: Any, allowed: tuple[str, ...] | None) -> frozenset[str]:
    if isinstance(value, str) or not hasattr(value, "__iter__"):
        raise InvalidScenarioError(
            f"Capabilities.{field}", value, "a set of strings", "pass a frozenset of names"
        )
    items = frozenset(value)
    for item in sorted(items, key=repr):
        if type(item) is not str or (allowed is not None and item not in allowed):
            raise InvalidScenarioError(
                f"Capabilities.{field}", item,
                "a string" if allowed is None else f"one of {allowed}",
                "remove or correct the unknown name",
            )
    return items


@dataclass(frozen=True)
class Capabilities:
    """What an engine promises and how it behaves where the clauses leave it a choice.

    - `promised`: clause ids the engine claims; others show as "not promised".
    - `failed_source_policy`: whether a finished-but-failed calculation may be a cache
      source: AiiDA's `allow_unless_invalidating`, or `never`, or `always`.
    - `hash_normalisations`: names from `HASH_NORMALISATIONS` the cache key applies.
    - `crashpoints`: the `CRASHPOINTS` the engine can arm; scenarios using others are
      not applicable to it.
    - `tiers`: where the engine runs (`sim`, `embedded`, `real`, ...), free-form names.
    - `expected_failures`: clauses declared to fail (strict: a pass fails the run).
    - `isolated_kills`: a worker kill can touch only the one task that worker was
      executing: a worker executes one task at a time, and a step's children are created
      in the same commit as the step's checkpoint (none exists, let alone runs, before
      it). Then the oracle's bounds for kills it can place are exact: the waiting parent
      step never runs again, siblings and children are never "in flight in the killed
      worker", and a kill before a launching step's checkpoint leaves no orphans. The
      default, False, is the loose model every engine meets; AiiDA is False (a daemon
      worker runs many processes, and a WorkChain submits children before checkpointing),
      the reference engine True.
    - `value_kinds`: the kinds of value (`VALUE_KINDS`: `tuple`, `bytes`, `set`,
      `decimal`, `array`, ...) the engine takes as inputs and gives back as they are.
      A scenario holding a value of another kind is not applicable to the engine. The
      default is the JSON-like kinds every engine takes.
    - `child_failure`: how a failed child affects its parent (`CHILD_FAILURE_RULES`):
      AiiDA's and the reference engine's `parent_finishes_failed` (the default), or
      `parent_excepted` for an engine whose parent never goes on after a failed child
      (a Celery chord's callback). C4 names the declared rule when it judges a launch
      whose child failed.
    - `min_chaos_timeout`, `min_heal_timeout`: seconds the correct engine may need for a
      launch under faults (its workers' start plus two kill recoveries) and to finish
      after faults stop. `wfconform run` and `fuzz` use them instead of their own
      defaults when these are larger and no `--chaos-timeout`/`--heal-timeout` was given:
      a timeout shorter than the engine's documented recovery reads as an L1 failure
      that is the harness's, not the engine's. Default 0: the commands' own defaults.
    """

    promised: frozenset[str]
    failed_source_policy: FailedSourcePolicy
    hash_normalisations: frozenset[str]
    crashpoints: frozenset[str]
    tiers: frozenset[str]
    expected_failures: frozenset[str] = frozenset()
    isolated_kills: bool = False
    value_kinds: frozenset[str] = JSON_KINDS
    child_failure: ChildFailure = "parent_finishes_failed"
    caching_config_applies: CachingConfigRule = "at_lookup"
    invalidation_scope: InvalidationRule = "per_node"
    min_chaos_timeout: float = 0.0
    min_heal_timeout: float = 0.0

    def __post_init__(self) -> None:
        for name, rules, fix in (
                ("caching_config_applies", CACHING_CONFIG_RULES,
                 "declare when the caching configuration applies"),
                ("invalidation_scope", INVALIDATION_RULES,
                 "declare what an invalidation reaches")):
            if getattr(self, name) not in rules:
                raise InvalidScenarioError(f"Capabilities.{name}", getattr(self, name),
                                           f"one of {tuple(rules)}", fix)
        if self.child_failure not in CHILD_FAILURE_RULES:
            raise InvalidScenarioError(
                "Capabilities.child_failure", self.child_failure,
                f"one of {tuple(CHILD_FAILURE_RULES)}",
                "declare what a failed child does to its parent")
        if type(self.isolated_kills) is not bool:
            raise InvalidScenarioError(
                "Capabilities.isolated_kills", self.isolated_kills, "True or False",
                "declare whether a worker kill touches only the task it was executing",
            )
        set_ = object.__setattr__
        set_(self, "promised", _frozen_subset("promised", self.promised, ALL_CLAUSES))
        if self.failed_source_policy not in FAILED_SOURCE_POLICIES:
            raise InvalidScenarioError(
                "Capabilities.failed_source_policy", self.failed_source_policy,
                f"one of {FAILED_SOURCE_POLICIES}", "declare the engine's policy",
            )
        set_(self, "hash_normalisations", _frozen_subset(
            "hash_normalisations", self.hash_normalisations, tuple(HASH_NORMALISATIONS)))
        set_(self, "crashpoints", _frozen_subset("crashpoints", self.crashpoints, CRASHPOINTS))
        set_(self, "tiers", _frozen_subset("tiers", self.tiers, None))
        set_(self, "value_kinds", _frozen_subset("value_kinds", self.value_kinds, VALUE_KINDS))
        set_(self, "expected_failures", _frozen_subset(
            "expected_failures", self.expected_failures, ALL_CLAUSES))

    @property
    def caches(self) -> bool:
        """Whether the engine has a result cache to turn on: it promises a cache-hit clause
        (`CACHE_HIT_CLAUSES`). Generated scenarios leave caching off for one that does not,
        rather than have it refuse to turn caching on (Celery, DBOS, Temporal)."""
        return bool(self.promised & CACHE_HIT_CLAUSES)

    @classmethod
    def everything(cls) -> Capabilities:
        """Every clause promised, AiiDA's source policy, exact hashing, every crashpoint."""
        return cls(
            promised=frozenset(ALL_CLAUSES),
            failed_source_policy="allow_unless_invalidating",
            hash_normalisations=frozenset(),
            crashpoints=frozenset(CRASHPOINTS),
            tiers=frozenset({"sim", "embedded", "real"}),
            value_kinds=frozenset(VALUE_KINDS),
        )

    def refused_kinds(self, value: Any) -> frozenset[str]:
        """The kinds inside `value` the engine does not take (empty: it takes the value)."""
        if len(self.value_kinds) == len(VALUE_KINDS):
            return frozenset()
        return kinds_of(value) - self.value_kinds

    def source_allowed(self, exit_status: int, invalidates_cache: bool) -> bool:
        """Whether a finished calculation with this exit status may be a cache source."""
        if exit_status == 0:
            return True
        if self.failed_source_policy == "never":
            return False
        if self.failed_source_policy == "always":
            return True
        return not invalidates_cache
