"""One pure check per clause: ``(scenario, expectation, history) -> ClauseResult``.

``CHECKS`` maps clause ids (C1..P2, DESIGN.md section 1) to their functions;
``run_checks`` runs them all and turns a crashing check into ``unknown`` (never pass).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from harness.checks.caching import (
    check_k1,
    check_k2,
    check_k3,
    check_k4,
    check_k5,
    check_k6,
    check_k7,
    check_k8,
)
from harness.checks.continuation import (
    check_c1,
    check_c2,
    check_c3,
    check_c4,
    check_c5,
    check_c6,
)
from harness.checks.instances import check_n1, check_n2, check_n3, check_n4
from harness.checks.liveness import check_l1, check_l2, check_p1, check_p2
from harness.checks.result import (
    FAIL,
    NOT_PROMISED,
    PASS,
    UNKNOWN,
    VERDICTS,
    ClauseResult,
    merge_results,
)
from harness.history import History
from scenarios.capabilities import ALL_CLAUSES
from scenarios.oracle.expectation import Expectation
from scenarios.scenario import Scenario

__all__ = [
    "CHECKS",
    "FAIL",
    "NOT_PROMISED",
    "PASS",
    "UNKNOWN",
    "VERDICTS",
    "Check",
    "ClauseResult",
    "merge_results",
    "run_checks",
]

Check = Callable[[Scenario, Expectation, History], ClauseResult]

CHECKS: Mapping[str, Check] = {
    "C1": check_c1, "C2": check_c2, "C3": check_c3, "C4": check_c4, "C5": check_c5,
    "C6": check_c6, "N1": check_n1, "N2": check_n2, "N3": check_n3, "N4": check_n4,
    "K1": check_k1, "K2": check_k2, "K3": check_k3, "K4": check_k4, "K5": check_k5,
    "K6": check_k6, "K7": check_k7, "K8": check_k8, "L1": check_l1, "L2": check_l2,
    "P1": check_p1, "P2": check_p2,
}
assert tuple(CHECKS) == ALL_CLAUSES, "one check per clause, in matrix order"


def run_checks(scenario: Scenario, expectation: Expectation, history: History,
               clauses: Iterable[str] = ALL_CLAUSES) -> tuple[ClauseResult, ...]:
    """Every clause's verdict on one history; a check that raises reports ``unknown``."""
    results = []
    for clause in clauses:
        try:
            result = CHECKS[clause](scenario, expectation, history)
        except Exception as error:  # Jepsen's rule: a crashed checker is unknown, not pass
            result = ClauseResult(clause, UNKNOWN, (),
                                  f"the check crashed: {type(error).__name__}: {error}",
                                  True, scenario.name)
        results.append(result)
    return tuple(results)
