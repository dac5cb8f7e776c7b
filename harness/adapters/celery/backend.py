"""Where one Celery run keeps its results: SQLite in the run's folder, or PostgreSQL.

Issue 18 asks for Celery's result backend "on SQLite or PostgreSQL". SQLite (the default)
needs nothing; ``postgres`` gives each run (scenario) a database of its own on the
harness's PostgreSQL server, from ``harness.services`` in the order of DESIGN.md §5 (the
user's ``$WFCONFORM_POSTGRES_URL``, else a throwaway server from local binaries, else a
container), started once per harness process at the first run that needs it, and the
run's database dropped (``WITH (FORCE)``) when the run closes. Celery's database backend
is SQLAlchemy; PostgreSQL URLs are given to it with psycopg 3 (``db+postgresql+psycopg``).
"""

from __future__ import annotations

import atexit
import secrets
import threading
from pathlib import Path

from harness.errors import Unsupported
from harness.services import (
    Services,
    ServiceUnavailable,
    choose,
    default_providers,
    sqlalchemy_postgres_url,
)
from harness.services.base import ServiceProvider

__all__ = ["BACKENDS", "BACKEND_ENV", "ResultBackend"]

BACKENDS = ("sqlite", "postgres")
BACKEND_ENV = "WFCONFORM_CELERY_BACKEND"
"""Picks the backend for every tier (the ``postgres`` tier picks PostgreSQL itself)."""

_lock = threading.Lock()
_shared: tuple[ServiceProvider, Services] | None = None


def _services() -> Services:
    """This harness process's services, started on first use and stopped at exit."""
    global _shared
    with _lock:
        if _shared is None:
            provider = choose(default_providers())
            _shared = (provider, provider.start())
            atexit.register(_stop)
        return _shared[1]


def _stop() -> None:
    global _shared
    with _lock:
        started, _shared = _shared, None
    if started is not None:
        started[0].stop()


class ResultBackend:
    """One run's result backend: ``url(workdir)`` makes it, ``release()`` removes it."""

    def __init__(self, kind: str) -> None:
        if kind not in BACKENDS:
            raise ValueError(f"result backend {kind!r} is not one of {', '.join(BACKENDS)}")
        self.kind = kind
        self.database: str | None = None
        self.server_url: str | None = None  # the PostgreSQL server's admin URL, once used
        self._services: Services | None = None

    def url(self, workdir: Path) -> str:
        """The Celery backend URL of a new run (a fresh PostgreSQL database for each)."""
        if self.kind == "sqlite":
            return f"db+sqlite:///{workdir / 'celery-results.sqlite'}"
        try:
            services = _services()
        except ServiceUnavailable as exc:
            raise Unsupported("celery", "postgres", "start PostgreSQL for the result "
                              "backend", str(exc)) from exc
        name = f"wfc_celery_{secrets.token_hex(5)}"
        url = services.postgres.isolation.create(name)
        self.database, self._services = name, services
        self.server_url = services.postgres.url
        return "db+" + sqlalchemy_postgres_url(url)

    def release(self) -> None:
        """Drop the run's database (no-op for SQLite, whose file goes with the folder)."""
        name, self.database = self.database, None
        if name is not None and self._services is not None:
            self._services.postgres.isolation.remove(name)
