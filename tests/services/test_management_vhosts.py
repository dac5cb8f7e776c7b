"""Servers given by URL with a RabbitMQ management API (``WFCONFORM_RABBITMQ_MANAGEMENT_URL``):
the real tier makes its vhost there, runs on it, and sweeps what killed runs left.

Before, this mode had no test, and its vhosts could not be listed, so a SIGKILLed run's
vhost stayed on the broker for good. A throwaway node with the management plugin stands
in for such a broker (``LocalRabbitMQ(management=True)``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.adapters.reference import ReferenceAdapter
from harness.adapters.reference_real import RUN_PREFIX, sweep_stale, use_services
from harness.conformance import run_conformance
from harness.services import Services
from harness.services.base import ServiceError
from harness.services.isolation import ManagementVhosts
from harness.services.local_rabbitmq import LocalRabbitMQ, rabbitmq_unavailable
from harness.services.owned_names import owned_name
from harness.services.providers import UserUrls
from harness.services.reaper import Reaper
from scenarios.catalog import CATALOG

pytestmark = pytest.mark.services


@pytest.fixture(scope="module")
def api_services(services: Services) -> Iterator[Services]:
    """The session's PostgreSQL and a throwaway RabbitMQ serving its management API,
    given to the harness as a user gives them: by URL, with the API's URL."""
    reason = rabbitmq_unavailable()
    if reason is not None:
        pytest.skip(f"needs a throwaway RabbitMQ node: {reason}")
    handle, registry = tempfile.mkstemp(prefix="wfconform-reaper-", suffix=".json")
    os.close(handle)
    reaper = Reaper(Path(registry))
    node: LocalRabbitMQ | None = None
    try:
        node = LocalRabbitMQ(reaper, management=True)
        node.start()
        assert node.management_url is not None
        given = UserUrls(services.postgres.url, node.url, management_url=node.management_url)
        yield given.start()
    finally:
        if node is not None:
            node.destroy()
        reaper.close()  # also removes the registry file


def _dead_pid() -> int:
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait()
    return done.pid


def test_given_an_api_url_vhosts_are_made_listed_and_removed_through_it(
        api_services: Services) -> None:
    vhosts = api_services.rabbitmq.isolation
    assert isinstance(vhosts, ManagementVhosts)
    name = owned_name(RUN_PREFIX)
    vhosts.create(name)
    try:
        assert vhosts.names(RUN_PREFIX) == [name]
        assert vhosts.names("wfc_none_") == []
    finally:
        vhosts.remove(name)
    assert vhosts.names(RUN_PREFIX) == []
    vhosts.remove(name)  # removing what is gone is no error


def test_the_sweep_removes_a_dead_runs_vhost_through_the_api_and_keeps_a_live_one(
        api_services: Services) -> None:
    vhosts = api_services.rabbitmq.isolation
    assert isinstance(vhosts, ManagementVhosts)
    stale, live = owned_name(RUN_PREFIX, pid=_dead_pid()), owned_name(RUN_PREFIX)
    for name in (stale, live):
        vhosts.create(name)
    try:
        assert stale in sweep_stale(api_services)
        assert vhosts.names(RUN_PREFIX) == [live]
    finally:
        for name in (stale, live):
            vhosts.remove(name)


def test_a_bad_answer_from_the_api_is_a_service_error_naming_it(
        api_services: Services) -> None:
    vhosts = api_services.rabbitmq.isolation
    assert isinstance(vhosts, ManagementVhosts)
    wrong = ManagementVhosts(vhosts.admin_url, vhosts.api_url + "/api/overview#")
    with pytest.raises(ServiceError, match="vhosts"):
        wrong.names(RUN_PREFIX)


@pytest.mark.slow
def test_real_tier_scenarios_run_on_a_vhost_made_through_the_api(
        api_services: Services) -> None:
    vhosts = api_services.rabbitmq.isolation
    name = owned_name(RUN_PREFIX)
    url = vhosts.create(name)
    try:
        scenario = next(s for s in CATALOG if s.name == "k6_workflows_never_cached")
        with use_services(api_services, url):
            result = run_conformance(lambda: ReferenceAdapter("real"), [scenario])
    finally:
        vhosts.remove(name)
    assert [run.status for run in result.runs] == ["ran"], [r.reasons for r in result.runs]
    assert result.ok, [(row.clause, row.reason) for row in result.rows if row.is_failure]
