"""What a service provider is and what it hands out.

A provider (DESIGN.md §5) gives the harness one PostgreSQL and one RabbitMQ. Each comes
as a ``Server``: an admin URL, the means to carve out an isolated database or vhost for
one test worker, and, when the provider started the server itself, a ``ServerControl``
that faults use (stop, kill -9, start again on the same port). Providers that cannot
work here say why in one sentence, so a skipped test tells the user how to get it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from harness.errors import HarnessError


class ServiceError(HarnessError):
    """A service could not be started, reached, isolated or faulted.

    The message names the server and the command or URL that failed, with its output.
    """


class ServiceUnavailable(ServiceError):
    """No provider can give the real services here; ``reasons`` says why, per provider."""

    def __init__(self, reasons: dict[str, str]) -> None:
        self.reasons = reasons
        lines = "; ".join(f"{name}: {why}" for name, why in reasons.items())
        super().__init__(
            f"no PostgreSQL/RabbitMQ available ({lines}). Set WFCONFORM_POSTGRES_URL and "
            "WFCONFORM_RABBITMQ_URL, or install PostgreSQL and RabbitMQ server binaries, or "
            "start a Docker engine"
        )


@runtime_checkable
class ServerControl(Protocol):
    """Lifecycle of a server the harness started; the nemesis's handle on it."""

    name: str
    port: int

    def start(self) -> None:
        """Start (again) on the same port and data; return when it accepts clients."""

    def stop(self) -> None:
        """Clean shutdown; return when every process of the server is gone."""

    def kill(self) -> None:
        """SIGKILL every process of the server at once (its whole process group)."""

    def is_running(self) -> bool: ...

    def destroy(self) -> None:
        """Stop if running and delete its data; idempotent."""


@runtime_checkable
class Isolation(Protocol):
    """Create and remove one test worker's private database or vhost on a server."""

    def create(self, name: str) -> str:
        """Make ``name`` and return a URL that uses it."""

    def remove(self, name: str) -> None: ...


@dataclass
class Server:
    """One running server as a provider hands it out."""

    kind: str  # "postgres" | "rabbitmq"
    url: str  # admin URL (SQLAlchemy URL for PostgreSQL, amqp:// for RabbitMQ)
    isolation: Isolation
    control: ServerControl | None = None  # None: not ours to stop or kill
    node: str | None = None  # RabbitMQ node name, for rabbitmqctl-based faults
    notes: list[str] = field(default_factory=list)


@dataclass
class Services:
    provider: str
    postgres: Server
    rabbitmq: Server


@runtime_checkable
class ServiceProvider(Protocol):
    """A way to obtain both services. Capabilities: ``controllable`` says whether its
    servers can be stopped, killed and restarted (faults need that)."""

    name: str
    controllable: bool

    def unavailable(self) -> str | None:
        """Why this provider cannot serve here (one sentence), or None if it can."""

    def start(self) -> Services:
        """Bring both services up; ServiceError naming what failed."""

    def stop(self) -> None:
        """Stop and delete everything this provider started; idempotent."""
