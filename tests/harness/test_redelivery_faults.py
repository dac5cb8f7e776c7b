"""Lease expiry and duplicate delivery land on sim and embedded: a redelivery to a live worker.

Each fault hands the task of the body that wrote journal entry k to another worker while
the first still runs it; the first worker's commit then comes after the takeover and the
correct engine refuses it. The proof is in the engine's own record (``ownership`` lines):
a claim by another owner between the holder's claim and its commit.
"""

from __future__ import annotations

from typing import Any

import pytest

from harness.adapter import Ownership, offers
from harness.adapters import load_adapter
from harness.adapters.reference_sim import SimReferenceAdapter
from harness.checks.result import PASS
from harness.contract import CheckedAdapter
from harness.errors import ContractError
from harness.history import History
from harness.runner import RunOptions, run_scenario
from scenarios import describe_fault, generate
from scenarios.catalog import by_name
from scenarios.faults import DuplicateDelivery, ExpireLease
from scenarios.scenario import Scenario

SCENARIO = "c5_stale_commit_refused_after_takeover"


def _takeovers(history: History) -> list[tuple[str, str]]:
    """(holder, taker): a claim by another owner while the holder's claim had no commit."""
    found = []
    open_claim: dict[str, str] = {}  # process -> owner of a claim not yet committed
    for line in history.of("ownership"):
        pid, owner = str(line["process"]), str(line["owner"])
        if line["action"] == "claim":
            holder = open_claim.get(pid)
            if holder is not None and holder != owner:
                found.append((holder, owner))
            open_claim[pid] = owner
        elif line["accepted"]:
            open_claim.pop(pid, None)
    return found


def _fired(history: History) -> list[Any]:
    return [line for line in history.of("fault") if line.get("status") == "fired"]


@pytest.mark.simulation
def test_both_faults_land_on_the_sim_tier_and_the_stale_commits_are_refused() -> None:
    run = run_scenario(load_adapter("reference", "sim"), by_name(SCENARIO))
    assert run.status == "ran" and run.history is not None
    assert [f["fault"] for f in _fired(run.history)] == ["expire_lease", "duplicate_delivery"]
    assert run.history.meta["ownership"] is True
    taken = _takeovers(run.history)
    assert len(taken) == 2
    refused = [(str(line["owner"])) for line in run.history.of("ownership")
               if line["action"] == "commit" and not line["accepted"]]
    assert refused == [holder for holder, _ in taken]  # each stale commit was refused
    assert {r.clause: r.verdict for r in run.results}["C5"] == PASS


@pytest.mark.embedded
def test_both_faults_land_on_the_embedded_tier_through_the_task_table() -> None:
    run = run_scenario(load_adapter("reference", "embedded"), by_name(SCENARIO),
                       RunOptions(chaos_timeout=20.0, heal_timeout=10.0))
    assert run.status == "ran" and run.history is not None
    fired = _fired(run.history)
    assert [f["fault"] for f in fired] == ["expire_lease", "duplicate_delivery"]
    assert all(f["taken_over_by"] for f in fired), [f.text for f in fired]
    owners = {str(line["owner"]) for line in run.history.of("ownership")}
    assert {f["taken_over_by"] for f in fired} <= owners
    assert [taker for _, taker in _takeovers(run.history)] == [
        f["taken_over_by"] for f in fired]
    failed = [(r.clause, r.sentence) for r in run.results if r.verdict == "fail"]
    assert failed == []


def test_the_faults_round_trip_through_json_and_read_as_sentences() -> None:
    scenario = by_name(SCENARIO)
    assert Scenario.from_dict(scenario.to_dict()) == scenario
    assert describe_fault(ExpireLease(1)).startswith("expire the lease of the worker at entry 1")
    assert "again, to another worker" in describe_fault(DuplicateDelivery(3))


def test_the_generator_draws_the_new_faults_when_asked_for_them() -> None:
    kinds = frozenset({"expire_lease", "duplicate_delivery"})
    drawn = {type(f) for seed in range(40) for f in generate(seed, fault_kinds=kinds).faults}
    assert drawn == {ExpireLease, DuplicateDelivery}


class _OldAdapter(SimReferenceAdapter):
    """An adapter written before the optional operations: it says yes to any name."""

    # None: no such methods, as on an adapter written before them
    expire_lease = duplicate_delivery = ownership = None  # type: ignore[assignment]  # see above


def test_an_adapter_without_the_optional_methods_is_not_offered_them() -> None:
    old = _OldAdapter()
    assert old.supports("ownership")  # what it answers for a name it never heard of
    for operation in ("ownership", "expire_lease", "duplicate_delivery"):
        assert not offers(old, operation)
        assert not CheckedAdapter(old).supports(operation)
    assert offers(SimReferenceAdapter(), "ownership")


def test_the_contract_names_a_record_that_is_not_an_ownership_entry() -> None:
    class Bad(SimReferenceAdapter):
        def ownership(self) -> tuple[Ownership, ...]:
            return ({"process": "1"},)  # type: ignore[return-value]  # the breach tested

    with pytest.raises(ContractError, match="Ownership items"):
        CheckedAdapter(Bad()).ownership()
