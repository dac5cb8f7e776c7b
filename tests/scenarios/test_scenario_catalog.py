"""The catalog names a scenario for every clause, with stable names, each exercising it."""

from __future__ import annotations

import re

import pytest

from scenarios import (
    ALL_CLAUSES,
    CATALOG,
    CLAUSES,
    Capabilities,
    UnknownNameError,
    by_name,
    expect,
)


def test_every_clause_has_at_least_one_catalog_scenario():
    assert {s.clause for s in CATALOG} == set(ALL_CLAUSES)


def test_catalog_names_are_unique_stable_identifiers():
    names = [s.name for s in CATALOG]
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", name) for name in names)
    assert {"c1_kill_while_waiting_keeps_id", "add_three_numbers_relaunch_cached",
            "add_three_numbers_relaunch_uncached"} <= set(names)


@pytest.mark.parametrize("scenario", CATALOG, ids=lambda s: s.name)
def test_each_catalog_scenario_is_valid_described_and_exercises_its_clause(scenario):
    scenario.validate()
    assert scenario.description
    expectation = expect(scenario, Capabilities.everything())
    assert scenario.clause in expectation.exercises
    assert not expectation.undecided


def test_by_name_finds_a_scenario_and_lists_the_names_when_it_does_not():
    assert by_name("k8_types_never_hit_each_other").clause == "K8"
    with pytest.raises(UnknownNameError, match="c1_kill_while_waiting_keeps_id"):
        by_name("c1_kill")


def test_every_clause_has_a_one_line_description():
    assert tuple(CLAUSES) == ALL_CLAUSES
    assert ALL_CLAUSES == ("C1", "C2", "C3", "C4", "C5", "C6", "N1", "N2", "N3", "N4", "K1",
                           "K2", "K3", "K4", "K5", "K6", "K7", "K8", "L1", "L2", "P1", "P2")
    assert all(text and "\n" not in text for text in CLAUSES.values())
