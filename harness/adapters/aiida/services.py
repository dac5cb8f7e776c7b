"""Throwaway PostgreSQL and RabbitMQ for the AiiDA `psql` tier, and the faults on them.

Why throwaway: the faults restart and kill the servers, which the machine's shared
services must never suffer. The servers come from `harness.services` through the
provider abstraction (`choose(..., controllable=True)`): by default the local-binaries
provider, started once per harness process at the first psql scenario and stopped at
exit (its reaper removes them after a SIGKILL). `use_providers()` lets another provider
(containers, issue 16) serve instead, as long as it can stop, kill and restart.

Faults, in AiiDA terms (what AiiDA lacks is emulated, and said so):

- broker restart: clean stop or kill -9 of the RabbitMQ node, start on the same port;
- database restart: kill -9 of PostgreSQL with every backend, start on the same port;
- a worker's connection cut: the broker closes that worker's AMQP connection
  (`rabbitmqctl close_connection`) while the worker runs on; its unacked task goes back
  to the queue (AiiDA's documented cause of duplicate executors);
- connections dropped: every worker's AMQP connection closed by the broker and every
  PostgreSQL backend of the workers terminated (`pg_terminate_backend`);
- a frozen worker past the consumer timeout: the worker is SIGSTOPped until RabbitMQ's
  `consumer_timeout` (set short for that scenario, before the workers start) closes its
  channel and takes the task back, then SIGCONTed.

The short consumer timeout holds for every channel of such a scenario, not only the
frozen worker's (RabbitMQ 3.10 reads it when a channel opens; a per-consumer timeout
came in 3.12), so any process that runs longer loses its channel too. Each time the
broker does that it logs it; `consumer_timeouts` reads those lines back so the adapter
can record every one as a fired fault (`AiidaAdapter.observe`), and the checks excuse
what it causes, not more.

A worker's connections are found by the TCP ports its sockets use (`/proc`), matched
against the broker's `peer_port` and PostgreSQL's `client_port`: no names are guessed.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime
import os
import re
import signal
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from harness.services import (
    LocalServers,
    Services,
    choose,
    restart_broker,
    restart_database,
)
from harness.services._proc import run
from harness.services.base import ServiceProvider
from harness.services.faults import close_connections
from harness.services.providers import SERVICES_ENV, Containers

__all__ = [
    "LONG_CONSUMER_TIMEOUT_MS",
    "PEER_PORT_FAULTS",
    "SHORT_CONSUMER_TIMEOUT_MS",
    "AiidaServices",
    "ConsumerTimeoutLog",
    "aiida_services",
    "in_containers",
    "parse_consumer_timeouts",
    "stop_aiida_services",
    "use_providers",
]

LONG_CONSUMER_TIMEOUT_MS = 3_600_000
"""The node's default: one hour, far above any scenario (what AiiDA asks operators for).
Configuring it at all makes the node check it every 500 ms (see `LocalRabbitMQ`)."""

CTL_SECONDS = 180.0
"""How long one `rabbitmqctl` call may take (`docker exec` into a container at load 40
took over 60 s, the default, and the scenario errored)."""

SHORT_CONSUMER_TIMEOUT_MS = 5_000
"""The consumer timeout of a scenario that freezes a worker (`ExpireLease`)."""

_lock = threading.Lock()
_shared: AiidaServices | None = None
_providers: Sequence[ServiceProvider] | None = None


def use_providers(providers: Sequence[ServiceProvider] | None) -> None:
    """Serve the psql tier from these providers (None: the local binaries) from now on."""
    global _providers
    _providers = providers


def _default_providers() -> list[ServiceProvider]:
    """Containers when the user chose them (``--services containers``), else throwaway
    local servers: the only two that can stop, kill and restart what they serve."""
    if os.environ.get(SERVICES_ENV) == "containers":
        return [Containers()]
    return [LocalServers(consumer_timeout_ms=LONG_CONSUMER_TIMEOUT_MS)]


PEER_PORT_FAULTS = {
    op: "on containers the harness cannot tell the workers' connections apart: clients "
        "reach a published port through docker-proxy, so the broker and PostgreSQL see "
        "the proxy's ports, not the workers' (--services local has this fault)"
    for op in ("drop_connection", "duplicate_delivery", "expire_lease")}
"""Faults that find a worker's AMQP connections and PostgreSQL backends by its TCP ports
(`local_ports`): on containers they would match nothing and silently do nothing, so
the adapter declares them unsupported there (their clauses read unknown, with this)."""


def in_containers() -> bool:
    """Whether the psql tier's servers are (or, once started, will be) in containers."""
    with _lock:
        shared = _shared
    if shared is not None:
        return isinstance(shared.provider, Containers)
    if _providers is not None:
        return all(isinstance(p, Containers) for p in _providers)
    return os.environ.get(SERVICES_ENV) == "containers"


def aiida_services() -> AiidaServices:
    """The psql tier's servers in this harness process, started on first use."""
    global _shared
    with _lock:
        if _shared is None:
            providers = _providers or _default_providers()
            provider = choose(providers, controllable=True)
            _shared = AiidaServices(provider, provider.start())
            atexit.register(stop_aiida_services)
        return _shared


def stop_aiida_services() -> None:
    """Stop the psql tier's servers (also at exit); idempotent."""
    global _shared
    with _lock:
        shared, _shared = _shared, None
    if shared is not None:
        shared.provider.stop()


class AiidaServices:
    """One provider's servers and the faults the AiiDA adapter lands on them."""

    def __init__(self, provider: ServiceProvider, services: Services) -> None:
        self.provider = provider
        self.services = services
        self.consumer_timeout_ms = LONG_CONSUMER_TIMEOUT_MS
        self._applied: int | None = getattr(provider, "consumer_timeout_ms", None)
        """What the running node was last told or configured with (`LocalServers` writes
        it into the node's configuration); None: unknown, e.g. after a restart."""
        self._timeout_log = ConsumerTimeoutLog()

    @property
    def broker_port(self) -> int:
        control = self.services.rabbitmq.control
        assert control is not None
        return control.port

    @property
    def database_port(self) -> int:
        control = self.services.postgres.control
        assert control is not None
        return control.port

    def _ctl(self) -> list[str]:
        control = self.services.rabbitmq.control
        ctl = list(getattr(control, "ctl", ["rabbitmqctl", "-n", str(self.services.rabbitmq.node)]))
        return [*ctl, "-q"]

    # -- broker and database restarts --------------------------------------------------

    def restart_broker(self, hard: bool) -> str:
        record = restart_broker(self.services.rabbitmq, kill=hard)
        self._applied = None  # set_env does not survive a restart
        self.apply_consumer_timeout(self.consumer_timeout_ms)
        return f"{record.detail}, down {record.seconds:.1f} s"

    def restart_database(self) -> str:
        record = restart_database(self.services.postgres, kill=True)
        return f"{record.detail}, down {record.seconds:.1f} s"

    # -- consumer timeout --------------------------------------------------------------

    def apply_consumer_timeout(self, milliseconds: int) -> None:
        """Set the node's `consumer_timeout` for channels opened from now on.

        RabbitMQ 3.10 reads it when a channel opens, so it must be set before the
        daemon workers start; the check itself runs every 500 ms on this node. A value the
        running node already has is not sent again (`rabbitmqctl` starts an Erlang VM:
        seconds per call on a loaded machine).
        """
        if milliseconds != self._applied:
            run([*self._ctl(), "eval",  # one Erlang VM boot: over 60 s seen at load 40
                 f"application:set_env(rabbit, consumer_timeout, {int(milliseconds)})."],
                timeout=CTL_SECONDS)
            self._applied = milliseconds
        self.consumer_timeout_ms = milliseconds

    def consumer_timeouts(self) -> list[tuple[float, int, str]] | None:
        """(wall-clock time, peer port, log text) of every channel the broker closed
        because a delivery stayed unacked past the consumer timeout, from its log.

        None when the node's log cannot be read here (a container's): the caller must
        then say that such timeouts are not seen. Each call reads only what the log
        gained since the last one (`ConsumerTimeoutLog`), so a run that calls it at
        every `observe()` reads its broker's log once in all.
        """
        folder = getattr(self.services.rabbitmq.control, "folder", None)
        if folder is None:
            return None
        return self._timeout_log.read(Path(folder, "log"))

    # -- connection cuts ---------------------------------------------------------------

    def broker_connections(self) -> list[tuple[str, int]]:
        """(connection pid, peer port) of every AMQP connection on the node."""
        out = run([*self._ctl(), "list_connections", "--no-table-headers", "pid",
                   "peer_port"], check=False).stdout
        found = []
        for line in out.splitlines():
            pid, _, port = line.strip().partition("\t")
            if pid.startswith("<") and port.strip().isdigit():
                found.append((pid, int(port)))
        return found

    def cut_broker(self, pids: Sequence[int]) -> list[str]:
        """Close, from the broker's side, the AMQP connections of these processes."""
        ports = _ports(pids, self.broker_port)
        cut = [conn for conn, port in self.broker_connections() if port in ports]
        close_connections(self._ctl(), cut, "wfconform fault: connection cut")
        return cut

    def cut_database(self, pids: Sequence[int], database: str) -> int:
        """Terminate the PostgreSQL backends serving these processes; return how many."""
        import psycopg

        ports = _ports(pids, self.database_port)
        if not ports:
            return 0
        url = self.services.postgres.url.replace("postgresql+psycopg://", "postgresql://", 1)
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
            rows = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND client_port = ANY(%s)", (database, sorted(ports))
            ).fetchall()
        return sum(1 for (done,) in rows if done)

    # -- frozen worker -------------------------------------------------------------------

    def unacked_channels(self, pids: Sequence[int]) -> list[str]:
        """Channel pids of these processes' connections that hold unacked deliveries."""
        ports = _ports(pids, self.broker_port)
        return [channel for channel, port in self._unacked() if port in ports]

    def _unacked(self) -> list[tuple[str, int]]:
        """(channel pid, peer port) of every channel holding unacked deliveries (two
        rabbitmqctl calls, each about a second on a loaded machine)."""
        by_conn = dict(self.broker_connections())
        out = run([*self._ctl(), "list_channels", "--no-table-headers", "pid", "connection",
                   "messages_unacknowledged"], check=False).stdout
        held = []
        for line in out.splitlines():
            parts = line.strip().split("\t")
            if len(parts) == 3 and parts[2].strip().isdigit() and int(parts[2]) > 0 \
                    and parts[1] in by_conn:
                held.append((parts[0], by_conn[parts[1]]))
        return held

    def freeze_past_timeout(self, worker: int, others: Sequence[int]) -> str | None:
        """SIGSTOP `worker` until the broker took its unacked task back; SIGCONT it.

        It sleeps through the consumer timeout first (polling the broker costs seconds
        on a loaded machine), then polls. Returns which other worker then holds an
        unacked task (the takeover), or None when none took one within a few seconds.
        """
        held = set(self.unacked_channels([worker]))
        os.kill(worker, signal.SIGSTOP)
        try:
            time.sleep(self.consumer_timeout_ms / 1000 + 1.0)
            deadline = time.monotonic() + 15.0
            while held and time.monotonic() < deadline:
                if not held & set(self.unacked_channels([worker])):
                    break
                time.sleep(0.5)
            ports = {other: local_ports(other, self.broker_port) for other in others}
            deadline = time.monotonic() + 5.0
            while time.monotonic() < deadline:
                taken = {port for _, port in self._unacked()}
                for other, mine in ports.items():
                    if mine & taken:
                        return f"worker {other}"
                time.sleep(0.3)
            return None
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker, signal.SIGCONT)


_SOCKET = re.compile(r"socket:\[(\d+)\]")
_CHANNEL_ERROR = re.compile(
    r"^(?P<at>\S+ \S+) \[error\] (?P<pid><[\d.]+>) Channel error on connection <[\d.]+> "
    r"\([^:]+:(?P<port>\d+) -> ")
_ACK_TIMEOUT = re.compile(
    r"^(?P<at>\S+ \S+) \[error\] (?P<pid><[\d.]+>) operation \S+ caused a channel "
    r"exception precondition_failed: delivery acknowledgement on channel \d+ timed out")


def parse_consumer_timeouts(text: str, pending: dict[tuple[str, str], int] | None = None
                            ) -> list[tuple[float, int, str]]:
    """The consumer timeouts in a RabbitMQ 3.10 log: (epoch seconds, peer port, text).

    The broker writes one channel error as two lines with the same time and channel
    process: "Channel error on connection <c> (127.0.0.1:PORT -> ...)" then "operation
    none caused a channel exception precondition_failed: delivery acknowledgement on
    channel N timed out". Only such pairs count (other channel errors are not timeouts).
    `pending` carries the first halves not yet matched from one piece of a log to the
    next (`ConsumerTimeoutLog`), since a read can end between the two lines.
    """
    found = []
    pending = {} if pending is None else pending
    for line in text.splitlines():
        error = _CHANNEL_ERROR.match(line)
        if error:
            pending[(error["at"], error["pid"])] = int(error["port"])
            continue
        timeout = _ACK_TIMEOUT.match(line)
        if timeout and (timeout["at"], timeout["pid"]) in pending:
            port = pending.pop((timeout["at"], timeout["pid"]))
            at = datetime.datetime.fromisoformat(timeout["at"]).timestamp()
            found.append((at, port, line.partition("] ")[2].partition("> ")[2][:160]))
    return found


class ConsumerTimeoutLog:
    """The consumer timeouts of a node's log folder, read incrementally.

    Why: the adapter asks at every `observe()`, and re-reading whole logs made a run's
    cost grow with the square of its log. Each file keeps its read offset, the tail of
    an unfinished last line and the unmatched first halves of pairs; a file that shrank
    (rotated or truncated) is read again from its start, and what it gave before is
    dropped.
    """

    def __init__(self) -> None:
        self._files: dict[Path, _LogFile] = {}

    def read(self, folder: Path) -> list[tuple[float, int, str]]:
        """Every consumer timeout in `folder`'s ``*.log`` files so far, oldest file first."""
        found: list[tuple[float, int, str]] = []
        for log in sorted(folder.glob("*.log")):
            state = self._files.setdefault(log, _LogFile())
            with contextlib.suppress(OSError):
                state.advance(log)
            found += state.found
        return found


class _LogFile:
    """Where `ConsumerTimeoutLog` is in one log file."""

    def __init__(self) -> None:
        self.offset = 0
        self.partial = b""
        self.pending: dict[tuple[str, str], int] = {}
        self.found: list[tuple[float, int, str]] = []

    def restart(self) -> None:
        """Forget the file: it was cut, so its next read starts at its beginning."""
        self.offset, self.partial, self.pending, self.found = 0, b"", {}, []

    def advance(self, log: Path) -> None:
        with log.open("rb") as handle:
            if os.fstat(handle.fileno()).st_size < self.offset:
                self.restart()
            handle.seek(self.offset)
            data = handle.read()
        self.offset += len(data)
        whole, newline, rest = (self.partial + data).rpartition(b"\n")
        if not newline:
            self.partial = rest
            return
        self.partial = rest
        self.found += parse_consumer_timeouts(whole.decode(errors="replace"), self.pending)


def _ports(pids: Sequence[int], remote_port: int) -> set[int]:
    return {port for pid in pids for port in local_ports(pid, remote_port)}


def local_ports(pid: int, remote_port: int) -> set[int]:
    """Local TCP ports of `pid`'s sockets connected to 127.0.0.1-ish `remote_port`."""
    inodes = set()
    with contextlib.suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                match = _SOCKET.fullmatch(os.readlink(fd))
                if match:
                    inodes.add(match.group(1))
    ports = set()
    for table in ("tcp", "tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
                fields = line.split()
                if len(fields) > 9 and fields[9] in inodes:
                    local, remote = fields[1], fields[2]
                    if int(remote.rpartition(":")[2], 16) == remote_port:
                        ports.add(int(local.rpartition(":")[2], 16))
    return ports
