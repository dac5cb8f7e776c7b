"""Providers are tried in the order of DESIGN.md §5 and each says why it cannot serve."""

from __future__ import annotations

import pytest

from harness.services import (
    Containers,
    LocalServers,
    Services,
    ServiceUnavailable,
    UserUrls,
    choose,
    sqlalchemy_postgres_url,
    with_queue,
)
from harness.services.isolation import check_name


class Fake:
    def __init__(self, name: str, reason: str | None, controllable: bool = True) -> None:
        self.name, self.reason, self.controllable = name, reason, controllable

    def unavailable(self) -> str | None:
        return self.reason

    def start(self) -> Services:
        raise AssertionError("not started in these tests")

    def stop(self) -> None:
        return None


def test_the_first_provider_that_can_serve_is_chosen() -> None:
    first, second, third = Fake("a", "no URLs"), Fake("b", None), Fake("c", None)
    assert choose([first, second, third]) is second


def test_when_none_can_serve_every_reason_is_reported_with_the_fix() -> None:
    with pytest.raises(ServiceUnavailable) as caught:
        choose([Fake("user URLs", "not set"), Fake("local binaries", "initdb not found")])
    assert caught.value.reasons == {"user URLs": "not set", "local binaries": "initdb not found"}
    assert "WFCONFORM_POSTGRES_URL" in str(caught.value)


def test_faults_skip_providers_that_cannot_restart_their_servers() -> None:
    chosen = choose([Fake("user URLs", None, controllable=False), Fake("local", None)],
                    controllable=True)
    assert chosen.name == "local"


def test_user_urls_say_which_variable_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WFCONFORM_POSTGRES_URL", raising=False)
    monkeypatch.delenv("WFCONFORM_RABBITMQ_URL", raising=False)
    assert UserUrls().unavailable() == (
        "WFCONFORM_POSTGRES_URL and WFCONFORM_RABBITMQ_URL not set")
    unreachable = UserUrls("postgresql://u@127.0.0.1:1/db", "amqp://g:g@127.0.0.1:1/%2F")
    assert "nothing answers" in (unreachable.unavailable() or "")


def test_urls_are_normalised_and_isolated_by_name() -> None:
    assert sqlalchemy_postgres_url("postgres://u@h/d") == "postgresql+psycopg://u@h/d"
    assert with_queue("amqp://g:g@h:5672/v?heartbeat=5", "q1").endswith("heartbeat=5&queue=q1")
    with pytest.raises(ValueError, match="lowercase identifier"):
        check_name("Robert'); DROP TABLE")


@pytest.mark.services
def test_local_binaries_are_available_on_this_machine() -> None:
    assert LocalServers().unavailable() is None


@pytest.mark.services
def test_testcontainers_provide_both_services_where_docker_answers() -> None:
    provider = Containers()
    reason = provider.unavailable()
    if reason is not None:
        pytest.skip(f"testcontainers provider unavailable here: {reason}")
    services = provider.start()
    try:
        name = "wfc_containers_probe"
        url = services.postgres.isolation.create(name)
        services.postgres.isolation.remove(name)
        assert url.endswith(f"/{name}")
    finally:
        provider.stop()
