"""PostgreSQL and RabbitMQ in containers, and the faults only containers allow.

These run wherever a Docker engine and the images are there (CI provisions both with
``.ci/provision-containers``); in CI a missing engine fails the module instead of
skipping it. Each fault is shown to change what the reference engine does: a paused
broker stalls its work until it thaws, a partition cuts it off until it is healed.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest

from harness.adapters.reference import ReferenceAdapter
from harness.adapters.reference_real import use_services
from harness.conformance import run_conformance
from harness.services import (
    Containers,
    DockerServer,
    Server,
    Services,
    cut_connections,
    partition_service,
    pause_service,
    restart_database,
    with_queue,
)
from harness.services.container_reaper import RUN_LABEL
from reference_engine import Engine
from scenarios import PartitionService, PauseService
from scenarios.catalog import CATALOG
from tests.engine.workflows import EFFECT_LOG, ThreeSteps, read_effects

pytestmark = pytest.mark.services


@pytest.fixture(scope="module")
def containers() -> Iterator[Services]:
    provider = Containers()
    reason = provider.unavailable()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI provisions Docker with .ci/provision-containers, yet: {reason}")
        pytest.skip(reason)
    services = provider.start()
    try:
        yield services
    finally:
        provider.stop()


def _name(prefix: str) -> str:
    return f"{prefix}_{os.environ.get('PYTEST_XDIST_WORKER', 'gw')}_{secrets.token_hex(4)}"


@pytest.fixture
def database(containers: Services) -> Iterator[str]:
    name = _name("wfc")
    url = containers.postgres.isolation.create(name)
    try:
        yield url
    finally:
        containers.postgres.isolation.remove(name)


@pytest.fixture(scope="module")
def vhost(containers: Services) -> Iterator[str]:
    name = _name("wfc")
    url = containers.rabbitmq.isolation.create(name)
    try:
        yield url
    finally:
        containers.rabbitmq.isolation.remove(name)


def _docker(server: Server) -> DockerServer:
    assert isinstance(server.control, DockerServer)
    return server.control


def _dsn(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def test_services_are_published_on_loopback_only_and_labelled_with_their_run(
    containers: Services,
) -> None:
    for server in (containers.postgres, containers.rabbitmq):
        control = _docker(server)
        control.container.reload()
        bindings = control.container.attrs["HostConfig"]["PortBindings"]
        assert [b["HostIp"] for spec in bindings.values() for b in spec] == ["127.0.0.1"]
        assert "@127.0.0.1:" in server.url and f":{control.port}/" in server.url
        assert control.container.labels[RUN_LABEL] == control.run_id


def test_a_killed_database_comes_back_on_the_same_port_with_its_data(
    containers: Services, database: str,
) -> None:
    with psycopg.connect(_dsn(database), autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (x int)")
        conn.execute("INSERT INTO kept VALUES (7)")
    record = restart_database(containers.postgres, kill=True)
    assert record.detail == "kill -9"
    with psycopg.connect(_dsn(database), autocommit=True) as conn:
        assert conn.execute("SELECT x FROM kept").fetchall() == [(7,)]


@pytest.fixture
def engine(database: str, vhost: str) -> Iterator[Engine]:
    with Engine(database, broker_url=with_queue(vhost, _name("tasks"))) as eng:
        yield eng


def _effects_of(log: Path, pid: int) -> list[str]:
    return [e.name for e in read_effects(log) if e.process == pid and e.kind == "step"]


def _outage_then_finish(engine: Engine, log: Path, outage: object, seconds: float) -> None:
    """With the daemon running, start ``outage`` (for ``seconds``), submit a workflow,
    and show that none of its steps runs before the outage ends, then that it finishes."""
    with engine.daemon(2, {EFFECT_LOG: str(log)}, sweep_after=0.5) as daemon:
        daemon.wait_for_workers()
        warm = engine.submit(ThreeSteps, x=1, y=1)  # connections are up before the fault
        assert engine.wait(warm, timeout=60).state == "finished"
        thread = threading.Thread(target=outage, daemon=True)
        thread.start()
        time.sleep(0.5)
        pid = engine.submit(ThreeSteps, x=2, y=3)
        time.sleep(seconds - 1.5)
        assert thread.is_alive(), "the outage ended early; the check below would prove nothing"
        assert _effects_of(log, pid) == [], "work went on during the outage"
        thread.join(120)
        done = engine.wait(pid, timeout=90)
        assert done.state == "finished" and done.outputs["total"] == 7
        assert _effects_of(log, pid) == ["step1", "step2", "step3"]


def test_a_paused_broker_stalls_the_engine_until_it_thaws(
    containers: Services, engine: Engine, tmp_path: Path,
) -> None:
    seconds = 5.0
    _outage_then_finish(engine, tmp_path / "effects.log",
                        lambda: pause_service(containers.rabbitmq, seconds), seconds)


def test_a_partition_from_the_broker_is_healed_and_work_resumes(
    containers: Services, engine: Engine, tmp_path: Path,
) -> None:
    seconds = 5.0
    _outage_then_finish(engine, tmp_path / "effects.log",
                        lambda: partition_service(containers.rabbitmq, seconds), seconds)


def test_a_partitioned_database_refuses_clients_until_healed(containers: Services,
                                                            database: str) -> None:
    server = _docker(containers.postgres)
    server.disconnect()
    try:
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(_dsn(database), connect_timeout=3).close()
        assert server.is_running()  # cut off, not dead
    finally:
        server.reconnect()
    server.wait_ready()
    psycopg.connect(_dsn(database), connect_timeout=3).close()


def test_scenarios_with_a_pause_and_a_partition_pass_and_record_both_outages(
    containers: Services, vhost: str,
) -> None:
    base = next(s for s in CATALOG if s.name == "add_three_numbers_relaunch_uncached")
    scenario = replace(base, name="outages", faults=(
        PauseService(2, "broker", 1.0), PartitionService(4, "database", 1.0)))
    with use_services(containers, vhost):
        result = run_conformance(lambda: ReferenceAdapter("real"), [scenario])
    run = result.runs[0]
    assert run.status == "ran", run.reasons
    assert result.ok, [(row.clause, row.reason) for row in result.rows if row.is_failure]
    assert run.history is not None
    lines = [line for line in run.history.of("fault") if line.get("status") == "fired"]
    # Sorted: each outage's line is written when it heals, and the two may overlap, so
    # the order of the lines is the order of healing, not of the plan.
    assert sorted((f["fault"], f["service"]) for f in lines) == [
        ("partition_service", "database"), ("pause_service", "broker")], (
        # every fault line, with its status and reason: a fault that did not fire was
        # "missed" or "unsupported", and the reason says why (once seen in CI, 2026-12-04)
        [dict(line.data) for line in run.history.of("fault")])
    assert all(float(f["t"]) - float(f["t0"]) >= 1.0 for f in lines)


def test_a_cut_closes_the_matching_connections_and_spares_the_others(
    containers: Services, vhost: str,
) -> None:
    """``cut_connections`` closes every matching connection in one ``rabbitmqctl eval``
    (one Erlang VM boot, not one per connection: a cut took up to 118 s at load 35)."""
    import pika

    opened = {}
    for name in ("w1", "w2", "submitter"):
        params = pika.URLParameters(vhost)
        params.client_properties = {"connection_name": name}
        opened[name] = pika.BlockingConnection(params)
    try:
        record = cut_connections(containers.rabbitmq, "w*")
        assert sorted(record.detail.split(", ")) == ["w1", "w2"]
        for name in ("w1", "w2"):
            with pytest.raises(pika.exceptions.ConnectionClosedByBroker, match="cut"):
                opened[name].process_data_events(time_limit=30)
        opened["submitter"].process_data_events(time_limit=1)
        assert opened["submitter"].is_open
    finally:
        for connection in opened.values():
            if connection.is_open:
                connection.close()
