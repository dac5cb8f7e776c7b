"""Real PostgreSQL and RabbitMQ for the real tier: providers, isolation and faults.

Providers come in the order of DESIGN.md §5 (user URLs, local binaries, testcontainers);
``choose`` picks the first that can serve and otherwise says why none can. Nothing a
provider starts outlives the test session: ``stop`` deletes it, and a reaper process
removes it if the session dies without teardown.
"""

from harness.services.base import (
    Isolation,
    Server,
    ServerControl,
    ServiceError,
    ServiceProvider,
    Services,
    ServiceUnavailable,
)
from harness.services.containers import DockerServer, partition_service, pause_service
from harness.services.faults import (
    FaultRecord,
    FaultUnavailable,
    connections,
    cut_connections,
    restart_broker,
    restart_database,
    set_consumer_timeout,
)
from harness.services.isolation import with_queue
from harness.services.providers import (
    Containers,
    LocalServers,
    UserUrls,
    choose,
    default_providers,
    sqlalchemy_postgres_url,
)

__all__ = [
    "Containers",
    "DockerServer",
    "FaultRecord",
    "FaultUnavailable",
    "Isolation",
    "LocalServers",
    "Server",
    "ServerControl",
    "ServiceError",
    "ServiceProvider",
    "ServiceUnavailable",
    "Services",
    "UserUrls",
    "choose",
    "connections",
    "cut_connections",
    "default_providers",
    "partition_service",
    "pause_service",
    "restart_broker",
    "restart_database",
    "set_consumer_timeout",
    "sqlalchemy_postgres_url",
    "with_queue",
]
