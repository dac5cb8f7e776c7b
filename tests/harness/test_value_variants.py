"""Every near pair of typed values: the reference engine keeps it apart, a broken hash
that conflates it is caught, by the catalog and by `wfconform fuzz --tier sim`.

Three forms, by cost:

- the catalog scenario `k4_typed_near_pairs` fails each variant's clause and passes the
  reference engine (also part of `selftest`, see test_broken_variants_sim);
- CI form of the fuzz claim: for each of 3 campaign seeds, the seeded generator that
  `fuzz` runs reaches, within `CI_INDEX_BOUND` scenarios, one on which the variant fails
  its clause (the candidate is found with the oracle, then really run on the sim tier);
  so the campaign catches it within that many scenarios. Fails if a variant is not caught;
- full form (deep profile only, `WFCONFORM_HYPOTHESIS_PROFILE=deep`): the real `fuzz`
  campaign, 3 seeds of 3, each caught within 30 s.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.adapters import load_adapter
from harness.adapters.broken_reference import VARIANTS
from harness.adapters.broken_reference_values import VALUE_BUGS, ValueBug, _rewrite
from harness.failures import FailureHandler
from harness.fuzz import FuzzOptions, fuzz
from harness.runner import RunOptions, run_scenario
from harness.seeds import Stream, seeded_scenarios
from harness.sources import knobs_for
from reference_engine.core.hashing import canonical_bytes
from scenarios import by_name, expect
from scenarios._near_pairs import PAIR_EXAMPLES
from scenarios.scenario import Scenario
from scenarios.values import canonical

pytestmark = pytest.mark.simulation

SEEDS = (101, 202, 303)
"""Campaign seeds, spaced so that their `generate(seed + i)` runs do not overlap."""
CI_INDEX_BOUND = 1000
"""Scenarios a campaign may need before it catches a variant (CI form)."""
BUDGET = 30.0
DEEP = os.environ.get("WFCONFORM_HYPOTHESIS_PROFILE") == "deep"


def test_the_reference_engine_hashes_every_pair_apart_and_the_equal_sets_alike() -> None:
    for kind, (left, right) in PAIR_EXAMPLES.items():
        same = canonical_bytes({"v": left}) == canonical_bytes({"v": right})
        assert same is (kind == "set_order"), kind


def test_the_reference_engine_passes_the_near_pair_scenario() -> None:
    run = run_scenario(load_adapter("reference", "sim"), by_name("k4_typed_near_pairs"))
    assert run.status == "ran" and run.failed() == (), run.failed()
    verdicts = {r.clause: r.verdict for r in run.results}
    assert verdicts["K4"] == "pass" and verdicts["K5"] == "pass"


def test_every_pair_kind_has_a_variant_in_the_selftest_catalog() -> None:
    assert {bug.pair for bug in VALUE_BUGS.values()} == set(PAIR_EXAMPLES) - {"signed_zero"}
    for name, bug in VALUE_BUGS.items():
        assert VARIANTS[name].catches == "k4_typed_near_pairs"
        assert VARIANTS[name].breaks == {bug.clause}


@pytest.mark.parametrize("name", list(VALUE_BUGS))
def test_each_value_variant_fails_its_clause_on_the_near_pair_scenario(name: str) -> None:
    run = run_scenario(load_adapter(VARIANTS[name].spec, "sim"), by_name("k4_typed_near_pairs"))
    failed = {r.clause: r for r in run.failed()}
    assert VALUE_BUGS[name].clause in failed, (name, sorted(failed))
    if VALUE_BUGS[name].clause == "K4":  # the witness names the pair and the path
        assert "although its inputs differ at inputs['v']" in failed["K4"].sentence


def _exposes(bug: ValueBug, cache: list[Any]) -> bool:
    """Whether the variant's hash changes an oracle cache decision (`cache`: a scenario's
    expectations with caching on): two lookups of one type whose inputs differ but whose
    rewritten inputs are equal (K4), or the reverse (K5). A cheap filter; the candidate
    is then really run."""

    def seen(inputs: Any) -> str:
        return canonical({k: _rewrite(v, bug, 1, False) for k, v in dict(inputs).items()})

    for later in cache:
        if later.hit is None:
            continue
        for earlier in cache:
            if earlier is later or earlier.calc != later.calc:
                continue
            same = canonical(dict(earlier.inputs)) == canonical(dict(later.inputs))
            if same != (seen(earlier.inputs) == seen(later.inputs)) and later.hit is same:
                return True
    return False


_CAPS: list[Any] = []


def load_caps() -> Any:
    if not _CAPS:
        _CAPS.append(load_adapter("reference", "sim")().capabilities())
    return _CAPS[0]


def _campaign(seed: int) -> Iterator[tuple[int, Scenario, list[Any]]]:
    """The scenarios `fuzz --seed seed` runs first, with their cache expectations."""
    knobs = knobs_for(load_adapter("reference", "sim")(), 8)
    for index, (_, scenario) in enumerate(seeded_scenarios(Stream(seed), knobs)):
        if index >= CI_INDEX_BOUND:
            return
        cache = [c for c in expect(scenario, load_caps()).cache.values()
                 if c.inputs is not None and c.caching_enabled]
        yield index, scenario, cache


_SCENARIOS: dict[int, list[tuple[int, Scenario, list[Any]]]] = {}


def _scenarios(seed: int) -> list[tuple[int, Scenario, list[Any]]]:
    """`_campaign(seed)`, drawn once per process for all variants (generation and the
    oracle are seeded: every variant walks the same scenarios)."""
    if seed not in _SCENARIOS:
        _SCENARIOS[seed] = list(_campaign(seed))
    return _SCENARIOS[seed]


@pytest.mark.parametrize("name", list(VALUE_BUGS))
def test_each_value_variant_is_caught_early_in_three_fuzz_campaigns_of_three(name: str) -> None:
    """CI form: the campaign reaches a catching scenario within CI_INDEX_BOUND draws."""
    bug, variant = VALUE_BUGS[name], VARIANTS[name]
    caught = {}
    for seed in SEEDS:
        for index, scenario, cache in _scenarios(seed):
            if not _exposes(bug, cache):
                continue
            run = run_scenario(load_adapter(variant.spec, "sim"), scenario)
            if {r.clause for r in run.failed()} & variant.breaks:
                caught[seed] = index
                break
    assert sorted(caught) == list(SEEDS), (name, caught)


@pytest.mark.slow
@pytest.mark.skipif(not DEEP, reason="full 30 s fuzz form: WFCONFORM_HYPOTHESIS_PROFILE=deep "
                    "(the CI form above checks the same campaigns)")
@pytest.mark.parametrize("name", list(VALUE_BUGS))
def test_each_value_variant_is_caught_by_fuzz_within_30_s_on_three_seeds_of_three(
        name: str, tmp_path: Path) -> None:
    variant = VARIANTS[name]
    factory = load_adapter(variant.spec, "sim")
    for seed in SEEDS:
        handler = FailureHandler(factory, RunOptions(), factory().capabilities().promised,
                                 variant.spec, "sim", tmp_path / str(seed), shrink_budget=0)
        started = time.monotonic()
        stats = fuzz(factory, FuzzOptions(max_time=BUDGET, seed=seed, shrink_time=0,
                                          max_failures=1), handler)
        failed = {r.clause for f in stats.failures for r in f.run.failed()}
        assert failed & variant.breaks, (name, seed, stats.scenarios, failed)
        assert time.monotonic() - started < BUDGET + 5, (name, seed)
