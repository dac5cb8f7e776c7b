"""Which clause a failing run is "about": every clause has a place in the order.

A Prefect campaign (2026-12-04, ``fuzz --engine prefect --tier key-fn --seed
2026120504``) failed P2, which ``ROOT_CAUSE_ORDER`` did not list: ``fuzz`` died with a
bare StopIteration instead of shrinking and writing the failure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from harness.checks import ALL_CLAUSES
from harness.failures import ROOT_CAUSE_ORDER, failing_clauses, target_clause


def test_every_clause_has_a_place_in_the_root_cause_order_once() -> None:
    assert sorted(ROOT_CAUSE_ORDER) == sorted(ALL_CLAUSES)


@dataclass
class _Row:
    clause: str


@dataclass
class _Scenario:
    clause: str


class _Run:
    """The two things ``target_clause`` reads of a ScenarioRun (pure logic)."""

    def __init__(self, own: str, failed: list[str]) -> None:
        self.scenario = _Scenario(own)
        self._failed = failed

    def failed(self, promised: frozenset[str]) -> list[Any]:
        return [_Row(c) for c in self._failed if c in promised]


@pytest.mark.parametrize("clause", sorted(ALL_CLAUSES))
def test_a_run_failing_only_one_clause_is_about_that_clause(clause: str) -> None:
    run = _Run("C1" if clause != "C1" else "C2", [clause])
    assert target_clause(run, frozenset(ALL_CLAUSES)) == clause  # type: ignore[arg-type]
    assert failing_clauses(run, frozenset(ALL_CLAUSES)) == (clause,)  # type: ignore[arg-type]


def test_a_clause_outside_the_order_is_still_reported_not_a_crash() -> None:
    run = _Run("C1", ["X9", "L1"])
    promised = frozenset({"X9", "L1"})
    assert target_clause(run, promised) == "L1"  # type: ignore[arg-type]
    assert target_clause(_Run("C1", ["X9"]), promised) == "X9"  # type: ignore[arg-type]
    assert failing_clauses(run, promised) == ("L1", "X9")  # type: ignore[arg-type]
