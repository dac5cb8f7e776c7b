"""Capability sets are checked when declared, and calculations compute one agreed result."""

from __future__ import annotations

import pytest

from scenarios import (
    Calculation,
    Capabilities,
    InvalidScenarioError,
    calculation_output_names,
    digest,
    evaluate_calculation,
)


def test_everything_promises_every_clause_and_every_crashpoint():
    caps = Capabilities.everything()
    assert len(caps.promised) == 22 and len(caps.crashpoints) == 5
    assert caps.failed_source_policy == "allow_unless_invalidating"


@pytest.mark.parametrize(("field", "value", "match"), [
    ("promised", {"C9"}, "C9"),
    ("failed_source_policy", "sometimes", "declare the engine's policy"),
    ("hash_normalisations", {"round_everything"}, "round_everything"),
    ("crashpoints", {"mid_air"}, "mid_air"),
    ("tiers", "sim", "a set of strings"),
])
def test_bad_declarations_are_rejected_naming_the_field(field, value, match):
    fields = {"promised": frozenset(), "failed_source_policy": "never",
              "hash_normalisations": frozenset(), "crashpoints": frozenset(),
              "tiers": frozenset()}
    fields[field] = value
    with pytest.raises(InvalidScenarioError, match=match) as caught:
        Capabilities(**fields)
    assert field in caught.value.field


def test_failed_source_policy_decides_which_failed_nodes_are_sources():
    caps = Capabilities.everything()
    assert caps.source_allowed(0, False)
    assert caps.source_allowed(410, False)
    assert not caps.source_allowed(320, True)


def test_add_sums_ints_and_floats_but_not_booleans_or_text():
    add = Calculation("add", "add")
    assert evaluate_calculation(add, {"x": 1, "y": 2}) == {"sum": 3}
    assert type(evaluate_calculation(add, {"x": 1, "y": 2})["sum"]) is int
    assert evaluate_calculation(add, {"x": 1, "y": True, "z": "5", "w": 0.5}) == {"sum": 1.5}
    assert evaluate_calculation(add, {}) == {"sum": 0}


def test_echo_returns_copies_of_its_inputs():
    value = {"v": [1, {"a": None}]}
    out = evaluate_calculation(Calculation("echo", "echo"), value)
    assert out == value and out["v"] is not value["v"]


def test_digest_distinguishes_typed_values_and_ignores_dict_order():
    calc = Calculation("digest", "digest")
    outs = {evaluate_calculation(calc, {"v": v})["digest"] for v in (1, 1.0, True, "1")}
    assert len(outs) == 4
    assert evaluate_calculation(calc, {"a": 1, "b": 2}) == evaluate_calculation(
        calc, {"b": 2, "a": 1}) == {"digest": digest({"a": 1, "b": 2})}


def test_output_names_are_known_before_running():
    assert calculation_output_names("add", ["x"]) == ("sum",)
    assert calculation_output_names("echo", ["x", "y"]) == ("x", "y")
    assert calculation_output_names("digest", []) == ("digest",)
