"""The engine's hint thread: submit does not wait for RabbitMQ, and nothing is dropped.

``Engine.submit`` returns once the process is committed; ``BackgroundAnnouncer``
publishes the hint afterwards, confirmed, and keeps what the broker did not confirm.
"""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reference_engine import Engine
from reference_engine.brokers.background import BackgroundAnnouncer
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


def test_while_the_broker_is_down_reconnects_back_off_however_many_hints_arrive(
        monkeypatch: pytest.MonkeyPatch) -> None:
    attempts = []
    original = RabbitBroker.connect

    def counted(self: RabbitBroker) -> None:
        attempts.append(time.monotonic())
        original(self)

    monkeypatch.setattr(RabbitBroker, "connect", counted)
    down = f"amqp://guest:guest@127.0.0.1:{_closed_port()}/%2F?queue=nowhere"
    hints = BackgroundAnnouncer(down, name="backoff-test")
    try:
        deadline = time.monotonic() + 1.5
        pid = 0
        while time.monotonic() < deadline:  # ~thousands of hints, as a busy submitter
            pid += 1
            hints([pid])
            time.sleep(0.0005)
        assert pid > 1000
        assert 2 <= len(attempts) <= 12, f"{len(attempts)} connection attempts in 1.5 s"
        assert hints.unsent() == pid
    finally:
        hints.close(timeout=0.2)


def test_an_unexpected_publishing_error_is_logged_and_the_hints_still_go_out(
        broker_url: str, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    original, failures = RabbitBroker.publish, []

    def fails_once(self: RabbitBroker, ids: list[int]) -> None:
        if not failures:
            failures.append(ids)
            raise RuntimeError("a bug in publishing")
        original(self, ids)

    monkeypatch.setattr(RabbitBroker, "publish", fails_once)
    hints = BackgroundAnnouncer(broker_url, name="error-test")
    with caplog.at_level(logging.ERROR, logger="reference_engine.brokers.background"):
        hints([1, 2, 3])
        assert hints.flush(10.0)
    hints.close()
    assert failures == [[1, 2, 3]]
    assert any("publishing failed" in r.getMessage() for r in caplog.records)
    assert not hints.broker.connected  # the thread closed its own connection
    probe = RabbitBroker(broker_url)
    try:
        assert probe.depth() == 3
    finally:
        probe.close()


def test_an_engine_nobody_closes_still_announces_its_hints_at_interpreter_exit(
        pg_url: str, broker_url: str) -> None:
    script = (
        "import sys; from reference_engine import Engine\n"
        "from tests.engine.workflows import ThreeSteps\n"
        "engine = Engine(sys.argv[1], broker_url=sys.argv[2])\n"
        "for i in range(20): engine.submit(ThreeSteps, x=i, y=1)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, pg_url, broker_url],
                          capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr
    probe = RabbitBroker(broker_url)
    try:
        assert probe.depth() == 20
    finally:
        probe.close()


def test_a_malformed_broker_url_is_refused_when_the_engine_is_made(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="56x72"):
        Engine(tmp_path / "e.db", broker_url="amqp://guest:guest@127.0.0.1:56x72/%2F")
