"""The three providers of DESIGN.md §5, in order, and the choice between them.

1. ``UserUrls``: servers the user points at (env ``WFCONFORM_POSTGRES_URL`` and
   ``WFCONFORM_RABBITMQ_URL``, or the pytest options). Not ours: no restarts, no kills.
2. ``LocalServers``: a throwaway PostgreSQL cluster and RabbitMQ node started from the
   local binaries; they can be stopped, killed and restarted on the same port.
3. ``Containers``: testcontainers, where a Docker engine answers (``containers.py``).

``choose`` returns the first provider that can serve, or raises ``ServiceUnavailable``
with each provider's reason, which a skipped test prints.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import urllib.parse
from collections.abc import Sequence
from pathlib import Path

from harness.services._proc import port_open, run
from harness.services.base import (
    Isolation,
    Server,
    ServiceError,
    ServiceProvider,
    Services,
    ServiceUnavailable,
)
from harness.services.containers import Containers
from harness.services.isolation import (
    CtlVhosts,
    ManagementVhosts,
    PostgresDatabases,
    SharedVhostQueues,
)
from harness.services.local_postgres import LocalPostgres, postgres_unavailable
from harness.services.local_rabbitmq import LocalRabbitMQ, rabbitmq_unavailable
from harness.services.reaper import Reaper

POSTGRES_ENV = "WFCONFORM_POSTGRES_URL"
RABBITMQ_ENV = "WFCONFORM_RABBITMQ_URL"
RABBITMQ_NODE_ENV = "WFCONFORM_RABBITMQ_NODE"  # for rabbitmqctl: vhosts and cut faults
RABBITMQ_API_ENV = "WFCONFORM_RABBITMQ_MANAGEMENT_URL"


def sqlalchemy_postgres_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` mean psycopg 3 here (SQLAlchemy's default
    driver for them is psycopg2, which we do not depend on)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _reachable(url: str, default_port: int) -> bool:
    parts = urllib.parse.urlsplit(url)
    return port_open(parts.port or default_port, parts.hostname or "127.0.0.1")


class UserUrls:
    """Servers the user gave; each test worker gets its own database and vhost on them."""

    name = "user URLs"
    controllable = False

    def __init__(self, postgres_url: str | None = None, rabbitmq_url: str | None = None,
                 rabbitmq_node: str | None = None, management_url: str | None = None) -> None:
        self.postgres_url = postgres_url or os.environ.get(POSTGRES_ENV)
        self.rabbitmq_url = rabbitmq_url or os.environ.get(RABBITMQ_ENV)
        self.rabbitmq_node = rabbitmq_node or os.environ.get(RABBITMQ_NODE_ENV)
        self.management_url = management_url or os.environ.get(RABBITMQ_API_ENV)

    def unavailable(self) -> str | None:
        missing = [env for env, value in ((POSTGRES_ENV, self.postgres_url),
                                          (RABBITMQ_ENV, self.rabbitmq_url)) if not value]
        if missing:
            return f"{' and '.join(missing)} not set"
        assert self.postgres_url is not None and self.rabbitmq_url is not None
        if not _reachable(self.postgres_url, 5432):
            return f"nothing answers at {POSTGRES_ENV}'s host and port"
        if not _reachable(self.rabbitmq_url, 5672):
            return f"nothing answers at {RABBITMQ_ENV}'s host and port"
        return None

    def _vhosts(self, url: str) -> tuple[Isolation, str | None]:
        if self.management_url:
            return ManagementVhosts(url, self.management_url), self.rabbitmq_node
        ctl = shutil.which("rabbitmqctl")
        host = urllib.parse.urlsplit(url).hostname or "127.0.0.1"
        node = self.rabbitmq_node or ("rabbit@localhost" if host in (
            "127.0.0.1", "localhost", "::1") else None)
        if ctl and node and run([ctl, "-n", node, "-q", "list_vhosts"], check=False,
                                timeout=30).returncode == 0:
            return CtlVhosts(url, [ctl, "-n", node]), node
        return SharedVhostQueues(url), None

    def start(self) -> Services:
        reason = self.unavailable()
        if reason is not None:
            raise ServiceError(f"user URLs cannot be used: {reason}")
        assert self.postgres_url is not None and self.rabbitmq_url is not None
        pg_url = sqlalchemy_postgres_url(self.postgres_url)
        vhosts, node = self._vhosts(self.rabbitmq_url)
        return Services(
            self.name,
            Server("postgres", pg_url, PostgresDatabases(pg_url)),
            Server("rabbitmq", self.rabbitmq_url, vhosts, node=node),
        )

    def stop(self) -> None:
        return None  # not ours; the fixtures remove the databases and vhosts they made


class LocalServers:
    """Throwaway servers from local binaries, with a reaper for a session that dies."""

    name = "local binaries"
    controllable = True

    def __init__(self, base: Path | None = None, consumer_timeout_ms: int | None = None) -> None:
        self.base = base
        self.consumer_timeout_ms = consumer_timeout_ms
        self.postgres: LocalPostgres | None = None
        self.rabbitmq: LocalRabbitMQ | None = None
        self.reaper: Reaper | None = None

    def unavailable(self) -> str | None:
        return postgres_unavailable() or rabbitmq_unavailable()

    def start(self) -> Services:
        registry = Path(tempfile.mkstemp(prefix="wfconform-reaper-", suffix=".json",
                                         dir=self.base)[1])
        self.reaper = Reaper(registry)
        try:
            self.postgres = LocalPostgres(self.reaper, base=self.base)
            self.postgres.start()
            self.rabbitmq = LocalRabbitMQ(self.reaper, base=self.base,
                                          consumer_timeout_ms=self.consumer_timeout_ms)
            self.rabbitmq.start()
        except BaseException:
            self.stop()
            raise
        pg, rmq = self.postgres, self.rabbitmq
        return Services(
            self.name,
            Server("postgres", pg.url, PostgresDatabases(pg.url), control=pg),
            Server("rabbitmq", rmq.url, CtlVhosts(rmq.url, rmq.ctl), control=rmq,
                   node=rmq.node),
        )

    def stop(self) -> None:
        try:
            for server in (self.rabbitmq, self.postgres):
                if server is not None:
                    server.destroy()
        finally:
            self.rabbitmq = self.postgres = None
            if self.reaper is not None:
                self.reaper.close()
                self.reaper = None


SERVICES_ENV = "WFCONFORM_SERVICES"
SERVICE_CHOICES = ("auto", "urls", "local", "containers")


def default_providers(postgres_url: str | None = None, rabbitmq_url: str | None = None,
                      services: str | None = None) -> list[ServiceProvider]:
    """The providers to try, in order: all three (``auto``), or only the one named by
    ``services`` or ``WFCONFORM_SERVICES`` (``urls``, ``local``, ``containers``), which
    ``wfconform run --services`` and ``pytest --wfconform-services`` set."""
    chosen = services or os.environ.get(SERVICES_ENV) or "auto"
    if chosen not in SERVICE_CHOICES:
        raise ValueError(f"services {chosen!r} (from --services or {SERVICES_ENV}) is not one "
                         f"of {', '.join(SERVICE_CHOICES)}; pick one of them")
    every: dict[str, ServiceProvider] = {
        "urls": UserUrls(postgres_url, rabbitmq_url), "local": LocalServers(),
        "containers": Containers()}
    return list(every.values()) if chosen == "auto" else [every[chosen]]


def choose(providers: Sequence[ServiceProvider], controllable: bool = False) -> ServiceProvider:
    """The first provider that can serve (and control its servers, if asked)."""
    reasons: dict[str, str] = {}
    for provider in providers:
        if controllable and not provider.controllable:
            reasons[provider.name] = "cannot stop, kill or restart its servers"
            continue
        reason = provider.unavailable()
        if reason is None:
            return provider
        reasons[provider.name] = reason
    raise ServiceUnavailable(reasons)
