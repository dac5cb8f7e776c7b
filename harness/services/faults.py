"""Faults of the real services, as plain functions the nemesis (or a test) calls.

Each takes the ``Server`` a provider handed out and returns what it did, for the fault
log. Restarts and kills need a server the harness started (``server.control``); cutting
connections needs ``rabbitmqctl`` access to the node (``server.node``). A fault that
cannot be done on this server raises ``FaultUnavailable`` saying why, so the runner can
report the clause "unknown" instead of silently passing.

- ``restart_broker`` / ``restart_database``: clean stop or kill -9 of every process of
  the server, then a start on the same port (clients reconnect to the same URL).
- ``cut_connections``: the broker closes the AMQP connections whose client name matches,
  while the client process keeps running: the duplicate-executor case (AiiDA #1748,
  #5278): its unacked message goes to another consumer while it still executes.
- ``set_consumer_timeout``: deliveries unacked for longer are taken back by the broker
  (AiiDA #5105); the node restarts to apply it.
"""

from __future__ import annotations

import fnmatch
import re
import time
from dataclasses import dataclass

from harness.services._proc import find_binary, run
from harness.services.base import Server, ServerControl, ServiceError

CONNECTION_NAME = re.compile(r'\{"connection_name",(?:longstr,)?"([^"]*)"\}')
CONNECTION_PID = re.compile(r"<[^<>\s\"]+\.\d+\.\d+(?:\.\d+)?>")


class FaultUnavailable(ServiceError):
    """This fault cannot be injected into this server; the message says why."""

    def __init__(self, fault: str, server: Server, reason: str) -> None:
        self.fault = fault
        self.server = server
        self.reason = reason
        super().__init__(f"fault {fault} on {server.kind} at {server.url}: {reason}")


@dataclass(frozen=True)
class FaultRecord:
    fault: str
    target: str
    started: float  # time.time(), comparable with the engine's event log
    seconds: float  # how long the server was unavailable (0 for a cut)
    detail: str = ""


def _control(fault: str, server: Server) -> ServerControl:
    if server.control is None:
        raise FaultUnavailable(fault, server, "the harness did not start this server, so it "
                               "may not stop it; use the local-binaries provider")
    return server.control


def _restart(fault: str, server: Server, kill: bool, down_for: float) -> FaultRecord:
    control = _control(fault, server)
    started = time.time()
    clock = time.monotonic()
    control.kill() if kill else control.stop()
    if down_for > 0:
        time.sleep(down_for)
    control.start()
    return FaultRecord(fault, server.kind, started, time.monotonic() - clock,
                       "kill -9" if kill else "clean stop")


def restart_broker(server: Server, kill: bool = False, down_for: float = 0.0) -> FaultRecord:
    """Stop (or kill -9) RabbitMQ, wait ``down_for`` s, start it on the same port."""
    return _restart("broker_restart", server, kill, down_for)


def restart_database(server: Server, kill: bool = False, down_for: float = 0.0) -> FaultRecord:
    """Stop (or kill -9 with every backend) PostgreSQL, then start it on the same port."""
    return _restart("database_restart", server, kill, down_for)


def _ctl(fault: str, server: Server) -> list[str]:
    inside = getattr(server.control, "exec_argv", None)  # a container: its own CLI
    if inside is not None:
        return [*inside, "rabbitmqctl", "-q"]
    ctl = find_binary("rabbitmqctl", ("/usr/lib/rabbitmq/bin",))
    if ctl is None or server.node is None:
        raise FaultUnavailable(fault, server, "needs rabbitmqctl and the node name "
                               "(WFCONFORM_RABBITMQ_NODE for a server given by URL)")
    return [ctl, "-n", server.node, "-q"]


def connections(server: Server) -> list[tuple[str, str]]:
    """(connection pid, client connection_name) of every AMQP connection on the node."""
    out = run([*_ctl("list_connections", server), "list_connections", "--no-table-headers",
               "pid", "client_properties"]).stdout
    found = []
    for line in out.splitlines():
        pid, _, props = line.partition("\t")
        match = CONNECTION_NAME.search(props)
        if pid.startswith("<"):
            found.append((pid, match.group(1) if match else ""))
    return found


def cut_connections(server: Server, name_pattern: str,
                    reason: str = "wfconform fault: connection cut",
                    listing: list[tuple[str, str]] | None = None) -> FaultRecord:
    """Close, from the broker's side, the connections whose name matches ``name_pattern``.

    The client processes keep running; their unacked deliveries are redelivered now.
    ``listing`` (from ``connections``, taken beforehand) saves one rabbitmqctl call
    (about 0.7 s) when the cut must land inside a short window.
    """
    ctl = _ctl("connection_cut", server)
    started = time.time()
    victims = [(pid, name) for pid, name in (listing or connections(server))
               if fnmatch.fnmatchcase(name, name_pattern)]
    close_connections(ctl, [pid for pid, _ in victims], reason)
    return FaultRecord("connection_cut", server.kind, started, 0.0,
                       ", ".join(name for _, name in victims))


def close_connections(ctl: list[str], pids: list[str], reason: str) -> str:
    """Close these AMQP connections (pids as ``list_connections`` prints them) from the
    broker's side, all in one ``rabbitmqctl`` call.

    Why one call: each ``rabbitmqctl`` boots an Erlang VM, 1-2 s on a quiet machine and
    15-30 s at load 35 (measured, ``docker exec`` into a container); one
    ``close_connection`` per connection made a cut of a few connections last up to 118 s,
    near ``MAX_EXCUSED_OUTAGE``, past which a correct engine's launch times out. A pid
    no longer alive is skipped (``catch``), as ``close_connection`` would fail alone.
    """
    if not pids:
        return ""
    if any(not CONNECTION_PID.fullmatch(pid) for pid in pids):
        raise ValueError(f"not connection pids as rabbitmqctl prints them: {pids}")
    text = re.sub(r'["\\]', "'", reason)  # an Erlang string literal, kept simple
    listed = ", ".join(f'"{pid}"' for pid in pids)
    done = run([*ctl, "eval", f'[catch rabbit_networking:close_connection('
                f'rabbit_misc:string_to_pid(P), "{text}") || P <- [{listed}]].'], check=False)
    return done.stdout.strip()


def set_consumer_timeout(server: Server, milliseconds: int | None) -> FaultRecord:
    """Restart the broker so that deliveries unacked for ``milliseconds`` are taken back.

    ``None`` restores the default. Needs a node the harness started: RabbitMQ reads the
    timeout's check interval only at boot.
    """
    if milliseconds is not None and milliseconds <= 0:
        raise ValueError(f"consumer timeout must be positive milliseconds, got {milliseconds}")
    control = _control("consumer_timeout", server)
    configure = getattr(control, "set_consumer_timeout", None)
    if configure is None:
        raise FaultUnavailable("consumer_timeout", server, "its control cannot configure "
                               "the consumer timeout")
    configure(milliseconds)
    record = _restart("consumer_timeout", server, kill=False, down_for=0.0)
    return FaultRecord("consumer_timeout", server.kind, record.started, record.seconds,
                       f"{milliseconds} ms" if milliseconds else "default")
