"""Fixtures for the real tier: PostgreSQL and RabbitMQ from ``harness.services``.

Written to move into the pytest plugin unchanged: each fixture only calls the services
API and cleans up in its finaliser. Two sessions-wide pairs of servers:

- ``services``: the first provider of DESIGN.md §5 that can serve (user URLs from
  ``--wfconform-postgres-url``/``--wfconform-rabbitmq-url`` or ``WFCONFORM_POSTGRES_URL``/
  ``WFCONFORM_RABBITMQ_URL``, else throwaway servers, else testcontainers); the engine
  tests run there.
- ``local_services``: throwaway servers from local binaries, always (faults need servers
  the harness may stop and kill). Shared with ``services`` when that is the same kind.

Isolation: one vhost per xdist worker (``wfc_<worker>_<token>``), one queue per test,
one database per test module; all removed at the end.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.services import (
    LocalServers,
    Server,
    Services,
    ServiceUnavailable,
    choose,
    default_providers,
    with_queue,
)
from tests.engine.workflows import EFFECT_LOG


def _unique(prefix: str) -> str:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw")
    return f"{prefix}_{worker}_{secrets.token_hex(4)}"


@pytest.fixture(scope="session")
def services(pytestconfig: pytest.Config) -> Iterator[Services]:
    providers = default_providers(pytestconfig.getoption("wfconform_postgres_url"),
                                  pytestconfig.getoption("wfconform_rabbitmq_url"))
    try:
        provider = choose(providers)
    except ServiceUnavailable as exc:
        pytest.skip(str(exc))
    started = provider.start()
    try:
        yield started
    finally:
        provider.stop()


@pytest.fixture(scope="session")
def local_services(services: Services) -> Iterator[Services]:
    if services.postgres.control is not None and services.rabbitmq.control is not None:
        yield services  # the session's servers are already throwaway ones
        return
    provider = LocalServers()
    reason = provider.unavailable()
    if reason is not None:
        pytest.skip(f"faults need servers the harness starts itself: {reason}")
    started = provider.start()
    try:
        yield started
    finally:
        provider.stop()


def _vhost(server: Server) -> Iterator[str]:
    name = _unique("wfc")
    url = server.isolation.create(name)
    try:
        yield url
    finally:
        server.isolation.remove(name)


def _database(server: Server) -> Iterator[str]:
    name = _unique("wfc")
    url = server.isolation.create(name)
    try:
        yield url
    finally:
        server.isolation.remove(name)


@pytest.fixture(scope="session")
def vhost_url(services: Services) -> Iterator[str]:
    yield from _vhost(services.rabbitmq)


@pytest.fixture(scope="session")
def local_vhost_url(local_services: Services) -> Iterator[str]:
    yield from _vhost(local_services.rabbitmq)


@pytest.fixture(scope="module")
def pg_url(services: Services) -> Iterator[str]:
    """A fresh database for this test module on the session's PostgreSQL."""
    yield from _database(services.postgres)


@pytest.fixture(scope="module")
def local_pg_url(local_services: Services) -> Iterator[str]:
    yield from _database(local_services.postgres)


@pytest.fixture
def broker_url(vhost_url: str) -> str:
    """This test's own queue in the worker's vhost."""
    return with_queue(vhost_url, _unique("tasks"))


@pytest.fixture
def local_broker_url(local_vhost_url: str) -> str:
    return with_queue(local_vhost_url, _unique("tasks"))


@pytest.fixture
def effect_log(tmp_path: Path) -> Path:
    return tmp_path / "effects.log"


@pytest.fixture
def worker_env(effect_log: Path) -> dict[str, str]:
    return {EFFECT_LOG: str(effect_log)}


PROVISION_STATUS_ENV = "WFCONFORM_PROVISION_STATUS"
"""Set by ``.ci/run``: a file that ``.ci/provision-containers``'s exit status is written to
when it ends. CI builds the container images in the background while the tests that need
no Docker run (minutes on a fresh machine); the tests that do need it wait here."""


def _needs_docker(item: pytest.Item) -> bool:
    return item.path.name.startswith("test_container") or "testcontainers" in item.name


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Wait for the background provisioning before a test that needs Docker; fail (never
    skip) with the provisioning log when it failed or did not end in 20 minutes."""
    status = os.environ.get(PROVISION_STATUS_ENV)
    if not status or not _needs_docker(item):
        return
    path, deadline = Path(status), time.monotonic() + 1200
    while not path.exists() or not path.read_text().strip():
        if time.monotonic() > deadline:
            pytest.fail(f"container provisioning did not end in 20 min (status file {path})")
        time.sleep(1)
    if path.read_text().strip() != "0":
        log = Path(os.environ.get("WFCONFORM_PROVISION_LOG", "/dev/null"))
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:]) if log.exists() else ""
        pytest.fail(f"container provisioning failed (exit {path.read_text().strip()}):\n{tail}")
