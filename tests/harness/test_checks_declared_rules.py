"""K3 and K7 judge the caching rules an engine declares, and name them (issue 18, point 7).

The reference engine keeps every node's hash (the configuration applies at lookup) and
invalidates one node at a time. Run on the sim tier with those rules declared, it passes
the two catalog scenarios written for the rules; declared the other way, it must fail
exactly the clause that owns the rule, with a sentence that names the declared rule and
says the inputs were equal, and never a hash clause (K1, K4, K5) for the same fact. The
broken variants ``hash_kept_only_when_caching_on`` and ``invalidation_drops_equal_nodes``
(``tests/harness/test_broken_variants*.py``) check the other direction: an engine that
breaks the default rule it declares.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from harness.adapters.reference_sim import SimReferenceAdapter
from harness.checks.result import FAIL, PASS
from harness.runner import RunOptions, ScenarioRun, run_scenario
from scenarios import Capabilities
from scenarios.catalog import by_name

pytestmark = pytest.mark.simulation

K7_SCENARIO = "k7_configuration_applies_as_declared"
K3_SCENARIO = "k3_invalidation_reaches_as_declared"


class Declaring(SimReferenceAdapter):
    """The sim reference engine, declaring rules it may not keep."""

    def __init__(self, **rules: str) -> None:
        super().__init__()
        self.rules = rules

    def capabilities(self) -> Capabilities:
        return replace(super().capabilities(), **self.rules)


def run(name: str, **rules: str) -> ScenarioRun:
    result = run_scenario(lambda: Declaring(**rules), by_name(name),
                          RunOptions(chaos_timeout=10.0, heal_timeout=5.0))
    assert result.status == "ran", result.reasons
    return result


def failed(result: ScenarioRun) -> dict[str, str]:
    return {r.clause: r.sentence for r in result.results if r.verdict == FAIL}


@pytest.mark.parametrize(("name", "clause", "rule"), [
    (K7_SCENARIO, "K7", "caching_config_applies=at_lookup"),
    (K3_SCENARIO, "K3", "invalidation_scope=per_node"),
])
def test_the_engines_own_rules_pass_and_the_pass_names_the_rule(name: str, clause: str,
                                                                 rule: str) -> None:
    result = run(name)
    assert failed(result) == {}
    verdict = next(r for r in result.results if r.clause == clause)
    assert verdict.verdict == PASS and f"decided by the declared rule {rule}" in verdict.sentence


def test_a_declared_at_launch_rule_fails_k7_alone_when_a_node_run_with_caching_off_serves(
        ) -> None:
    sentences = failed(run(K7_SCENARIO, caching_config_applies="at_launch"))
    assert set(sentences) == {"K7"}, sentences
    assert "B/add_xy/0:add (process" in sentences["K7"]
    assert "although the model wants a miss: the inputs are equal, but no valid source: " \
        "A/add_xy/0:add ran while caching was off for add (by the declared rule " \
        "caching_config_applies=at_launch, it kept no result)" in sentences["K7"]
    assert "inputs differ" not in sentences["K7"]


def test_a_declared_per_stored_result_rule_fails_k3_alone_when_a_hit_of_the_invalidated_node_serves(
        ) -> None:
    sentences = failed(run(K3_SCENARIO, invalidation_scope="per_stored_result"))
    assert set(sentences) == {"K3"}, sentences
    assert "C/add_xy/0:add (process" in sentences["K3"]
    assert "hit B/add_xy/0:add" in sentences["K3"]
    assert "by the declared rule invalidation_scope=per_stored_result" in sentences["K3"]
    assert "inputs differ" not in sentences["K3"]
