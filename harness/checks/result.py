"""What a check returns, and how results merge over scenarios.

Verdicts follow Jepsen: a check that finds a violation says ``fail`` with the few
history lines that prove it; one that cannot decide (or crashes) says ``unknown``;
``pass`` needs evidence. Merging over scenarios is fail > pass > unknown: one violation
fails the clause; a clause that held wherever a scenario could decide it passes, and the
merged sentence counts the scenarios that could not decide (290 passes and 4 undecided
read "pass", not "unknown": the undecided ones are not evidence against it); a clause no
scenario decided is ``unknown``, never ``pass``. (Jepsen's false > unknown > true is
for checkers of one history; these are independent scenarios.) ``not_promised`` is applied last,
from the engine's declaration.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "FAIL",
    "NOT_PROMISED",
    "PASS",
    "UNKNOWN",
    "VERDICTS",
    "ClauseResult",
    "merge_results",
]

PASS = "pass"
FAIL = "fail"
UNKNOWN = "unknown"
NOT_PROMISED = "not_promised"
VERDICTS = (PASS, FAIL, UNKNOWN, NOT_PROMISED)
_RANK = {FAIL: 3, PASS: 2, UNKNOWN: 1}


@dataclass(frozen=True)
class ClauseResult:
    """One clause's verdict on one scenario's history.

    ``witness`` holds history lines verbatim (JSONL text) that prove a failure;
    ``sentence`` says in one line what happened; ``exercised`` is False when the
    scenario was not written to test this clause and nothing went wrong, so the result
    carries no weight in the merge (a violation always counts, exercised or not);
    ``loose`` counts the effect keys whose extra runs passed only because a broker or
    database fault could have caused them (a pass on a loose bound, not an exact one).
    """

    clause: str
    verdict: str
    witness: tuple[str, ...] = ()
    sentence: str = ""
    exercised: bool = True
    scenario: str = ""
    loose: int = 0

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict {self.verdict!r} is not one of {VERDICTS}")

    @property
    def counts(self) -> bool:
        """Whether this result takes part in the merge over scenarios."""
        return self.verdict == FAIL or self.exercised

    def to_dict(self) -> dict[str, object]:
        return {"clause": self.clause, "verdict": self.verdict, "witness": list(self.witness),
                "sentence": self.sentence, "exercised": self.exercised,
                "scenario": self.scenario, "loose": self.loose}


def merge_results(clause: str, results: Iterable[ClauseResult]) -> ClauseResult:
    """fail > pass > unknown over the results that count; nothing counted -> unknown.

    The merged result keeps the witness and sentence of the deciding scenario and
    names, in ``scenario``, every scenario with that verdict (comma-separated); a pass
    says how many scenarios could not decide (and why the first could not).
    """
    counted = [r for r in results if r.counts]
    if not counted:
        return ClauseResult(clause, UNKNOWN, sentence="no scenario exercised this clause")
    worst = max(_RANK[r.verdict] for r in counted)
    deciding = [r for r in counted if _RANK[r.verdict] == worst]
    first = deciding[0]
    names = ", ".join(dict.fromkeys(r.scenario for r in deciding if r.scenario))
    sentence = first.sentence
    undecided = [r for r in counted if r.verdict == UNKNOWN]
    if first.verdict == PASS and undecided:
        sentence = (f"{sentence} [held in {len(deciding)} scenario(s); {len(undecided)} "
                    f"could not decide it, e.g. {undecided[0].sentence}]")
    return ClauseResult(clause, first.verdict, first.witness, sentence, True, names)
