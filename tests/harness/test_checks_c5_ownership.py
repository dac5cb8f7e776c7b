"""C5 judged from the engine's own record of claims and commits (``ownership`` lines).

The journal of these runs shows no overlap at all: the stale worker's effect ended
before the new holder's began. Only the record says who advanced the process, so each
failing test here fails if ``check_c5`` stops reading it.
"""

from __future__ import annotations

import json
from typing import Any

from harness.adapter import Ownership
from harness.checks.continuation import check_c5
from harness.checks.result import FAIL, PASS
from harness.history import History, ownership_record
from tests.harness.histories import Hist

SCENARIO = "c5_stale_commit_refused_after_takeover"


def takeover_run() -> Hist:
    """Steps(7): w1's lease on s1 runs out, w2 takes the task over and runs s1 again."""
    h = Hist(SCENARIO).launch("A", "1")
    h.add("fault", source="nemesis", fault="expire_lease", status="fired", at_effect=1,
          entry=1, key="A/s1", worker=1, taken_over_by="w2")
    h.effect("A/s1", "1", worker=1)
    h.effect("A/s1", "1", worker=2)
    h.effect("A/s2", "1", worker=2)
    h.effect("A/s3", "1", worker=2)
    return h.wf("1", "A", "Steps", outputs={"out": 7}).terminal("1")


def claim(owner: str, version: int | None = None) -> Ownership:
    return Ownership("1", "claim", owner, version)


def commit(owner: str, version: int | None = None, accepted: bool = True) -> Ownership:
    return Ownership("1", "commit", owner, version, accepted, "commit_transition")


def with_record(h: Hist, record: list[Ownership] | None) -> History:
    """``h``'s history plus the engine's record (None: the adapter offers none)."""
    raw: list[dict[str, Any]] = [json.loads(line.text) for line in h.history().lines]
    raw[0]["ownership"] = record is not None
    first_process = next(i for i, r in enumerate(raw) if r["type"] == "process")
    raw[first_process:first_process] = [ownership_record(o) for o in record or ()]
    return History.from_records(raw)


def c5(h: Hist, record: list[Ownership] | None) -> Any:
    return check_c5(h.scenario, h.expectation, with_record(h, record))


STALE_ACCEPTED = [claim("w1", 1), claim("w2", 2), commit("w1", 1), commit("w2", 2),
                  claim("w2", 4), commit("w2", 4)]


def test_a_refused_stale_commit_after_a_takeover_passes_c5() -> None:
    record = [claim("w1", 1), claim("w2", 2), commit("w1", 1, accepted=False),
              commit("w2", 2), claim("w2", 4), commit("w2", 4)]
    result = c5(takeover_run(), record)
    assert result.verdict == PASS, result.sentence
    assert "2 accepted commit(s) coming from the latest of 3 claim(s)" in result.sentence


def test_a_stale_commit_accepted_after_a_takeover_fails_c5_with_a_three_line_witness() -> None:
    result = c5(takeover_run(), STALE_ACCEPTED)
    assert result.verdict == FAIL
    assert result.sentence.startswith(
        "process 1: the engine accepted w1's commit at version 1 after w2 claimed it at "
        "version 2")
    assert len(result.witness) == 3
    first, taken, stale = (json.loads(line) for line in result.witness)
    assert (first["owner"], first["action"]) == ("w1", "claim")
    assert (taken["owner"], taken["action"]) == ("w2", "claim")
    assert (stale["owner"], stale["accepted"]) == ("w1", True)


def test_without_versions_the_order_of_claims_shows_the_stale_commit() -> None:
    record = [claim("w1"), claim("w2"), commit("w1"), commit("w2")]
    result = c5(takeover_run(), record)
    assert result.verdict == FAIL
    assert "accepted w1's commit after w2 claimed it" in result.sentence


def test_a_commit_from_a_superseded_version_of_the_same_owner_fails_c5() -> None:
    record = [claim("w1", 1), claim("w1", 2), commit("w1", 1), commit("w1", 2)]
    result = c5(takeover_run(), record)
    assert result.verdict == FAIL
    assert "at version 1 after w1 claimed it at version 2" in result.sentence


def test_one_claim_advancing_the_process_twice_fails_c5() -> None:
    again = Ownership("1", "commit", "w1", 1, True, "except_process")
    record = [claim("w1", 1), commit("w1", 1), again]
    result = c5(takeover_run(), record)
    assert result.verdict == FAIL
    assert "w1 advanced it twice from one claim at version 1" in result.sentence
    assert len(result.witness) == 3


def test_without_the_engine_record_c5_judges_the_journal_only_and_says_so() -> None:
    result = c5(takeover_run(), None)
    assert result.verdict == PASS
    assert "judged from the journal only" in result.sentence


def test_the_journal_alone_cannot_see_the_stale_commit_that_the_record_shows() -> None:
    h = takeover_run()
    assert c5(h, None).verdict == PASS
    assert c5(h, STALE_ACCEPTED).verdict == FAIL
