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
  a silent no-op, and before doing anything. ``supports(operation)`` answers the same
  question up front (names in ``OPERATIONS``). A fault it cannot do is skipped and the
  rest of the scenario runs, judged without that fault; a plan operation it cannot do
  makes the scenario not applicable. Never is either reported as passed.
- Ids are strings (``"7"``, a UUID, ...); only equality matters to the harness.
- "No outputs" is ``{}``, not None; ``wait()`` is also called with the ids of
  calculations (during heal, for every process ``observe()`` shows active).

For engines unlike AiiDA, ``ProcessView`` has optional fields: a cache source named by
storage key (``cache_key``, ``cached_from_key``), several labels of one process
(``aliases``) and a new id per attempt (``attempt_of``). docs/adapters.md is the guide.

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
from scenarios.values import values_equal

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
    id of the cache source when the engine says this node is a cache hit. ``outputs`` is
    ``{}`` for a process that returned nothing (None only when the engine cannot tell).

    Optional, for engines unlike AiiDA (docs/adapters.md; defaults keep today's meaning):

    - ``cache_key``: the storage key under which the engine stored this process's result,
      and ``cached_from_key``: the key a cache hit read its result from, for an engine
      that names a cache source by key rather than by process. A view with
      ``cached_from_key`` is a hit; its source is the process whose ``cache_key`` it is
      (``Observation.source_of``).
    - ``aliases``: further scenario paths of this same process, for an engine that gives
      one id several labels (a relaunch done by retrying the same run).
    - ``attempt_of``: the id of the earlier attempt this process continues, for an engine
      that gives a calculation a new id per attempt; the attempts together are one
      process for the continuation clauses (``Observation.identity``).
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
    cache_key: str | None = None
    cached_from_key: str | None = None
    aliases: tuple[str, ...] = ()
    attempt_of: str | None = None

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL_STATES

    @property
    def is_hit(self) -> bool:
        """Whether the engine says this node is a cache hit (by source id or by key)."""
        return self.cached_from is not None or self.cached_from_key is not None

    @property
    def paths(self) -> tuple[str, ...]:
        """Every scenario path of this process: ``path`` first, then ``aliases``."""
        return tuple(dict.fromkeys((*(() if self.path is None else (self.path,)),
                                    *self.aliases)))


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
        """The processes at scenario ``path`` (their ``path`` or one of their ``aliases``)."""
        return tuple(p for p in self.processes if p.path == path or path in p.aliases)

    def stored_under(self, key: str) -> tuple[ProcessView, ...]:
        """The processes whose result the engine stored under cache key ``key``."""
        return tuple(p for p in self.processes if p.cache_key == key)

    def source_of(self, hit: ProcessView) -> ProcessView | None:
        """The cache source of ``hit``: the process named by ``cached_from``, else the one
        whose result is stored under ``cached_from_key``; None when there is none.

        Several processes may have stored under one key (a store that overwrites): the
        source is then one whose outputs the hit returned, preferring finished ones, so
        that a correct hit is never misjudged; with no such process, the latest finished
        writer (or the latest writer), so that K2 names what the hit should have returned.
        Processes that executed are preferred to other hits of the key (which report it
        too but wrote nothing): a hit is never taken for the source of an earlier one.
        """
        if hit.cached_from is not None:
            return self.get(hit.cached_from)
        if hit.cached_from_key is None:
            return None
        writers = [p for p in self.stored_under(hit.cached_from_key) if p.id != hit.id]
        writers = [p for p in writers if not p.is_hit] or writers
        if not writers:
            return None
        same = [p for p in writers if _same_map(p.outputs, hit.outputs)]
        pool = same or writers
        finished = [p for p in pool if p.state == "finished"]
        return (finished or pool)[-1]

    def identity(self, view: ProcessView) -> str:
        """The stable id of ``view`` across attempts: the first attempt's id, following
        ``attempt_of`` (the view's own id for engines that keep one id per process)."""
        seen = {view.id}
        current = view
        while current.attempt_of is not None and current.attempt_of not in seen:
            seen.add(current.attempt_of)
            earlier = self.get(current.attempt_of)
            if earlier is None:
                return current.attempt_of
            current = earlier
        return current.id


def _same_map(left: Mapping[str, Any] | None, right: Mapping[str, Any] | None) -> bool:
    """Typed equality of two output maps (as the checks' ``same_outputs``): ``1 != 1.0``."""
    if left is None or right is None:
        return left is right
    return values_equal(dict(left), dict(right))


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
