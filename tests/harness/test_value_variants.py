"""Every near pair of typed values: the reference engine keeps it apart, and a broken hash
that conflates it fails its clause on the catalog scenario `k4_typed_near_pairs` (also
part of `selftest`, see test_broken_variants_sim). That `wfconform fuzz --tier sim` finds
each variant by itself, on 3 seeds of 3, is test_value_variants_fuzz.
"""

from __future__ import annotations

import pytest

from harness.adapters import load_adapter
from harness.adapters.broken_reference import VARIANTS
from harness.adapters.broken_reference_values import VALUE_BUGS
from harness.adapters.reference_arrays import to_engine
from harness.runner import run_scenario
from reference_engine.core.hashing import canonical_bytes
from scenarios import by_name
from scenarios._near_pairs import PAIR_EXAMPLES

pytestmark = pytest.mark.simulation



def test_the_reference_engine_hashes_every_pair_apart_and_the_equal_sets_alike() -> None:
    for kind, (left, right) in PAIR_EXAMPLES.items():
        same = canonical_bytes(to_engine({"v": left})) == canonical_bytes(to_engine({"v": right}))
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
