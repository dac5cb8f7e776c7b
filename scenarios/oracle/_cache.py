"""The oracle's model of cache sources and lookups (K1..K8).

A calculation node is a candidate source for a later node iff it has the same type name
and version, its normalised input key is equal, and it is valid: finished, not
invalidated, and allowed by the engine's failed-source policy. The lookup happens once,
when the node is created (all children of a step are created before any of them runs),
against the nodes that exist at that moment. Nodes whose existence or final state the
model cannot be sure of (orphans, nodes of a launch that may have been killed) are
*possible* sources: they can make a hit possible, never certain.

Two validity rules are the engine's declared choice (`Capabilities`): whether a node
launched while caching was off for its type is a source (`caching_config_applies`), and
whether invalidating a node also drops the nodes that share its stored result
(`invalidation_scope`). A lookup whose decision would differ under the other choice
records the rule (`CacheExpectation.rules`) and its reason names it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from scenarios.capabilities import CACHING_CONFIG_RULES, INVALIDATION_RULES, Capabilities
from scenarios.language import Calculation
from scenarios.oracle.expectation import CacheExpectation
from scenarios.plan import SetCaching, caching_enabled
from scenarios.values import canonical, normalise


class Unknown:
    """A value the model cannot predict (e.g. a hit on one of several unequal sources)."""

    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN = Unknown()


def contains_unknown(value: Any) -> bool:
    if value is UNKNOWN:
        return True
    if type(value) is list:
        return any(contains_unknown(item) for item in value)
    if type(value) is dict:
        return any(contains_unknown(item) for item in value.values())
    return False


@dataclass
class Node:
    """One calculation node the model knows of (a candidate cache source)."""

    path: str
    launch: str
    calc: Calculation
    key: str | None
    exact: str | None
    outputs: Any
    state: str
    certain: bool
    invalidated: bool = False
    caching_enabled: bool = True
    """Caching was on for its type when it was launched (else, by the declared rule
    `at_launch`, it kept no result and is never a source)."""
    dropped_with: str | None = None
    """The invalidated node whose stored result (equal type and key) it shares: by the
    declared rule `per_stored_result` it is no source either."""


@dataclass
class Lookup:
    """Result of a lookup: the expectation plus what the lookup exercised."""

    expectation: CacheExpectation
    sources: list[Node] = field(default_factory=list)
    exercises: set[str] = field(default_factory=set)
    key: str | None = None  # ``SourceStore.keys`` of the inputs, computed once per lookup
    exact: str | None = None


class SourceStore:
    """Every calculation node created so far, and the lookup rule over them."""

    def __init__(self, capabilities: Capabilities) -> None:
        self.capabilities = capabilities
        self.nodes: list[Node] = []
        self.config: SetCaching | None = None
        self._seen_under_config: set[bool] = set()

    def set_config(self, config: SetCaching) -> None:
        self.config = config
        self._seen_under_config = set()

    def keys(self, inputs: dict[str, Any]) -> tuple[str | None, str | None]:
        """(normalised key, exact key) of ``inputs``; None for both when unpredictable.

        The canonical text is the oracle's largest cost; without a declared
        normalisation both keys are one text, computed once. ``Lookup`` keeps them, so
        each node's inputs are walked once, not once per sibling and source."""
        try:  # canonical refuses UNKNOWN: no separate walk looking for it first
            exact = canonical(inputs)
        except TypeError:
            if contains_unknown(inputs):
                return None, None
            raise
        norm = normalise(inputs, self.capabilities.hash_normalisations)
        return (exact if norm is inputs else canonical(norm)), exact

    def _valid(self, node: Node, config_rule: str | None = None,
               scope: str | None = None) -> bool:
        """Whether `node` is a source under the declared rules (or the ones given)."""
        caps = self.capabilities
        return (node.state == "finished" and not node.invalidated
                and (node.caching_enabled
                     or (config_rule or caps.caching_config_applies) == "at_lookup")
                and (node.dropped_with is None
                     or (scope or caps.invalidation_scope) == "per_node")
                and caps.source_allowed(node.calc.exit_status, node.calc.invalidates_cache))

    def _rejection(self, node: Node) -> str:
        if node.state != "finished":
            return f"{node.path} is {node.state}"
        if node.invalidated:
            return f"{node.path} was invalidated"
        if node.dropped_with is not None and \
                self.capabilities.invalidation_scope == "per_stored_result":
            return (f"{node.path} shares its stored result with {node.dropped_with}, which "
                    "was invalidated (by the declared rule invalidation_scope="
                    "per_stored_result, no node that shares the key is a source)")
        if not node.caching_enabled and self.capabilities.caching_config_applies == "at_launch":
            return (f"{node.path} ran while caching was off for {node.calc.name} (by the "
                    "declared rule caching_config_applies=at_launch, it kept no result)")
        return (f"{node.path} failed with exit status {node.calc.exit_status} "
                f"(policy {self.capabilities.failed_source_policy})")

    def _decision(self, equal: list[Node], orphans_possible: bool,
                  config_rule: str | None = None, scope: str | None = None) -> bool | None:
        valid = [n for n in equal if self._valid(n, config_rule, scope)]
        if any(n.certain for n in valid):
            return True
        return None if valid or orphans_possible else False

    def _rules(self, equal: list[Node], orphans_possible: bool) -> tuple[str, ...]:
        """The declared rules this lookup's decision depends on (see the module doc)."""
        caps = self.capabilities
        declared = self._decision(equal, orphans_possible)
        rules = []
        if any(not n.caching_enabled for n in equal):
            other = next(r for r in CACHING_CONFIG_RULES if r != caps.caching_config_applies)
            if self._decision(equal, orphans_possible, config_rule=other) != declared:
                rules.append(f"caching_config_applies={caps.caching_config_applies}")
        if any(n.dropped_with is not None for n in equal):
            other = next(r for r in INVALIDATION_RULES if r != caps.invalidation_scope)
            if self._decision(equal, orphans_possible, scope=other) != declared:
                rules.append(f"invalidation_scope={caps.invalidation_scope}")
        return tuple(rules)

    def _kept_by_rule(self, valid: list[Node], rules: tuple[str, ...]) -> str:
        """Why sources the other choice of a declared rule would reject are valid here."""
        notes = []
        off = [n.path for n in valid if not n.caching_enabled]
        if off and any(r.startswith("caching_config_applies=") for r in rules):
            notes.append(f"by the declared rule caching_config_applies=at_lookup, "
                         f"{', '.join(dict.fromkeys(off))} ran while caching was off for its "
                         "type and is a source all the same")
        kept = [n for n in valid if n.dropped_with is not None]
        if kept and any(r.startswith("invalidation_scope=") for r in rules):
            notes.append(f"by the declared rule invalidation_scope=per_node, invalidating "
                         f"{kept[0].dropped_with} left "
                         f"{', '.join(dict.fromkeys(n.path for n in kept))} a source")
        return f" ({'; '.join(notes)})" if notes else ""

    def lookup(self, calc: Calculation, inputs: dict[str, Any], path: str,
               orphans_possible: bool) -> Lookup:
        """The expectation for a node of `calc` with `inputs` created now at `path`."""
        key, exact = self.keys(inputs)
        found = self._lookup(calc, inputs, path, orphans_possible, key, exact)
        found.expectation = replace(found.expectation, inputs=inputs)
        found.key, found.exact = key, exact
        return found

    def _lookup(self, calc: Calculation, inputs: dict[str, Any], path: str,
                orphans_possible: bool, key: str | None, exact: str | None) -> Lookup:
        enabled = caching_enabled(self.config, calc.name) and calc.cacheable
        exercised: set[str] = set()
        if self.config is not None and (self.config.enabled or self.config.disabled):
            self._seen_under_config.add(enabled)
            if len(self._seen_under_config) == 2:
                exercised.add("K7")
        same_type = [n for n in self.nodes if n.calc.name == calc.name
                     and n.calc.version == calc.version]
        if key is None:
            hit = None if enabled and same_type else False
            return Lookup(CacheExpectation(path, calc.name, hit, (), enabled,
                                           reason="inputs not predictable"), [], exercised)
        equal = [n for n in same_type if n.key == key]
        valid = [n for n in equal if self._valid(n)]
        certain = [n for n in valid if n.certain]
        rejected = [n for n in equal if not self._valid(n)]
        if enabled and (rejected or any(n.calc.exit_status for n in valid)):
            exercised.add("K3")
        rules = self._rules(equal, orphans_possible) if enabled else ()
        exercised.update({"caching_config_applies": "K7", "invalidation_scope": "K3"}[
            rule.partition("=")[0]] for rule in rules)
        if enabled and any(n.exact != exact for n in same_type):
            exercised.add("K4")
        if enabled and any(n.calc.name != calc.name and n.exact == exact and self._valid(n)
                           for n in self.nodes):
            exercised.add("K8")
        if not enabled:
            if valid:
                exercised.add("K6")
            why = "caching is off for this type" if calc.cacheable else "type not cacheable"
            return Lookup(CacheExpectation(path, calc.name, False, (), False, reason=why),
                          [], exercised)
        sources = tuple(dict.fromkeys(n.path for n in valid))
        if certain:
            via = all(n.exact != exact for n in valid)
            exercised.update({"K1", "K2"})
            reason = "an equal, valid source exists"
            if via:
                reason += " only through a declared hash normalisation"
            reason += self._kept_by_rule(valid, rules)
            return Lookup(CacheExpectation(path, calc.name, True, sources, True, via, reason,
                                           rules=rules), valid, exercised)
        if valid or orphans_possible:
            return Lookup(CacheExpectation(
                path, calc.name, None, sources, True,
                reason="the only sources are nodes whose state the model cannot know"
                + self._kept_by_rule(valid, rules), rules=rules),
                valid, exercised)
        reason = "no earlier equal node" if not rejected else "no valid source: " + "; ".join(
            self._rejection(n) for n in rejected)
        return Lookup(CacheExpectation(path, calc.name, False, (), True, reason=reason,
                                       rules=rules), [], exercised)

    def invalidate(self, path: str) -> None:
        """Invalidate the node at `path`; mark the nodes that share its stored result
        (equal type, version and key), which `per_stored_result` also drops."""
        targets = [node for node in self.nodes if node.path == path]
        for node in targets:
            node.invalidated = True
        for node in targets:
            for other in self.nodes:
                if node.key is not None and other.key == node.key and not other.invalidated \
                        and other.dropped_with is None and other.calc.name == node.calc.name \
                        and other.calc.version == node.calc.version:
                    other.dropped_with = path
