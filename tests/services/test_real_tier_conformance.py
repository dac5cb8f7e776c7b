"""The harness runs catalog scenarios with service faults on the reference engine's real tier."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from harness.adapters.reference import ReferenceAdapter
from harness.adapters.reference_real import use_services
from harness.conformance import run_conformance
from harness.services import Services
from harness.session import Session
from scenarios.catalog import CATALOG
from scenarios.scenario import Scenario

pytestmark = [pytest.mark.services, pytest.mark.slow]
# A hard broker restart with dropped connections, and a database restart after a kill.
WITH_SERVICE_FAULTS = ("c5_no_overlap_after_redelivery", "k5_hit_across_worker_kill")


def test_scenarios_with_broker_and_database_faults_pass_every_clause_they_exercise(
    local_services: Services, local_vhost_url: str,
) -> None:
    chosen = [s for s in CATALOG if s.name in WITH_SERVICE_FAULTS]
    assert len(chosen) == len(WITH_SERVICE_FAULTS)
    with use_services(local_services, local_vhost_url):
        result = run_conformance(lambda: ReferenceAdapter("real"), chosen)
    assert [run.status for run in result.runs] == ["ran", "ran"], [
        run.reasons for run in result.runs]
    assert result.ok, [(row.clause, row.reason) for row in result.rows if row.is_failure]
    assert {"C5", "L1", "K5"} <= {row.clause for row in result.rows if row.verdict == "pass"}


def test_the_real_tier_opens_only_once_its_workers_consume(
    services: Services, vhost_url: str, tmp_path: Path,
) -> None:
    """The first launch's chaos budget is not spent on booting workers (15 s at load 35
    took half of the default 30 s, and a correct engine failed L1)."""
    import pika

    from reference_engine.brokers.rabbitmq import split_url

    scenario = next(s for s in CATALOG if s.name == "k6_workflows_never_cached")
    adapter = ReferenceAdapter("real")
    with use_services(services, vhost_url):
        adapter.open(Session(tmp_path, scenario).write())
        try:
            url, queue = split_url(adapter._tier._broker_url(adapter.session))
            with contextlib.closing(pika.BlockingConnection(pika.URLParameters(url))) as conn:
                declared = conn.channel().queue_declare(queue, passive=True)
            assert declared.method.consumer_count == adapter.workers == 2
        finally:
            adapter.close()


KILL_AFTER_CLAIM = Path(__file__).parent / "data" / \
    "n1_kill_after_claim_generated_3708575520711287220.json"
"""``wfconform fuzz --tier real --seed 2026120410`` (2026-12-04), shrunk: launch B is killed
at its second journal entry, written by either of two concurrent digest calls; a worker
that had claimed the other one was still looking up the cache. Its body then began after
the kill (N1: 4 of 4 replays on the previous commit), or, claimed after the kill, it
never ran and the oracle, which took the siblings in written order, wanted it once (C4)."""


def test_a_sibling_claimed_before_a_kill_neither_runs_after_it_nor_is_required(
    local_services: Services, local_vhost_url: str,
) -> None:
    scenario = Scenario.from_json(KILL_AFTER_CLAIM.read_text())
    with use_services(local_services, local_vhost_url):
        result = run_conformance(lambda: ReferenceAdapter("real"), [scenario] * 3)
    assert [run.status for run in result.runs] == ["ran"] * 3
    assert result.ok, [(row.clause, row.reason) for row in result.rows if row.is_failure]
    assert "N1" in {row.clause for row in result.rows if row.verdict == "pass"}
