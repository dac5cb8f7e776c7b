"""The adapter for wfconform's own reference engine.

Tiers are small classes over one shared adapter: ``embedded`` (SQLite file in the run's
work directory, worker OS processes under an in-process daemon) and ``real`` are tier
classes that say how to open the store and start workers, and which faults the tier
can inject (see ``_TIERS``). ``sim`` has no daemon and no OS workers, so ``make_adapter``
gives it its own subclass (``reference_sim.SimReferenceAdapter``).

Crash points: kills before or after a body's effect are executed by the body itself
(``harness.bodies``), which counts attempts across the scenario exactly as fault plans
do; kills after the engine's checkpoint (``after_checkpoint_before_ack``,
``while_waiting``) use the engine's own crashpoints, armed one attempt ahead by the
body hook in ``reference_workflows``. A refused checkpoint commit (``fail_commit``) is
the engine's ``fail_commit`` fault point, armed the same way.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update

from harness.adapter import Handle, Observation, Ownership, ProcessView
from harness.adapters.reference_arrays import ARRAYS, from_engine, to_engine
from harness.adapters.reference_real import WORKERS_READY_SECONDS, RealTier
from harness.adapters.reference_workflows import (
    DB_ENV_VAR,
    LAUNCHES_FILE,
    ScenarioTypes,
    engine_target,
    register,
)
from harness.command_scope import shared
from harness.errors import AdapterSpecError, Unsupported
from harness.journal import AppendLog
from harness.session import BODY_CRASHPOINTS, BodyPlan, Session
from reference_engine import Daemon, Engine, NoSuchProcessError, WaitTimeoutError
from reference_engine.crashpoints import FAIL_COMMIT
from reference_engine.loader import check_inputs, kind_of
from reference_engine.runtime.daemon import worker_module
from reference_engine.runtime.warm import warm_workers
from reference_engine.runtime.worker import LOG_ENV_VAR as WORKER_LOG_ENV
from reference_engine.storage.schema import events as event_table
from reference_engine.storage.schema import tasks
from scenarios.capabilities import ALL_CLAUSES, Capabilities
from scenarios.faults import CRASHPOINTS, OUTAGE_KINDS
from scenarios.plan import SetCaching, caching_enabled
from scenarios.values import VALUE_KINDS

__all__ = ["TIERS", "ReferenceAdapter", "make_adapter"]

TAKEOVER_SECONDS = 5.0
"""How long a redelivery fault waits for another worker to claim the task it freed."""
WARM_REFILL_DELAY = 0.3
"""Seconds a real-tier warm pool waits after a take before booting replacements
(``WarmWorkers``' ``refill_delay``: the taken workers open their connections first)."""
COMMIT_STATES = frozenset({"running", "waiting", "finished", "excepted"})
"""Event states a worker's accepted commit writes (a claim writes ``claimed``)."""
ENGINE_CRASHPOINTS = ("after_checkpoint_before_ack", "while_waiting")


@dataclass(frozen=True)
class _Tier:
    """What differs between tiers: where the store lives, how workers get their tasks,
    and which faults that makes possible. A ``real`` tier overrides ``database`` (a
    PostgreSQL URL per scenario) and ``daemon_options`` (``broker_url``)."""

    name: str
    unsupported: Mapping[str, str]

    def database(self, session: Session) -> str | os.PathLike[str]:
        return session.workdir / "engine.db"

    def daemon_options(self, session: Session) -> dict[str, Any]:
        return {}

    def engine_options(self, session: Session) -> dict[str, Any]:
        return {}

    def release(self, session: Session) -> None:
        return None

    def ready(self, session: Session, workers: int) -> None:
        """Return once the daemon's workers can take tasks (real tier: see ``RealTier``)."""
        return None

    def fault(self, operation: str, **options: Any) -> str | None:
        """Do a service fault; return None, or why this tier cannot."""
        return self.unsupported.get(operation, f"no {operation} on this tier")


_TIERS = {
    "embedded": _Tier("embedded", {
        "restart_broker": "the embedded tier has no broker (its task queue is a SQLite table)",
        "restart_database": "the embedded tier's database is a SQLite file, not a server",
        "drop_connection": "the embedded tier has no network connections to drop",
        **{kind: "the embedded tier has no server to freeze or cut off"
           for kind in OUTAGE_KINDS},
    }),
}
_TIERS["real"] = RealTier()  # type: ignore[assignment]  # same hooks, duck-typed
# In-process, seeded: opened by ``reference_sim.SimReferenceAdapter`` (``make_adapter``
# routes tier "sim" there); every fault is simulated except a frozen or unreachable
# server, which only containers give.
_TIERS["sim"] = _Tier("sim", {kind: "the simulation models no frozen or unreachable server"
                               for kind in OUTAGE_KINDS})
TIERS: tuple[str, ...] = tuple(_TIERS)
REFERENCE_VALUE_KINDS = frozenset(VALUE_KINDS) - (frozenset() if ARRAYS else {"array"})
"""Every kind of the value model; arrays as NumPy arrays (``reference_arrays``), which
the engine stores and hashes by dtype, shape and bytes, when NumPy is installed."""


REAL_CLIENTS = ("psycopg", "pika")
"""The real tier's client libraries: the ``real`` extra (``pip install -e '.[real]'``)."""


def _check_real_clients() -> None:
    """Say at once, in one line, what to install: not a ModuleNotFoundError after the
    servers were started."""
    import importlib.util

    missing = [name for name in REAL_CLIENTS if importlib.util.find_spec(name) is None]
    if missing:
        raise AdapterSpecError(
            "reference", f"tier 'real' needs {' and '.join(missing)}, not installed here",
            "install the real extra: python -m pip install -e '.[real]' (or "
            "'wfconform[real]'), or use --tier embedded")


class ReferenceAdapter:
    """Runs scenarios on the reference engine (``wfconform run --engine reference``)."""

    name = "reference"

    def __init__(self, tier: str = "embedded", workers: int = 2) -> None:
        if tier not in _TIERS:
            raise AdapterSpecError(
                "reference", f"tier {tier!r} is not available (tiers: {', '.join(TIERS)})",
                f"use --tier {' or --tier '.join(TIERS)}")
        if tier == "sim" and type(self) is ReferenceAdapter:
            raise AdapterSpecError("reference", "tier 'sim' runs in-process, without a daemon",
                                   "use make_adapter('sim') or reference_sim.SimReferenceAdapter")
        if tier == "real":
            _check_real_clients()
        self.tier = tier
        self._tier = _TIERS[tier]
        self.workers = workers
        self.engine: Engine | None = None
        self.daemon: Daemon | None = None
        self.session: Session | None = None
        self.types: ScenarioTypes | None = None
        self._labels: dict[str, str] = {}
        self._launches: AppendLog | None = None
        self._plan = BodyPlan()

    # ------------------------------------------------------------------ declaration
    def capabilities(self) -> Capabilities:
        """Everything, honestly: broker/database faults are not applicable on embedded.

        Kills are isolated: a worker executes one task at a time, and a step's children
        are created in the commit of its checkpoint (``runtime.executor``), so the oracle
        gives exact bounds for the kills it can place.
        """
        return Capabilities(
            promised=frozenset(ALL_CLAUSES),
            failed_source_policy="allow_unless_invalidating",
            hash_normalisations=frozenset(),
            crashpoints=frozenset(CRASHPOINTS),
            tiers=frozenset(TIERS),
            isolated_kills=True,
            value_kinds=REFERENCE_VALUE_KINDS,
        )

    def supports(self, operation: str) -> bool:
        return operation not in self._tier.unsupported

    def _unsupported(self, operation: str) -> Unsupported:
        return Unsupported(self.name, self.tier, operation.replace("_", " "),
                           self._tier.unsupported.get(operation, ""))

    # ------------------------------------------------------------------ lifecycle
    def open(self, session: Session) -> None:
        self.session = session
        self.types = register(session.scenario)
        self.engine = Engine(self._tier.database(session), **self._tier.engine_options(session))
        self._launches = session.open_log(session.workdir / LAUNCHES_FILE)
        env = {**session.env(), DB_ENV_VAR: self.engine.url, **self.worker_env(),
               # workers' logs and tracebacks to the session, not the user's terminal
               WORKER_LOG_ENV: str(session.workdir / "workers.log")}
        options = self._tier.daemon_options(session)
        # workers booted ahead, for the whole command (`wfconform run`/`fuzz`): their
        # imports were about half of a short embedded scenario's time
        module = worker_module(options.get("broker_url"))
        delay = WARM_REFILL_DELAY if options.get("broker_url") else 0.0
        warm = shared(f"reference-warm-workers:{module}",
                      lambda: warm_workers(self.workers, module, delay))
        self.daemon = Daemon(self.engine.url, self.workers, env, warm=warm,
                             **options).start()
        # the first launch's chaos budget is for the engine, not for booting its workers
        self.daemon.wait_serving(WORKERS_READY_SECONDS)
        self._tier.ready(session, self.workers)

    def worker_env(self) -> dict[str, str]:
        """Extra environment for the workers; empty here. A hook for subclasses that must
        act inside the worker processes (instrumentation, ``broken_reference`` variants)."""
        return {}

    def close(self) -> None:
        daemon, self.daemon = self.daemon, None
        try:
            if daemon is not None:
                daemon.stop()
        finally:
            if self.engine is not None:
                self.engine.close()
                self.engine = None
            if self._launches is not None:
                self._launches.close()
                self._launches = None
            if self.session is not None:
                self._tier.release(self.session)

    def _engine(self) -> Engine:
        if self.engine is None or self.types is None:
            raise RuntimeError("ReferenceAdapter used before open() or after close()")
        return self.engine

    # ------------------------------------------------------------------ the plan
    def launch(self, label: str, workflow: str, inputs: Mapping[str, Any]) -> Handle:
        engine = self._engine()
        assert self.types is not None
        type_string = self.types.workflows[workflow]
        values = {name: to_engine(value) for name, value in inputs.items()}
        problems = check_inputs(type_string, values)
        if problems:
            raise ValueError(f"launch {label}: {'; '.join(problems)}")
        # Store path, not Engine.submit: inputs named "process" or "label" would clash
        # with submit's own parameters.
        pid = engine.store.create_process(type_string, f"{label}@{workflow}",
                                          kind_of(type_string), values)
        return self._remember(label, pid)

    def relaunch(self, label: str, of: Handle) -> Handle:
        return self._remember(label, self._engine().relaunch(int(of.id)))

    def _remember(self, label: str, pid: int) -> Handle:
        assert self._launches is not None
        self._labels[str(pid)] = label
        self._launches.append({"process": str(pid), "label": label})
        return Handle(label, str(pid))

    def wait(self, handle: Handle, timeout: float) -> str | None:
        try:
            return self._engine().wait(int(handle.id), timeout=timeout).state
        except WaitTimeoutError:
            return None

    def kill_process(self, handle: Handle) -> None:
        self._engine().kill(int(handle.id))

    def set_caching(self, default: bool, enabled: tuple[str, ...],
                    disabled: tuple[str, ...]) -> None:
        """Resolved per type here: the engine's own rule (disabled wins) differs from the
        scenario language's (most specific pattern wins), so give it exact type lists."""
        assert self.types is not None
        config = SetCaching(default, enabled, disabled)
        on = [t for name, t in self.types.calculations.items() if caching_enabled(config, name)]
        off = [t for name, t in self.types.calculations.items() if t not in on]
        self._engine().set_caching(default=default, enabled=on, disabled=off)

    def invalidate(self, handle: Handle, calc_path: str) -> None:
        engine = self._engine()
        for view in self.observe().at_path(f"{handle.label}/{calc_path}"):
            engine.invalidate(int(view.id))

    # ------------------------------------------------------------------ faults
    def arm_crashpoint(self, crashpoint: str, target: str, attempt: int) -> None:
        if crashpoint not in CRASHPOINTS:
            raise Unsupported(self.name, self.tier, f"arm crashpoint {crashpoint!r}")
        if crashpoint not in BODY_CRASHPOINTS:
            self._arm_engine(crashpoint, target, attempt)
            return
        self._plan = self._plan.with_kill((crashpoint, target, attempt))
        assert self.session is not None
        self.session.write_plan(self._plan)

    def fail_commit(self, target: str, attempt: int) -> None:
        """The engine refuses the checkpoint commit after ``target``'s ``attempt``.

        Not armed in the engine by target (a fault point is read at claim time, so a
        sibling call of the same type claimed meanwhile would be refused too): the body
        hook asks the engine to refuse exactly the execution that is that attempt
        (``reference_workflows.arm_for_attempt``)."""
        self._plan = self._plan.with_kill((FAIL_COMMIT, target, attempt))
        assert self.session is not None
        self.session.write_plan(self._plan)

    def _arm_engine(self, point: str, target: str, attempt: int) -> None:
        """An engine crashpoint or fault point, armed one attempt ahead by the body hook
        (``reference_workflows.arm_for_attempt``); attempt 1 is armed here and now."""
        self._plan = self._plan.with_kill((point, target, attempt))
        if attempt == 1:
            self._engine().arm(point, engine_target(target), None)
        assert self.session is not None
        self.session.write_plan(self._plan)

    def disarm_all(self) -> None:
        self._plan = BodyPlan(active=False)
        if self.session is not None:
            self.session.write_plan(self._plan)
        self._engine().disarm_all()

    def kill_worker(self, pid: int | None = None) -> int:
        if self.daemon is None:
            raise RuntimeError("no daemon: open() first")
        return self.daemon.kill_worker(pid)

    def expire_lease(self, worker: int) -> str | None:
        """The lease of the task worker ``worker`` holds runs out (set in the past), as if
        the worker froze; returns the worker that claimed it next (see ``_take_over``)."""
        return self._take_over(worker, {"lease_expires": 0.0})

    def duplicate_delivery(self, worker: int) -> str | None:
        """The task worker ``worker`` holds is freed for another worker to claim."""
        return self._take_over(worker, {"lease_owner": None, "lease_expires": None})

    def _take_over(self, worker: int, values: dict[str, Any]) -> str | None:
        """Apply ``values`` to the tasks ``worker`` leases until another worker claimed
        one of their processes (re-applied: a heartbeat may renew the lease meanwhile);
        the new holder's owner name, or None after ``TAKEOVER_SECONDS``."""
        if self.daemon is None:
            raise RuntimeError("no daemon: open() first")
        owner = self.daemon.owner_of(worker)
        if owner is None:
            raise ValueError(f"no live worker with pid {worker}")
        db = self._engine().store.db
        with db.begin() as conn:
            held = list(conn.execute(select(tasks.c.process_id)
                                     .where(tasks.c.lease_owner == owner)).scalars())
            mark = conn.execute(select(event_table.c.id).order_by(event_table.c.id.desc())
                                .limit(1)).scalar() or 0
        deadline = time.monotonic() + TAKEOVER_SECONDS
        while held:
            with db.begin() as conn:
                conn.execute(update(tasks).where(tasks.c.lease_owner == owner,
                                                 tasks.c.process_id.in_(held)).values(**values))
                taken = conn.execute(select(event_table.c.worker).where(
                    event_table.c.id > mark, event_table.c.state == "claimed",
                    event_table.c.process_id.in_(held), event_table.c.worker != owner,
                ).limit(1)).scalar()
            if taken is not None or time.monotonic() > deadline:
                return taken
            time.sleep(0.005)
        return None

    def restart_broker(self, hard: bool) -> None:
        self._fault("restart_broker", hard=hard)

    def restart_database(self) -> None:
        self._fault("restart_database")

    def drop_connection(self) -> None:
        self._fault("drop_connection")

    def pause_service(self, service: str, seconds: float) -> None:
        self._fault("pause_service", service=service, seconds=seconds)

    def partition_service(self, service: str, seconds: float) -> None:
        self._fault("partition_service", service=service, seconds=seconds)

    def _fault(self, operation: str, **options: Any) -> None:
        reason = self._tier.fault(operation, **options)
        if reason is not None:
            raise Unsupported(self.name, self.tier, operation.replace("_", " "), reason)

    # ------------------------------------------------------------------ views
    def observe(self) -> Observation:
        return Observation(tuple(self._view(r) for r in self._engine().list()))

    def _view(self, record: Any) -> ProcessView:
        place, _, workflow = record.label.rpartition("@")
        if record.kind == "workflow":
            path = self._labels.get(str(record.id)) if record.parent_id is None else place
            name = workflow
        else:
            path, name = record.label, record.label.rpartition(":")[2]
        return ProcessView(
            id=str(record.id), path=path, kind=record.kind, name=name, state=record.state,
            exit_status=record.exit_status, outputs=self._outputs(record),
            parent=_str(record.parent_id), children=tuple(str(c) for c in record.children),
            restart_of=_str(record.restart_of), cached_from=_str(record.cached_from))

    def _outputs(self, record: Any) -> Any:
        """A record's outputs as the harness sees them (arrays as ``NumArray``)."""
        return from_engine(record.outputs)

    def events(self) -> tuple[Mapping[str, Any], ...]:
        return tuple(
            {"id": e["id"], "process": str(e["process_id"]), "state": e["state"],
             "worker": e["worker"], "at": e["at"]}
            for e in self._engine().store.events())

    def ownership(self) -> tuple[Ownership, ...]:
        """Claims and accepted commits from the engine's event log, in commit order.

        The log names the owner of each claim (``claimed``) and of each commit (the state
        it wrote); it keeps no versions and no refused commits, so neither is given.
        """
        out = []
        for e in self._engine().store.events():
            worker, state = e["worker"], e["state"]
            if worker is None:
                continue
            if state == "claimed":
                out.append(Ownership(str(e["process_id"]), "claim", worker))
            elif state in COMMIT_STATES:
                out.append(Ownership(str(e["process_id"]), "commit", worker, detail=state))
        return tuple(out)

    def diagnose(self, handle: Handle) -> str:
        """Classify a stuck process from the engine's tables (L1's reason)."""
        store = self._engine().store
        try:
            record = store.get(int(handle.id))
        except NoSuchProcessError:
            return "the process does not exist in the engine"
        if record.is_terminal:
            return f"not stuck: {record.state}"
        if record.id in store.active_without_task():
            return f"no task: {record.state} with no task in the queue (lost task)"
        if record.state == "waiting":
            active = [c for c in record.children if not store.get(c).is_terminal]
            return f"waiting on active children {active}" if active else (
                "waiting with all children terminal but not woken (lost wake-up)")
        pids = self.daemon.worker_pids() if self.daemon else []
        return f"task held or not claimed ({record.state}); live workers: {pids}"


def _str(value: int | None) -> str | None:
    return None if value is None else str(value)


def make_adapter(tier: str = "embedded") -> ReferenceAdapter:
    """Factory used by ``load_adapter('reference', tier)``."""
    workers = int(os.environ.get("WFCONFORM_WORKERS", "2"))
    if tier == "sim":
        from harness.adapters.reference_sim import SimReferenceAdapter

        return SimReferenceAdapter(workers=workers)
    return ReferenceAdapter(tier, workers=workers)

