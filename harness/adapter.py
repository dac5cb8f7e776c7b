"""The adapter protocol: everything the harness asks of an engine, and nothing more.

Engine authors implement ``EngineAdapter`` in one module (see ``harness.adapters``
and the README's "Writing an adapter"). The harness calls, per scenario, on a fresh
adapter instance::

    open(session)                        # fresh database/namespace, start workers
    arm_crashpoint(...), fail_commit(...)  # zero or more, all before the first launch
    launch / relaunch / wait / set_caching / invalidate / kill_process   # the plan
    kill_worker / restart_broker / ...   # faults, from the nemesis thread
    disarm_all()                         # heal: no more faults
    observe(), events()                  # the engine's view, for the history
    close()                              # always, also after errors and Ctrl-C

Contract, in short:

- The adapter runs the scenario's workflows and calculations as the engine's own
  process types, and calls ``harness.bodies.BodyRuntime.current().run(...)`` around
  every step body and calculation body (that writes the journal and injects body
  faults). Workers find the run's files through ``session.env()``.
- ``observe()`` names each process by its scenario *path* (its effect key: the launch
  label for a top-level workflow, ``<prefix>/<step>`` for a sub-workflow,
  ``<prefix>/<step>/<i>:<calc>`` for a calculation), so checks can compare the engine's
  view with the oracle's model.
- An operation the engine or tier cannot do raises ``harness.errors.Unsupported``, never
  a silent no-op: the scenario is then reported as not applicable, never as passed.
  ``supports(operation)`` answers the same question up front (names in ``OPERATIONS``).
- Ids are strings (``"7"``, a UUID, ...); only equality matters to the harness.

Optional parts (an adapter may leave them out; ``offers`` tells): the redelivery faults
``expire_lease`` and ``duplicate_delivery`` (``RedeliveryFaults``), and the engine's own
record of who claimed and who advanced each process, ``ownership()``
(``OwnershipRecorder``), from which clause C5 judges what the journal cannot show: a stale
commit from a worker whose task was taken over leaves no overlapping effects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from harness.session import Session
from scenarios.capabilities import Capabilities

__all__ = [
    "ACTIVE_STATES",
    "OPERATIONS",
    "OPTIONAL_METHODS",
    "OWNERSHIP_ACTIONS",
    "TERMINAL_STATES",
    "EngineAdapter",
    "Handle",
    "Observation",
    "OutageFaults",
    "Ownership",
    "OwnershipRecorder",
    "ProcessView",
    "RedeliveryFaults",
    "offers",
]

TERMINAL_STATES = frozenset({"finished", "excepted", "killed"})
ACTIVE_STATES = frozenset({"created", "running", "waiting"})
OPERATIONS: tuple[str, ...] = (
    "launch", "relaunch", "set_caching", "invalidate", "kill_process",
    "raise_in", "kill_at_crashpoint", "kill_on_effect", "restart_broker",
    "restart_database", "drop_connection", "events", "fail_commit", "expire_lease",
    "duplicate_delivery", "ownership", "pause_service", "partition_service",
)
"""Names ``supports()`` answers for: plan operations, fault kinds and optional views."""

OPTIONAL_METHODS: frozenset[str] = frozenset({"expire_lease", "duplicate_delivery",
                                              "ownership", "pause_service",
                                              "partition_service"})
"""Operations that are adapter methods outside ``EngineAdapter``: an adapter written before
them has no such method, whatever its ``supports`` says (see ``offers``)."""

OWNERSHIP_ACTIONS = ("claim", "commit")


@dataclass(frozen=True)
class Handle:
    """A launched top-level process: the scenario's label and the engine's id."""

    label: str
    id: str


@dataclass(frozen=True)
class ProcessView:
    """One process as the engine reports it at the end of a run.

    ``path`` is the scenario place (see the module docstring) or None if the adapter
    cannot tell; ``name`` the scenario workflow or calculation name; ``cached_from`` the
    id of the cache source when the engine says this node is a cache hit.
    """

    id: str
    path: str | None
    kind: str  # "workflow" | "calculation"
    name: str
    state: str
    exit_status: int | None
    outputs: Mapping[str, Any] | None
    parent: str | None = None
    children: tuple[str, ...] = ()
    restart_of: str | None = None
    cached_from: str | None = None

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL_STATES


@dataclass(frozen=True)
class Observation:
    """The engine's view of every process of the run."""

    processes: tuple[ProcessView, ...] = ()
    _by_id: dict[str, ProcessView] = field(default_factory=dict, init=False, repr=False,
                                           compare=False)

    def __post_init__(self) -> None:
        self._by_id.update((p.id, p) for p in self.processes)

    def get(self, process_id: str | None) -> ProcessView | None:
        return None if process_id is None else self._by_id.get(process_id)

    def at_path(self, path: str) -> tuple[ProcessView, ...]:
        return tuple(p for p in self.processes if p.path == path)


@dataclass(frozen=True)
class Ownership:
    """One entry of the engine's own record of claims and commits of a process (C5).

    ``action`` is ``claim`` (``owner`` took the process's task, holding ``version``) or
    ``commit`` (``owner`` tried to advance the process from the ``version`` it claimed;
    ``accepted`` says whether the engine applied the write or its fence refused it).
    ``version`` is None when the engine keeps no version: then the order of the records
    (the engine's commit order) says which claim is the latest. ``detail`` names the
    write (``commit_transition``, ``finished``, ...), for the witness only.
    """

    process: str
    action: str  # "claim" | "commit"
    owner: str
    version: int | None = None
    accepted: bool = True
    detail: str = ""


@runtime_checkable
class OwnershipRecorder(Protocol):
    """Optional view: ``supports("ownership")`` and this method."""

    def ownership(self) -> tuple[Ownership, ...]:
        """Every claim and commit of every process of the run, in the engine's order.

        Only what the engine itself recorded (its task table, its fence's answers); a
        record an engine cannot give (refused commits, versions) is left out, not guessed.
        """
        ...


@runtime_checkable
class RedeliveryFaults(Protocol):
    """Optional faults that redeliver a task to another worker while its holder lives.

    ``worker`` is the journal's worker of the entry the fault waits for (the holder).
    Both return once another worker has claimed the holder's task (its name, for the
    fault log) or, if none did within a few seconds, None; the holder is held (the
    nemesis's gate) until then and only then goes on to its commit, which a correct
    engine must refuse.
    """

    def expire_lease(self, worker: int) -> str | None:
        """The holder freezes past its lease (a long pause): the lease runs out."""
        ...

    def duplicate_delivery(self, worker: int) -> str | None:
        """The queue delivers the holder's task again, to another worker."""
        ...


class OutageFaults(Protocol):
    """Optional faults of a service that stays alive but out of reach for a while
    (servers in containers allow them). ``service`` is ``"broker"`` or ``"database"``.

    Each call lasts the outage: it freezes or cuts off the service, waits ``seconds``,
    heals it and returns once clients can reach it again. The nemesis runs it on a
    thread of its own, so the engine works (or hangs) meanwhile, and logs it when healed.
    """

    def pause_service(self, service: str, seconds: float) -> None:
        """Freeze the server (``docker pause``): connections hang, nothing fails."""
        ...

    def partition_service(self, service: str, seconds: float) -> None:
        """Cut the network between the workers and the server; the server lives on."""
        ...


def offers(adapter: object, operation: str) -> bool:
    """Whether ``adapter`` can do ``operation``: it says so, and an optional one (see
    ``OPTIONAL_METHODS``) is a method it has. Why both: adapters written before an
    optional operation existed answer ``supports`` for names they never heard of."""
    supports = getattr(adapter, "supports", None)
    if supports is None or not supports(operation):
        return False
    return operation not in OPTIONAL_METHODS or callable(getattr(adapter, operation, None))


@runtime_checkable
class EngineAdapter(Protocol):
    """What the harness needs from an engine; one fresh instance per scenario run."""

    name: str
    tier: str

    def capabilities(self) -> Capabilities:
        """The clauses the engine promises and its declared choices (see ``Capabilities``)."""
        ...

    def supports(self, operation: str) -> bool:
        """Whether this adapter and tier can perform ``operation`` (see ``OPERATIONS``)."""
        ...

    def open(self, session: Session) -> None:
        """Fresh, isolated engine state in ``session.workdir``; workers get ``session.env()``."""
        ...

    def close(self) -> None:
        """Stop everything ``open`` started; idempotent; must not raise on a half-open run."""
        ...

    def launch(self, label: str, workflow: str, inputs: Mapping[str, Any]) -> Handle:
        """Submit a top-level process of scenario workflow ``workflow``; don't wait."""
        ...

    def relaunch(self, label: str, of: Handle) -> Handle:
        """Submit a new instance from the inputs of terminated process ``of`` (restart builder)."""
        ...

    def wait(self, handle: Handle, timeout: float) -> str | None:
        """The terminal state of ``handle``, or None if still active after ``timeout`` s."""
        ...

    def kill_process(self, handle: Handle) -> None:
        """Ask the engine to kill the process (and its active children); no-op if terminal."""
        ...

    def kill_worker(self, pid: int | None = None) -> int:
        """SIGKILL the worker ``pid`` (or any worker) now; return the pid killed."""
        ...

    def arm_crashpoint(self, crashpoint: str, target: str, attempt: int) -> None:
        """Make the worker die at ``crashpoint`` on ``target``'s ``attempt``-th begin."""
        ...

    def fail_commit(self, target: str, attempt: int) -> None:
        """Make the engine's commit of ``target``'s checkpoint after its ``attempt``-th
        begin fail (the database refuses that transaction; ``Unsupported`` if it cannot).

        Optional for third-party adapters: the nemesis treats a missing method as
        ``Unsupported``."""
        ...

    def disarm_all(self) -> None:
        """Heal: no armed kill or refused commit fires any more; workers keep running."""
        ...

    def restart_broker(self, hard: bool) -> None:
        """Restart the message broker (``hard``: SIGKILL it); ``Unsupported`` if none."""
        ...

    def restart_database(self) -> None:
        """Restart the database server; ``Unsupported`` if it is embedded."""
        ...

    def drop_connection(self) -> None:
        """Drop the workers' broker and database connections; ``Unsupported`` if impossible."""
        ...

    def set_caching(self, default: bool, enabled: tuple[str, ...],
                    disabled: tuple[str, ...]) -> None:
        """Replace the caching configuration (fnmatch patterns over calculation names)."""
        ...

    def invalidate(self, handle: Handle, calc_path: str) -> None:
        """Stop the node at ``<handle.label>/<calc_path>`` from serving as a cache source."""
        ...

    def observe(self) -> Observation:
        """Every process of the run as the engine sees it now."""
        ...

    def events(self) -> tuple[Mapping[str, Any], ...]:
        """The engine's own log of state changes and crashes, if it has one; else ()."""
        ...

    def diagnose(self, handle: Handle) -> str:
        """Why an active process does not progress (no task, task held, ...); free text."""
        ...
