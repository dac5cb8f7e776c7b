"""On a shared vhost (no ``rabbitmqctl``, no management API: a CI job's RabbitMQ service
container), the real tier's per-scenario queues do not outlive their run.

A normal end deletes each scenario's queue; a run killed by SIGKILL cannot, and nothing
can list a vhost's queues over AMQP, so every queue made there expires on the broker
(``queue_expires``, RabbitMQ's ``x-expires``). Before this, every scenario left a durable
queue on the user's broker, killed run or not.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from harness.adapters.reference import ReferenceAdapter
from harness.adapters.reference_real import use_services
from harness.conformance import run_conformance
from harness.services import Services
from harness.services.base import ServiceError
from harness.services.isolation import SharedVhostQueues, with_queue
from reference_engine.brokers.rabbitmq import RabbitBroker, queue_arguments, split_url
from scenarios.catalog import CATALOG


# ------------------------------------------------------------------ URLs (pure)
def test_queue_expires_is_the_engines_argument_not_pikas() -> None:
    url = "amqp://guest:guest@127.0.0.1:5672/%2F?heartbeat=30&queue=q1&queue_expires=1500"
    assert split_url(url) == ("amqp://guest:guest@127.0.0.1:5672/%2F?heartbeat=30", "q1")
    assert queue_arguments(url) == {"x-expires": 1500}
    assert queue_arguments("amqp://h/%2F?queue=q1") == {}


@pytest.mark.parametrize("given", ["0", "-5", "1.5", "soon", "10&queue_expires=20",
                                   "\u00b2", str(2**32)])
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
def test_a_queue_declared_with_other_arguments_is_a_clear_error_not_an_outage(
        shared: tuple[Services, SharedVhostQueues]) -> None:
    """A retry cannot fix it: as an outage, workers would back off and retry forever."""
    _, queues = shared
    name = f"wfc_test_{secrets.token_hex(4)}"
    kept = RabbitBroker(with_queue(queues.admin_url, name))
    kept.publish([1])  # made without x-expires
    kept.close()
    try:
        with pytest.raises(ValueError, match=f"queue '{name}'.*other arguments.*delete"):
            RabbitBroker(queues.create(name)).connect()
    finally:
        queues.remove(name)


@pytest.mark.services
def test_a_refused_queue_delete_is_a_service_error_naming_the_queue(
        shared: tuple[Services, SharedVhostQueues]) -> None:
    """``release`` warns on a ServiceError and goes on (the queue expires anyway); a raw
    pika error would have failed the scenario's close instead."""
    import pika

    _, queues = shared
    name = f"wfc_test_{secrets.token_hex(4)}"
    holder = pika.BlockingConnection(pika.URLParameters(queues.admin_url))
    try:
        holder.channel().queue_declare(name, exclusive=True)  # another connection's
        with pytest.raises(ServiceError, match=f"deleting queue {name}") as raised:
            queues.remove(name)
        assert "guest:guest" not in str(raised.value)
    finally:
        holder.close()


@pytest.mark.services
def test_a_queue_left_without_consumers_expires_on_the_broker(
        shared: tuple[Services, SharedVhostQueues]) -> None:
    _, queues = shared
    tag = secrets.token_hex(4)
    expiring_name, kept_name = f"wfc_test_expiring_{tag}", f"wfc_test_kept_{tag}"
    expiring = queues.create(expiring_name)
    kept = with_queue(queues.admin_url, kept_name)  # declared to stay
    for url in (expiring.replace(f"={SharedVhostQueues.EXPIRES_MS}", "=300"), kept):
        broker = RabbitBroker(url)
        broker.publish([1])  # declares the queue, then leaves it (a killed run)
        broker.close()
    admin = queues.admin_url
    try:
        assert _exists(admin, expiring_name) and _exists(admin, kept_name)
        time.sleep(2.0)  # not polled: a declare, even a passive one, renews the lease
        assert not _exists(admin, expiring_name)
        assert _exists(admin, kept_name)  # without the argument: there for good
    finally:
        queues.remove(kept_name)
        queues.remove(expiring_name)


@pytest.mark.services
@pytest.mark.slow
def test_real_tier_scenarios_on_a_shared_vhost_pass_and_delete_their_queues(
        shared: tuple[Services, SharedVhostQueues], tmp_path: Path) -> None:
    services, queues = shared
    run_url = queues.create(f"wfc_test_run_{secrets.token_hex(4)}")
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
