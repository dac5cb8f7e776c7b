"""PostgreSQL and RabbitMQ in Docker containers (testcontainers), with container faults.

Why containers: beside kill -9 and restart, which local servers also allow, a container
can be *frozen* (``docker pause``: the server keeps its sockets, clients hang instead of
failing, the fault behind consumer timeouts and lease overlaps) and *cut off*
(``docker network disconnect``: the server lives on with its sessions and unacked
deliveries while nothing reaches it). Measured with Docker 20.10 here: while a container
is disconnected from the bridge, its published port refuses new connections and the
connections through it are closed on the client's side, while the server never sees
them close; ``docker network connect`` publishes the same port again.

One code path for every image: the harness publishes each service's port on a free port
of 127.0.0.1 that it picks (so a restarted container keeps its address), passes the
official images' environment contract (``POSTGRES_USER``/``POSTGRES_PASSWORD``/
``POSTGRES_DB``, ``RABBITMQ_DEFAULT_USER``/``RABBITMQ_DEFAULT_PASS``) and waits until a
client can log in. Images: ``WFCONFORM_POSTGRES_IMAGE``/``WFCONFORM_RABBITMQ_IMAGE`` if
set, else the official image if present, else the local image that
``.ci/provision-containers`` builds from Debian packages. Clients only ever use
127.0.0.1 and the published port, never a bridge address.

Ryuk (testcontainers' reaper) is disabled: its image cannot be pulled without a
registry. ``container_reaper`` removes the run's containers by label instead.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from collections.abc import Callable
from typing import Any

from harness.services._proc import free_port
from harness.services.base import Server, ServiceError, Services
from harness.services.container_reaper import (
    OWNER_LABEL,
    RUN_LABEL,
    ContainerWatchdog,
    owner_label,
    remove_run,
    sweep_orphans,
)
from harness.services.faults import FaultRecord, FaultUnavailable
from harness.services.isolation import CtlVhosts, PostgresDatabases

IMAGE_ENV = {"postgres": "WFCONFORM_POSTGRES_IMAGE", "rabbitmq": "WFCONFORM_RABBITMQ_IMAGE"}
OFFICIAL = {"postgres": "postgres:16", "rabbitmq": "rabbitmq:3.13"}
LOCAL = {"postgres": "wfconform/postgres:15", "rabbitmq": "wfconform/rabbitmq:3.10"}
PORT = {"postgres": 5432, "rabbitmq": 5672}
STOP_SIGNAL = {"postgres": "SIGINT", "rabbitmq": "SIGTERM"}  # SIGINT: PG's fast shutdown
READY_TIMEOUT = 240.0
"""How long a (re)started container may take until a client logs in. After a kill -9
RabbitMQ rebuilds its message-store indices: 24-70 s at load 15-36, and more than 120 s
at load 37 (measured, a hard broker restart of ``c5_no_overlap_after_redelivery``)."""
PROVISION = ".ci/provision-containers"


def docker_client(timeout: int = 60) -> Any:
    """A docker SDK client; ServiceError when the SDK or an engine is missing."""
    try:
        import docker
    except ImportError as exc:
        raise ServiceError("the docker SDK is not installed "
                           "(pip install 'wfconform[containers]')") from exc
    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
    except Exception as exc:  # docker raises many kinds; any means "no engine"
        raise ServiceError(f"no Docker engine answers ({type(exc).__name__}); run "
                           f"{PROVISION} (as root) to install and start one") from exc
    return client


def image_for(client: Any, kind: str) -> str | None:
    """The image to run for ``kind``, per the order in the module docstring."""
    given = os.environ.get(IMAGE_ENV[kind])
    candidates = [given] if given else [OFFICIAL[kind], LOCAL[kind]]
    for image in candidates:
        try:
            client.images.get(image)
            return image
        except Exception:  # docker.errors.ImageNotFound, or an API error
            continue
    return None


class DockerServer:
    """One service container: the ``ServerControl`` of local servers plus pause and
    network partition. Built by ``Containers.start``; ``start`` runs it (again)."""

    def __init__(self, client: Any, kind: str, image: str, run_id: str,
                 user: str, password: str) -> None:
        self.client = client
        self.kind = kind
        self.image = image
        self.run_id = run_id
        self.user, self.password = user, password
        self.port = free_port()
        self.name = f"wfconform-{kind}-{run_id}"
        self.container: Any = None  # the docker SDK's Container, once created

    # ------------------------------------------------------------- addresses
    @property
    def url(self) -> str:
        if self.kind == "postgres":
            return (f"postgresql+psycopg://{self.user}:{self.password}@127.0.0.1:"
                    f"{self.port}/postgres")
        return f"amqp://{self.user}:{self.password}@127.0.0.1:{self.port}/%2F"

    def _env(self) -> dict[str, str]:
        if self.kind == "postgres":
            return {"POSTGRES_USER": self.user, "POSTGRES_PASSWORD": self.password,
                    "POSTGRES_DB": "postgres"}
        # The node is named for localhost, not for the container's hostname: that name
        # resolves to the bridge address, which a partition's reconnect may change
        # (another run's container took it), and `rabbitmqctl` (docker exec) then found
        # no node ("use --longnames", epmd unreachable) when removing a vhost.
        return {"RABBITMQ_DEFAULT_USER": self.user, "RABBITMQ_DEFAULT_PASS": self.password,
                "RABBITMQ_NODENAME": "rabbit@localhost"}

    # ------------------------------------------------------------- lifecycle
    def start(self) -> None:
        if self.container is None:
            self._create()
        else:
            self.container.reload()
            if self.container.status == "paused":
                self.container.unpause()
            elif self.container.status != "running":
                self.container.start()
        self.wait_ready()

    def _create(self) -> None:
        from testcontainers.core.config import testcontainers_config
        from testcontainers.core.container import DockerContainer

        testcontainers_config.ryuk_disabled = True  # unpullable here; we reap by label
        labels = {RUN_LABEL: self.run_id, OWNER_LABEL: owner_label()}
        wrapper = DockerContainer(self.image, name=self.name, labels=labels,
                                  stop_signal=STOP_SIGNAL[self.kind])
        # with_bind_ports cannot name the host address, and we publish on 127.0.0.1
        # only; its ports dict goes to docker-py, which takes (address, port).
        wrapper.ports[f"{PORT[self.kind]}/tcp"] = ("127.0.0.1", self.port)  # type: ignore[assignment]  # see above
        for key, value in self._env().items():
            wrapper.with_env(key, value)
        wrapper.start()
        self.container = wrapper.get_wrapped_container()

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        """Return once a client can log in through the published port."""
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            try:
                self._login()
                return
            except Exception as exc:  # any client error means "not yet"
                last = exc
            self.container.reload()
            if self.container.status == "exited":
                break
            time.sleep(0.2)
        logs = self.container.logs(tail=15).decode(errors="replace")
        raise ServiceError(f"{self.kind} container {self.name} ({self.image}) on 127.0.0.1:"
                           f"{self.port} not ready within {timeout} s: {last!r}; logs: {logs}")

    def _login(self) -> None:
        if self.kind == "postgres":
            import psycopg

            psycopg.connect(self.url.replace("+psycopg", ""), connect_timeout=3).close()
        else:
            import pika

            params = pika.URLParameters(self.url)
            params.socket_timeout = params.blocked_connection_timeout = 3
            pika.BlockingConnection(params).close()

    def is_running(self) -> bool:
        if self.container is None:
            return False
        self.container.reload()
        return bool(self.container.status in ("running", "paused"))

    def stop(self) -> None:
        """Clean shutdown (the image's stop signal), SIGKILL after 30 s."""
        if not self.is_running():
            return
        self.unpause()
        self.container.kill(signal=STOP_SIGNAL[self.kind])
        try:
            self.container.wait(timeout=30)
        except Exception:  # timed out: a stop that hangs ends as a kill
            self.kill()

    def kill(self) -> None:
        """SIGKILL every process of the server at once (``docker kill``)."""
        if self.is_running():
            self.container.kill()
            self.container.wait(timeout=30)

    def destroy(self) -> None:
        if self.container is not None:
            with contextlib.suppress(Exception):  # already removed (e.g. by the reaper)
                self.container.remove(force=True, v=True)
            self.container = None

    @property
    def exec_argv(self) -> list[str]:
        """Prefix that runs a command inside the container (rabbitmqctl, for faults)."""
        return ["docker", "exec", self.name]

    @property
    def ctl(self) -> list[str]:
        """``rabbitmqctl`` for this node, as ``LocalRabbitMQ.ctl`` gives it: run inside the
        container, whose ``RABBITMQ_NODENAME`` names the node (the AiiDA tier's faults
        and consumer timeout call it)."""
        return [*self.exec_argv, "rabbitmqctl"]

    # ------------------------------------------------------------- faults
    def pause(self) -> None:
        """``docker pause``, tried again when the kernel could not freeze the container.

        The cgroup freezer gives up ("OCI runtime pause failed: unable to freeze") when a
        process of the container stays in uninterruptible sleep, e.g. RabbitMQ in an
        fsync on a loaded disk; seen once in CI (2026-12-04). runc thaws what it froze
        before it reports that, so trying again is safe; a pause that never takes is
        still an error, naming the container and the attempts.
        """
        freeze_pause(self.container.pause, self.name)

    def unpause(self) -> None:
        self.container.reload()
        if self.container.status == "paused":
            self.container.unpause()

    def disconnect(self) -> None:
        """Cut the container off its network: the published port goes away with it."""
        self.client.networks.get("bridge").disconnect(self.container)

    def reconnect(self) -> None:
        """Join the network again; Docker publishes the same 127.0.0.1 port again."""
        self.container.reload()
        if not self.container.attrs["NetworkSettings"]["Networks"]:
            self.client.networks.get("bridge").connect(self.container)


PAUSE_ATTEMPTS = 5
PAUSE_RETRY_SECONDS = 0.2


def freeze_pause(pause: Callable[[], object], name: str,
                 attempts: int = PAUSE_ATTEMPTS,
                 wait: float = PAUSE_RETRY_SECONDS) -> int:
    """Call ``pause`` until the freeze takes (``attempts`` at most, ``wait`` s apart);
    return the attempts used. Only a failed freeze is tried again: any other refusal
    (no such container, not running) is raised at once."""
    for attempt in range(1, attempts + 1):
        try:
            pause()
            return attempt
        except Exception as exc:
            if "freeze" not in str(exc) or attempt == attempts:
                if attempt > 1:
                    raise ServiceError(f"docker pause {name} failed {attempt} times, "
                                       f"the last with: {exc}") from exc
                raise
            time.sleep(wait)
    raise AssertionError("unreachable: the loop returns or raises")


class Containers:
    """Both services in containers of one run; faults can stop, kill, restart, pause and
    cut them off (``controllable``: the published port survives a restart)."""

    name = "testcontainers"
    controllable = True

    def __init__(self) -> None:
        self.run_id = secrets.token_hex(4)
        self.servers: list[DockerServer] = []
        self.watchdog: ContainerWatchdog | None = None

    def unavailable(self) -> str | None:
        try:
            import testcontainers  # noqa: F401  # only checking that it is installed
        except ImportError:
            return "testcontainers is not installed (pip install 'wfconform[containers]')"
        try:
            client = docker_client(timeout=5)
        except ServiceError as exc:
            return str(exc)
        missing = [f"{kind} ({os.environ.get(IMAGE_ENV[kind]) or OFFICIAL[kind]} or "
                   f"{LOCAL[kind]})" for kind in ("postgres", "rabbitmq")
                   if image_for(client, kind) is None]
        if missing:
            return f"no image for {' and '.join(missing)}; run {PROVISION} to pull or build them"
        return None

    def start(self) -> Services:
        reason = self.unavailable()
        if reason is not None:
            raise ServiceError(f"containers cannot be used: {reason}")
        client = docker_client()
        sweep_orphans(client)
        self.watchdog = ContainerWatchdog(self.run_id)
        password = secrets.token_hex(8)
        try:
            for kind, user in (("postgres", "postgres"), ("rabbitmq", "wfconform")):
                image = image_for(client, kind)
                assert image is not None
                server = DockerServer(client, kind, image, self.run_id, user, password)
                self.servers.append(server)
                server._create()
            for server in self.servers:  # both boot at once; wait for each
                server.wait_ready()
        except BaseException:
            self.stop()
            raise
        pg, rmq = self.servers
        ctl = [*rmq.exec_argv, "rabbitmqctl", "-q"]
        return Services(
            self.name,
            Server("postgres", pg.url, PostgresDatabases(pg.url), control=pg),
            Server("rabbitmq", rmq.url, CtlVhosts(rmq.url, ctl), control=rmq),
        )

    def stop(self) -> None:
        try:
            for server in self.servers:
                server.destroy()
            if self.servers:
                remove_run(self.servers[0].client, self.run_id)  # anything else labelled
        finally:
            self.servers = []
            if self.watchdog is not None:
                self.watchdog.close()
                self.watchdog = None


def _container(fault: str, server: Server) -> DockerServer:
    if not isinstance(server.control, DockerServer):
        raise FaultUnavailable(fault, server, "only a server in a container can be paused "
                               "or cut off; use --services containers")
    return server.control


def pause_service(server: Server, seconds: float) -> FaultRecord:
    """Freeze the server's container for ``seconds`` (``docker pause``), then thaw it."""
    control = _container("pause_service", server)
    return _outage("pause_service", server, seconds, control.pause, control.unpause,
                   f"docker pause {control.name}")


def partition_service(server: Server, seconds: float) -> FaultRecord:
    """Disconnect the container from its network for ``seconds``, then reconnect it and
    wait until clients reach it again through the same published port."""
    control = _container("partition_service", server)
    return _outage("partition_service", server, seconds, control.disconnect,
                   control.reconnect, f"docker network disconnect bridge {control.name}",
                   healed=control.wait_ready)


def _outage(fault: str, server: Server, seconds: float, begin: Callable[[], object],
            end: Callable[[], object], what: str,
            healed: Callable[[], object] | None = None) -> FaultRecord:
    """``begin``, ``seconds`` of outage, ``end`` (always), then ``healed``: the record."""
    started, clock = time.time(), time.monotonic()
    begin()
    try:
        time.sleep(seconds)
    finally:
        end()
    if healed is not None:
        healed()
    return FaultRecord(fault, server.kind, started, time.monotonic() - clock, what)
