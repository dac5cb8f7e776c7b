"""The engine's hint thread: submit does not wait for RabbitMQ, and nothing is dropped.

``Engine.submit`` returns once the process is committed; ``BackgroundAnnouncer``
publishes the hint afterwards, confirmed, and keeps what the broker did not confirm.
"""

from __future__ import annotations

import logging
import socket
import time

import pytest

from reference_engine import Engine
from reference_engine.brokers.rabbitmq import RabbitBroker
from tests.engine.workflows import ThreeSteps

pytestmark = pytest.mark.services


def test_every_submitted_process_is_announced_once_by_the_time_the_engine_closes(
        pg_url: str, broker_url: str) -> None:
    with Engine(pg_url, broker_url=broker_url) as engine:
        ids = [engine.submit(ThreeSteps, x=i, y=1) for i in range(40)]
    probe = RabbitBroker(broker_url)
    try:
        assert probe.depth() == len(ids)
        seen = []
        for _ in ids:  # prefetch 1: the next hint comes once this one is acked
            delivery = probe.next(2.0)
            assert delivery is not None
            seen.append(delivery.process_id)
            probe.ack(delivery)
        assert sorted(seen) == sorted(ids)
    finally:
        probe.close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_submit_does_not_wait_for_a_broker_that_is_down_and_close_says_what_is_left(
        pg_url: str, caplog: pytest.LogCaptureFixture) -> None:
    down = f"amqp://guest:guest@127.0.0.1:{_closed_port()}/%2F?queue=nowhere"
    engine = Engine(pg_url, broker_url=down)
    started = time.monotonic()
    pid = engine.submit(ThreeSteps, x=1, y=2)
    assert time.monotonic() - started < 1.0
    assert engine.get(pid).state == "created"  # committed: the sweeper will announce it
    with caplog.at_level(logging.WARNING, logger="reference_engine.brokers.background"):
        engine._announcer.close(timeout=0.5)  # type: ignore[union-attr]  # set: broker_url
    assert any("not announced before close" in r.getMessage() for r in caplog.records)
    engine.store.close()
