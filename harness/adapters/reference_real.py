"""The reference engine's ``real`` tier: PostgreSQL store, RabbitMQ hints, real faults.

Services come from ``harness.services`` in the order of DESIGN.md §5 and are started
once per harness process (lazily, at the first scenario), then stopped at exit. Each
scenario gets its own database (dropped at the end of the scenario) and its own queue
in one vhost of the run. Broker and database restarts need servers the harness started
(the local-binaries provider); with servers given by URL they are ``Unsupported``, with
the reason, so their clauses read "unknown".
"""

from __future__ import annotations

import contextlib
import multiprocessing.util
import os
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from harness.services import (
    Server,
    Services,
    ServiceUnavailable,
    choose,
    cut_connections,
    default_providers,
    restart_broker,
    restart_database,
    with_queue,
)
from harness.services.base import ServiceError, ServiceProvider
from harness.services.containers import DockerServer, partition_service, pause_service
from harness.services.owned_names import owned_name, stale_names
from harness.services.providers import SERVICES_ENV
from harness.services.spare_databases import SpareDatabases
from harness.session import Session
from scenarios.faults import OUTAGE_KINDS

__all__ = ["RUN_PREFIX", "SCENARIO_PREFIX", "RealTier", "shared_services", "sweep_stale",
           "use_services"]

_lock = threading.Lock()
SCENARIO_PREFIX = "wfc_scn"
"""Each scenario's database: ``owned_name(SCENARIO_PREFIX)``, so a later run can tell
one a killed harness left (``sweep_stale``)."""
RUN_PREFIX = "wfc_run"
"""The vhost of one harness process, named the same way."""
WORKERS_READY_SECONDS = 120.0
"""How long ``RealTier.ready`` waits for the workers to consume before the first launch."""
READY_POLL_SECONDS = (0.01, 0.1)
"""The first and the longest pause between two looks at the scenario queue's consumer
count in ``ready`` (doubling between them): workers say they serve before their first wait
for a delivery registers them as consumers, so the first look usually finds none; a fixed
0.1 s was a tenth of a short real-tier scenario, and a fixed 0.01 s would open a hundred
channels a second while workers boot slowly."""
# (provider, services, vhost name, vhost URL) of this process, once started
_shared: tuple[ServiceProvider, Services, str, str] | None = None


def shared_services() -> tuple[Services, str]:
    """(services, vhost URL) of this harness process, started on first use."""
    global _shared
    with _lock:
        if _shared is None:
            provider = choose(default_providers())
            services = provider.start()
            vhost = owned_name(RUN_PREFIX)
            try:
                if services.postgres.control is None:  # given by URL: may hold leftovers
                    sweep_stale(services)
                url = services.rabbitmq.isolation.create(vhost)
            except BaseException:
                provider.stop()
                raise
            _shared = (provider, services, vhost, url)
            # Stopped at exit by multiprocessing's finalizers, not a plain atexit: they
            # run at a normal exit too, and also when a forked fuzz worker (``fuzz
            # --workers N``) ends with os._exit, which skips atexit (each worker then
            # left its spare database and its vhost behind); and only in the process
            # that registered them, so a forked child never stops its parent's servers.
            multiprocessing.util.Finalize(None, _stop_shared, exitpriority=10)
        return _shared[1], _shared[3]


def sweep_stale(services: Services) -> list[str]:
    """Drop the scenario databases and run vhosts that a killed harness process of this
    host left on these servers (``owned_names``); return what was dropped.

    Never fatal: a server that cannot list or drop is warned about, and the run goes on
    (the leftovers cost disk, not correctness)."""
    dropped: list[str] = []
    for isolation, prefix in ((services.postgres.isolation, SCENARIO_PREFIX),
                              (services.rabbitmq.isolation, RUN_PREFIX)):
        names = getattr(isolation, "names", None)
        if names is None:  # this kind of isolation cannot list what exists
            continue
        try:
            stale = stale_names(names(prefix), prefix)
        except ServiceError as exc:
            warnings.warn(f"could not list what killed harness runs left behind: {exc}",
                          stacklevel=2)
            continue
        for name in stale:  # one failure does not stop the others
            try:
                isolation.remove(name)
                dropped.append(name)
            except ServiceError as exc:
                warnings.warn(f"could not remove {name}, left by a killed harness run: "
                              f"{exc}", stacklevel=2)
    return dropped


@contextmanager
def use_services(services: Services, vhost_url: str) -> Iterator[None]:
    """Run the real tier on servers someone else started and will stop (a test session's
    fixtures), instead of choosing and starting a provider."""
    global _shared
    with _lock:
        previous, _shared = _shared, (_Borrowed(), services, "", vhost_url)
    try:
        yield
    finally:
        _close_spares(services)
        with _lock:
            _shared = previous


class _Borrowed:
    """Stands for the provider of borrowed services: stopping them is not ours to do."""

    name = "borrowed"
    controllable = True

    def unavailable(self) -> str | None:
        return None

    def start(self) -> Services:
        raise RuntimeError("borrowed services are started by their owner")

    def stop(self) -> None:
        return None


def _stop_shared() -> None:
    """Stop what this process started (its finalizer runs in this process only)."""
    global _shared
    with _lock:
        if _shared is None:
            return
        provider, services, vhost, _ = _shared
        _shared = None
    try:
        _close_spares(services)
        services.rabbitmq.isolation.remove(vhost)
    finally:
        provider.stop()


_spares: dict[tuple[int, int], SpareDatabases] = {}
"""(pid, id(services)) -> the scenario databases this process makes on those services.
Per pid: a forked child inherits the parent's pools but not their threads."""


def _spares_of(services: Services) -> SpareDatabases:
    with _lock:
        key = (os.getpid(), id(services))
        spares = _spares.get(key)
        if spares is None:
            spares = _spares[key] = SpareDatabases(
                services.postgres.isolation, lambda: owned_name(SCENARIO_PREFIX))
            # closed by whoever ends first: the services' owner (_stop_shared,
            # use_services) or this process's exit (see shared_services)
            multiprocessing.util.Finalize(None, spares.close, exitpriority=20)
        return spares


def _close_spares(services: Services) -> None:
    """Finish the drops and drop the spare database of these services, if any."""
    with _lock:
        spares = _spares.pop((os.getpid(), id(services)), None)
    if spares is not None:
        spares.close()


@dataclass(frozen=True)
class RealTier:
    """Same hooks as the adapter's other tiers, plus the faults the real tier can do."""

    name: str = "real"
    _scenarios: dict[str, str] = field(default_factory=dict)  # workdir -> database name

    @property
    def unsupported(self) -> dict[str, str]:
        """Pauses and partitions need servers in containers: asked before the servers
        start (to draw scenarios), so judged from the provider that will be chosen."""
        with _lock:
            started = _shared
        if started is not None:
            can = isinstance(started[1].postgres.control, DockerServer)
        else:
            can = os.environ.get(SERVICES_ENV) == "containers"
        reason = ("a frozen or unreachable server needs the services in containers "
                  f"(--services containers or {SERVICES_ENV}=containers)")
        return {} if can else dict.fromkeys(OUTAGE_KINDS, reason)

    def _key(self, session: Session) -> str:
        return str(session.workdir)

    def database(self, session: Session) -> str:
        try:
            services, _ = shared_services()
        except ServiceUnavailable as exc:
            from harness.errors import Unsupported

            raise Unsupported("reference", "real", "start the real services", str(exc)) from exc
        name, url = _spares_of(services).take()  # made while the last scenario ran
        self._scenarios[self._key(session)] = name
        return url

    def engine_options(self, session: Session) -> dict[str, Any]:
        return {"broker_url": self._broker_url(session)}

    def daemon_options(self, session: Session) -> dict[str, Any]:
        return {"broker_url": self._broker_url(session), "sweep_after": 1.0}

    def _broker_url(self, session: Session) -> str:
        _, vhost_url = shared_services()
        return with_queue(vhost_url, self._scenarios[self._key(session)])

    def ready(self, session: Session, workers: int) -> None:
        """Return once ``workers`` consumers are on the scenario's queue, at most
        ``WORKERS_READY_SECONDS`` later (then the launches' own timeouts judge).

        Why: the first launch's chaos timeout is the engine's time to run it under
        faults, not the time worker processes take to boot. At load 35 two workers took
        15 s from spawn to their first task, half of the default 30 s, and a correct
        engine failed L1 (``c2_step_never_reruns_after_next_began``: launch 6332.1 s,
        first effect 6346.8 s, two kills, finished 0.3 s past the deadline).
        """
        import pika

        from reference_engine.brokers.rabbitmq import split_url

        url, queue = split_url(self._broker_url(session))
        deadline = time.monotonic() + WORKERS_READY_SECONDS
        params = pika.URLParameters(url)
        params.socket_timeout = params.blocked_connection_timeout = 10
        pause, longest = READY_POLL_SECONDS
        with contextlib.closing(pika.BlockingConnection(params)) as connection:
            while time.monotonic() < deadline:
                channel = connection.channel()
                try:
                    declared = channel.queue_declare(queue, durable=True, passive=True)
                    if declared.method.consumer_count >= workers:
                        return
                    channel.close()
                except pika.exceptions.ChannelClosedByBroker:  # not declared yet: 404
                    pass
                time.sleep(pause)
                pause = min(pause * 2, longest)

    def release(self, session: Session) -> None:
        """Drop the scenario's database in the background (``_stop_shared`` waits for the
        drops). Its queue goes with the run's vhost, or, on a shared vhost, is deleted
        here: after the daemon's stop, or after its stop failed (then a worker still
        consuming loses its queue, which only ends a scenario that is over)."""
        name = self._scenarios.pop(self._key(session), None)
        if name is not None and _shared is not None:
            services = _shared[1]
            _spares_of(services).give_back(name)
            queues = services.rabbitmq.isolation
            if getattr(queues, "per_scenario_queues", False):  # a shared vhost
                try:
                    queues.remove(name)
                except ServiceError as exc:  # it expires anyway (SharedVhostQueues)
                    warnings.warn(f"could not delete the queue of scenario {name}: {exc}",
                                  stacklevel=2)

    # ------------------------------------------------------------------ faults
    def fault(self, operation: str, **options: Any) -> str | None:
        """Do ``operation``; return None, or why it cannot be done on these servers."""
        services, _ = shared_services()
        broker, database = services.rabbitmq, services.postgres
        if operation == "restart_broker":
            reason = _needs_control(broker)
            if reason is None:
                restart_broker(broker, kill=options["hard"])
            return reason
        if operation == "restart_database":
            reason = _needs_control(database)
            if reason is None:
                restart_database(database, kill=True)
            return reason
        if operation == "drop_connection":
            if broker.node is None and not isinstance(broker.control, DockerServer):
                return "rabbitmqctl cannot reach the broker's node (set WFCONFORM_RABBITMQ_NODE)"
            cut_connections(broker, "w*")  # every worker's AMQP connection, server side
            return None
        if operation in OUTAGE_KINDS:
            server = broker if options["service"] == "broker" else database
            if not isinstance(server.control, DockerServer):
                return self.unsupported.get(operation, "the server is not in a container")
            outage = pause_service if operation == "pause_service" else partition_service
            outage(server, options["seconds"])
            return None
        return f"unknown fault {operation!r}"


def _needs_control(server: Server) -> str | None:
    if server.control is None:
        return (f"the {server.kind} server was given by URL, so the harness may not restart "
                "it; unset the WFCONFORM_*_URL variables to use throwaway servers")
    return None

