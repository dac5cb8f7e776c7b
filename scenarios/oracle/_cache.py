"""The oracle's model of cache sources and lookups (K1..K8).

A calculation node is a candidate source for a later node iff it has the same type name
and version, its normalised input key is equal, and it is valid: finished, not
invalidated, and allowed by the engine's failed-source policy. The lookup happens once,
when the node is created (all children of a step are created before any of them runs),
against the nodes that exist at that moment. Nodes whose existence or final state the
model cannot be sure of (orphans, nodes of a launch that may have been killed) are
*possible* sources: they can make a hit possible, never certain.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from scenarios.capabilities import Capabilities
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

    def _valid(self, node: Node) -> bool:
        return (node.state == "finished" and not node.invalidated
                and self.capabilities.source_allowed(node.calc.exit_status,
                                                     node.calc.invalidates_cache))

    def _rejection(self, node: Node) -> str:
        if node.state != "finished":
            return f"{node.path} is {node.state}"
        if node.invalidated:
            return f"{node.path} was invalidated"
        return (f"{node.path} failed with exit status {node.calc.exit_status} "
                f"(policy {self.capabilities.failed_source_policy})")

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
            return Lookup(CacheExpectation(path, calc.name, True, sources, True, via, reason),
                          valid, exercised)
        if valid or orphans_possible:
            return Lookup(CacheExpectation(
                path, calc.name, None, sources, True,
                reason="the only sources are nodes whose state the model cannot know"),
                valid, exercised)
        reason = "no earlier equal node" if not rejected else "no valid source: " + "; ".join(
            self._rejection(n) for n in rejected)
        return Lookup(CacheExpectation(path, calc.name, False, (), True, reason=reason),
                      [], exercised)

    def invalidate(self, path: str) -> None:
        for node in self.nodes:
            if node.path == path:
                node.invalidated = True
