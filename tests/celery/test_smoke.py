"""A few catalog scenarios through the Celery adapter on RabbitMQ, with real verdicts.

Each scenario starts two Celery workers (prefork, one child each) on a queue of its own
on the RabbitMQ server of ``$WFCONFORM_RABBITMQ_URL`` (default: the local one) and a
SQLite result backend, lands real SIGKILLs, and is judged by the harness's checks.
"""

from __future__ import annotations

import pytest

from harness.conformance import run_conformance
from harness.errors import Unsupported
from scenarios import by_name
from tests.celery.conftest import needs_celery

pytestmark = [needs_celery]

SMOKE = ("c2_checkpointed_effect_not_repeated", "c3_in_flight_effect_at_most_kills_plus_one",
         "n2_relaunch_makes_new_id", "k6_caching_off_never_hits",
         "p1_kill_propagates_to_children", "k6_workflows_never_cached")


def _verdicts(run):
    return {r.clause: r.verdict for r in run.results}


@pytest.mark.services
@pytest.mark.slow
def test_catalog_smoke_on_rabbitmq_gives_the_verdicts_celery_earns() -> None:
    from harness.adapters.celery import make_adapter

    result = run_conformance(make_adapter, [by_name(name) for name in SMOKE])
    runs = {run.scenario.name: run for run in result.runs}
    assert not result.errors, [run.traceback for run in result.errors]
    # a child killed after its task's result was stored and its successor sent, before
    # the ack: the message is redelivered, and worker_deduplicate_successful_tasks skips it
    c2 = _verdicts(runs["c2_checkpointed_effect_not_repeated"])
    assert c2["C2"] == "pass" and c2["C1"] == "pass"
    # kills inside the body before the result is stored: the message is requeued and the
    # same task id continues, at most kills + 1 executions
    c3 = _verdicts(runs["c3_in_flight_effect_at_most_kills_plus_one"])
    assert c3["C3"] == "pass" and c3["C1"] == "pass" and c3["C4"] == "pass"
    assert _verdicts(runs["n2_relaunch_makes_new_id"])["N2"] == "pass"
    assert _verdicts(runs["k6_caching_off_never_hits"])["K6"] == "pass"
    p1 = _verdicts(runs["p1_kill_propagates_to_children"])
    assert p1["P1"] == "pass" and p1["L1"] == "pass"
    # Celery has no result cache: a scenario that turns caching on is refused, not faked
    refused = runs["k6_workflows_never_cached"]
    assert refused.status == "aborted" and "no result cache" in " ".join(refused.reasons)
    assert not refused.failed()


@pytest.mark.services
@pytest.mark.slow
def test_without_deduplication_a_checkpointed_step_runs_again_after_a_kill_before_ack() -> None:
    """Celery's default (at-least-once): the redelivered task runs again, so C2 fails, as
    the tier declares (an expected failure)."""
    from harness.adapters.celery import CeleryAdapter

    result = run_conformance(lambda: CeleryAdapter(tier="at-least-once"),
                             [by_name("c2_checkpointed_effect_not_repeated")])
    (run,) = result.runs
    verdicts = _verdicts(run)
    assert verdicts["C2"] == "fail" and verdicts["C1"] == "pass"
    assert "ran 2 times" in next(r.sentence for r in run.results if r.clause == "C2")
    assert "C2" in result.capabilities.expected_failures


def test_turning_caching_on_is_declared_unsupported_not_faked() -> None:
    from harness.adapters.celery import CeleryAdapter

    adapter = CeleryAdapter()
    adapter.set_caching(False, (), ())  # caching off: what Celery always does
    with pytest.raises(Unsupported, match="no result cache"):
        adapter.set_caching(False, ("add",), ())
    assert "K1" not in adapter.capabilities().promised
    assert "C2" in adapter.capabilities().promised or "C2" in \
        adapter.capabilities().expected_failures


def test_an_unknown_tier_is_a_one_line_error() -> None:
    from harness.adapters.celery import CeleryAdapter
    from harness.errors import AdapterSpecError

    with pytest.raises(AdapterSpecError, match="whole-worker"):
        CeleryAdapter(tier="solo")
