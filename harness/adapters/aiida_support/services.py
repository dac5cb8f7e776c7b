"""Servers for the AiiDA adapter's ``psql`` tier, from the providers of ``harness.services``.

The hook that lets AiiDA run where the reference engine's real tier runs: the provider
is chosen as everywhere (``--services`` / ``WFCONFORM_SERVICES``: user URLs, throwaway
local servers or containers), started once per harness process and stopped at exit.
The profile then stores in ``core.psql_dos`` on that PostgreSQL (a database of its own)
and talks to that RabbitMQ (a vhost of its own).
"""

from __future__ import annotations

import atexit
import threading
import urllib.parse
from typing import Any

from harness.services import Services, choose, default_providers
from harness.services.base import Server, ServiceProvider

__all__ = ["profile_services", "psql_storage_config"]

_lock = threading.Lock()
_started: tuple[ServiceProvider, Services] | None = None


def profile_services() -> Services:
    """This process's PostgreSQL and RabbitMQ for AiiDA profiles, started on first use."""
    global _started
    with _lock:
        if _started is None:
            provider = choose(default_providers())
            _started = (provider, provider.start())
            atexit.register(_stop)
        return _started[1]


def _stop() -> None:
    global _started
    with _lock:
        started, _started = _started, None
    if started is not None:
        started[0].stop()


def psql_storage_config(postgres: Server, database: str, repository: str) -> dict[str, Any]:
    """``core.psql_dos`` settings for ``database`` on ``postgres`` (made by the caller)."""
    url = urllib.parse.urlsplit(postgres.url)
    return {"database_engine": "postgresql_psycopg",
            "database_hostname": url.hostname or "127.0.0.1",
            "database_port": url.port or 5432,
            "database_username": urllib.parse.unquote(url.username or "postgres"),
            "database_password": urllib.parse.unquote(url.password or ""),
            "database_name": database, "repository_uri": f"file://{repository}"}
