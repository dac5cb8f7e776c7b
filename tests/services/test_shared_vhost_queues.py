"""On a shared vhost (no ``rabbitmqctl``, no management API: a CI job's RabbitMQ service
container), the real tier's per-scenario queues do not outlive their run.

A normal end deletes each scenario's queue; a run killed by SIGKILL cannot, and nothing
can list a vhost's queues over AMQP, so every queue made there expires on the broker
(``queue_expires``, RabbitMQ's ``x-expires``). Before this, every scenario left a durable
queue on the user's broker, killed run or not.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from harness.adapters.reference import ReferenceAdapter
from harness.adapters.reference_real import use_services
from harness.conformance import run_conformance
from harness.services import Services
from harness.services.isolation import SharedVhostQueues, with_queue
from reference_engine.brokers.rabbitmq import RabbitBroker, queue_arguments, split_url
from scenarios.catalog import CATALOG


# ------------------------------------------------------------------ URLs (pure)
def test_queue_expires_is_the_engines_argument_not_pikas() -> None:
    url = "amqp://guest:guest@127.0.0.1:5672/%2F?heartbeat=30&queue=q1&queue_expires=1500"
    assert split_url(url) == ("amqp://guest:guest@127.0.0.1:5672/%2F?heartbeat=30", "q1")
    assert queue_arguments(url) == {"x-expires": 1500}
    assert queue_arguments("amqp://h/%2F?queue=q1") == {}


@pytest.mark.parametrize("given", ["0", "-5", "1.5", "soon", "10&queue_expires=20"])
def test_a_bad_queue_expires_is_refused_naming_it(given: str) -> None:
    with pytest.raises(ValueError, match="queue_expires") as raised:
        RabbitBroker(f"amqp://guest:secret@h/%2F?queue=q&queue_expires={given}")
    assert "milliseconds" in str(raised.value) and "secret" not in str(raised.value)


def test_shared_vhost_urls_name_the_queue_and_make_it_expire() -> None:
    queues = SharedVhostQueues("amqp://guest:guest@h:5672/%2F?heartbeat=30&queue_expires=1")
    url = queues.create("wfc_scn_abc")
    assert split_url(url)[1] == "wfc_scn_abc"
    assert queue_arguments(url) == {"x-expires": SharedVhostQueues.EXPIRES_MS}


# ------------------------------------------------------------------ on RabbitMQ
def _exists(admin_url: str, queue: str) -> bool:
    import pika

    with contextlib.closing(pika.BlockingConnection(pika.URLParameters(admin_url))) as conn:
        try:
            conn.channel().queue_declare(queue, passive=True)
        except pika.exceptions.ChannelClosedByBroker as exc:
            assert exc.reply_code == 404, exc
            return False
    return True


@pytest.fixture
def shared(services: Services) -> Iterator[tuple[Services, SharedVhostQueues]]:
    """The session's servers, with the broker's vhost shared instead of one per run."""
    queues = SharedVhostQueues(split_url(services.rabbitmq.url)[0])
    yield replace(services, rabbitmq=replace(services.rabbitmq, isolation=queues)), queues


@pytest.mark.services
def test_a_queue_left_without_consumers_expires_on_the_broker(
        shared: tuple[Services, SharedVhostQueues]) -> None:
    _, queues = shared
    expiring = queues.create("wfc_test_expiring")
    kept = with_queue(queues.admin_url, "wfc_test_kept")  # declared to stay
    for url in (expiring.replace(f"={SharedVhostQueues.EXPIRES_MS}", "=300"), kept):
        broker = RabbitBroker(url)
        broker.publish([1])  # declares the queue, then leaves it (a killed run)
        broker.close()
    admin = queues.admin_url
    try:
        assert _exists(admin, "wfc_test_expiring") and _exists(admin, "wfc_test_kept")
        time.sleep(2.0)  # not polled: a declare, even a passive one, renews the lease
        assert not _exists(admin, "wfc_test_expiring")
        assert _exists(admin, "wfc_test_kept")  # without the argument: there for good
    finally:
        queues.remove("wfc_test_kept")
        queues.remove("wfc_test_expiring")


@pytest.mark.services
@pytest.mark.slow
def test_real_tier_scenarios_on_a_shared_vhost_pass_and_delete_their_queues(
        shared: tuple[Services, SharedVhostQueues], tmp_path: Path) -> None:
    services, queues = shared
    run_url = queues.create("wfc_test_run")
    made: list[str] = []

    class Recording(ReferenceAdapter):
        def close(self) -> None:
            made.append(split_url(self._tier._broker_url(self.session))[1])
            super().close()

    scenario = next(s for s in CATALOG if s.name == "k6_workflows_never_cached")
    with use_services(services, run_url):
        result = run_conformance(lambda: Recording("real"), [scenario, scenario])
    assert [run.status for run in result.runs] == ["ran", "ran"], [
        run.reasons for run in result.runs]
    assert result.ok, [(row.clause, row.reason) for row in result.rows if row.is_failure]
    assert len(set(made)) == 2 and all(name.startswith("wfc_scn_") for name in made)
    assert [name for name in made if _exists(queues.admin_url, name)] == []
