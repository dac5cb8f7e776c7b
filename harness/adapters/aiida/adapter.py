"""The adapter for real aiida-core (2.9): `wfconform run --engine aiida`.

Scenario workflows run as one generic `ScenarioWorkChain` (see `workchain`),
calculations as generated calcfunctions or as `core.arithmetic.add` CalcJobs on a bash
code (`calcs`), in a throwaway profile (`profile`): tier
`sqlite` is SQLite storage, a vhost on the machine's RabbitMQ and one circus daemon
worker; tier `psql` is AiiDA as deployed, `core.psql_dos` storage and RabbitMQ on
throwaway servers of the harness's own (`services`) and two workers.
Bodies run the harness's body protocol (`harness.bodies`), so journal, attempt
counting, `RaiseIn` and the body crashpoints are exactly the reference engine's.

Isolation: building a profile costs seconds, so one profile serves every scenario of
a harness process (closed at exit, or by `close_shared_profile()`); each scenario gets
fresh daemon workers started with its session (by the circus that stays up for the
run: `ThrowawayProfile.start_workers`), its own generated process types, the
caching configuration reset to AiiDA's default (off), the profile's process queue
purged, and the hashes of all earlier calculation nodes cleared, so nothing from an
earlier scenario can be a cache source or a task. `WFCONFORM_AIIDA_ISOLATION=profile`
makes a fresh profile per scenario instead.

Crashpoints: AiiDA has none, so all five are emulated, honestly placed (see
`BODY_CRASHPOINTS` and `crashpoints`); the two after a checkpoint only for
WorkChain step targets. What AiiDA cannot do here is `Unsupported`, never a silent no-op:
on `sqlite`, broker and database restarts (the machine's RabbitMQ is shared, SQLite is
no server) and dropped connections; on both, values AiiDA cannot store (NaN,
infinities, `.` in dict keys). On `psql` the service faults are real (see `_FAULTS`).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator, Mapping
from typing import Any

from harness.adapter import Handle, Observation
from harness.adapters.aiida.calcs import TABLE_FILE, CalcTable, build_table, write_modules
from harness.adapters.aiida.crashpoints import ENGINE_CRASHPOINTS
from harness.adapters.aiida.isolation import clear_hashes, fresh_reads, purge_queue
from harness.adapters.aiida.profile import ThrowawayProfile
from harness.errors import AdapterSpecError, Unsupported
from harness.session import BODY_CRASHPOINTS as SESSION_BODY_CRASHPOINTS
from harness.session import BodyPlan, Session
from scenarios.capabilities import ALL_CLAUSES, Capabilities
from scenarios.plan import SetCaching, caching_enabled

__all__ = [
    "BODY_CRASHPOINTS",
    "TIERS",
    "AiidaAdapter",
    "close_shared_profile",
    "make_adapter",
    "shared_profile",
]

TIERS: tuple[str, ...] = ("sqlite", "psql")
"""`sqlite`: storage `core.sqlite_dos`, broker RabbitMQ (a fresh vhost), circus daemon.
`psql`: storage `core.psql_dos` and RabbitMQ on throwaway servers, two daemon workers."""

_FAULTS = {
    "restart_broker": "RabbitMQ node stopped cleanly (hard: kill -9), started on the same port",
    "restart_database": "PostgreSQL killed -9 with every backend, started on the same port",
    "drop_connection": "every worker's AMQP connection closed by the broker and its "
                       "PostgreSQL backends terminated; the workers run on",
    "duplicate_delivery": "the holder's AMQP connection closed by the broker while the "
                          "worker runs on: its unacked task is delivered again (emulated "
                          "redelivery; AiiDA has no such operation)",
    "expire_lease": "the holder SIGSTOPped until RabbitMQ's consumer_timeout (5 s for such "
                    "scenarios, set before the workers start) closed its channel, then "
                    "SIGCONTed (emulated: AiiDA has no lease; the consumer timeout is one). "
                    "The timeout holds for every channel of the scenario: each channel "
                    "the broker closes for it is recorded as a fired consumer_timeout fault",
}
"""What the service faults are on the psql tier (all on the harness's own servers)."""

BODY_CRASHPOINTS: tuple[str, ...] = SESSION_BODY_CRASHPOINTS
"""Crashpoints emulated by a worker SIGKILLing itself inside a body (`harness.bodies`).

In AiiDA terms: `after_claim` and `before_effect` both land at the start of a WorkChain
step or calcfunction body, after the worker received the task and loaded the last
checkpoint (AiiDA has nothing user code can reach in between, so they coincide);
`after_effect_before_checkpoint` lands after the body's journal entry and before the
step returns, i.e. before AiiDA saves the step's checkpoint (for a calcfunction: before
it returns its outputs). `after_checkpoint_before_ack` and `while_waiting` are inside
plumpy/kiwipy; `crashpoints` lands them from AiiDA's own process state.
"""

_UNSUPPORTED = {
    "restart_broker": "the AiiDA tier uses the machine's shared RabbitMQ, which the harness "
                      "must not restart",
    "restart_database": "the AiiDA tier stores in SQLite (core.sqlite_dos), not a server",
    "drop_connection": "not built: AiiDA's SQLite storage has no connection to drop",
    "events": "AiiDA keeps no log of state changes beyond the nodes observe() reads",
    "fail_commit": "not built: the harness has no hook inside AiiDA's checkpoint commit "
                   "(plumpy's persister saves it in the daemon worker's own transaction)",
    "expire_lease": "not built: AiiDA's tasks are RabbitMQ messages, not leases in a table",
    "duplicate_delivery": "not built: the shared RabbitMQ must not be made to redeliver",
    "ownership": "AiiDA records no claims or commits of a process beyond its node",
}
"""Unsupported on the sqlite tier; on psql, those not in `_FAULTS` stay unsupported."""

_SHARED: ThrowawayProfile | None = None

_BETWEEN_SCENARIOS_GRACE = 2.0
"""Seconds a worker gets to stop on SIGTERM after a scenario was observed (then SIGKILL):
a graceful AiiDA worker shutdown took 8 s at load 28, and nothing is left to watch."""


def shared_profile(workers: int = 1, storage: str = "sqlite") -> ThrowawayProfile:
    """The profile shared by this process's AiiDA adapters, made on first use (no daemon).

    Adapters start and stop its daemon per scenario; tests use it to load AiiDA without
    a second profile (AiiDA loads one profile per process).
    """
    global _SHARED
    if _SHARED is None or _SHARED.root is None or _SHARED.workers != workers \
            or _SHARED.storage != storage:
        close_shared_profile()
        _SHARED = ThrowawayProfile(workers=workers, storage=storage).open(daemon=False)
    return _SHARED


def close_shared_profile() -> None:
    """Remove the profile shared by this process's AiiDA adapters (also runs at exit)."""
    global _SHARED
    profile, _SHARED = _SHARED, None
    if profile is not None:
        profile.close()


class AiidaAdapter:
    """Runs scenarios on aiida-core (see the module docstring)."""

    name = "aiida"

    def __init__(self, tier: str = "sqlite", workers: int = 1, calcjobs: bool = True) -> None:
        if tier not in TIERS:
            raise AdapterSpecError("aiida", f"tier {tier!r} is not available (tiers: "
                                   f"{', '.join(TIERS)})", "use --tier sqlite or --tier psql")
        self.tier = tier
        self.workers = workers
        self.calcjobs = calcjobs
        self.profile: ThrowawayProfile | None = None
        self.session: Session | None = None
        self.table: CalcTable | None = None
        self._own_profile = os.environ.get("WFCONFORM_AIIDA_ISOLATION") == "profile"
        self._watermark = 0
        self._scenario_node: Any = None
        self._launches: dict[int, str] = {}
        self._restarts: dict[int, int] = {}
        self._plan = BodyPlan()
        self._opened_at = 0.0  # wall clock: the broker's log is read from here on
        self._timeouts_seen: set[tuple[float, int]] = set()
        self._port_owner: dict[int, int] = {}  # broker peer port -> daemon worker pid

    # ------------------------------------------------------------------ declaration
    def capabilities(self) -> Capabilities:
        """What aiida-core documents, as a capability set.

        - every clause is promised: continuation, terminal states and caching are all
          documented behaviour; deviations show up as failures with witnesses;
        - finished-but-failed calculations are valid cache sources unless their exit code
          is declared `invalidates_cache=True` (`Process.is_valid_cache`);
        - floats hash by their text at 14 significant digits (`float_to_text` with
          `AIIDA_FLOAT_PRECISION`), and `float_to_text` maps `-0.0` to `0.0` first;
        - process functions are not checkpointed: a worker killed inside an inline
          calcfunction replays the calling step (that is documented behaviour, not a
          declared choice, so it is reported, not hidden);
        - WorkChains are never cached (`_cachable = False`).
        """
        return Capabilities(
            promised=frozenset(ALL_CLAUSES),
            failed_source_policy="allow_unless_invalidating",
            hash_normalisations=frozenset({"float_round_14", "float_signed_zero"}),
            crashpoints=frozenset(BODY_CRASHPOINTS + ENGINE_CRASHPOINTS),
            tiers=frozenset(TIERS),
            # a killed daemon worker is respawned (0.65 s) and its process resumes
            # 1.7 s after the kill, quiet; seconds more under load
            min_chaos_timeout=30.0, min_heal_timeout=10.0,
        )

    def supports(self, operation: str) -> bool:
        if self.tier == "psql" and operation in _FAULTS:
            return operation not in _container_gaps()
        return operation not in _UNSUPPORTED

    def _unsupported(self, operation: str) -> Unsupported:
        reason = (_container_gaps().get(operation) if self.tier == "psql" else None) \
            or _UNSUPPORTED.get(operation, "")
        return Unsupported(self.name, self.tier, operation.replace("_", " "), reason)

    # ------------------------------------------------------------------ lifecycle
    def open(self, session: Session) -> None:
        """Fresh scenario state in the (shared) profile; workers start with `session.env()`."""
        from aiida import orm

        from harness.adapters.aiida.observe import max_pk

        self.session = session
        self._opened_at = time.time()
        self._timeouts_seen = set()
        self._port_owner = {}
        storage = self.tier
        if self._own_profile:
            self.profile = ThrowawayProfile(workers=self.workers, storage=storage).open(
                daemon=False)
        else:
            with _phase("open.shared_profile"):
                self.profile = shared_profile(self.workers, storage)
        profile = self.profile
        with _phase("open.stop_workers"):
            profile.stop_workers(graceful=_BETWEEN_SCENARIOS_GRACE)
        with _phase("open.clear_hashes"):
            self._watermark = max_pk()
            clear_hashes(profile.cleared_up_to, self._watermark)
            profile.cleared_up_to = self._watermark
        with _phase("open.purge_queue"):
            purge_queue(profile)
        slot = f"s{self._watermark}"
        self.table = build_table(session.scenario, slot, self.calcjobs)
        write_modules(session.scenario, self.table, profile.modules)
        (session.workdir / TABLE_FILE).write_text(self.table.to_json(), encoding="utf-8")
        self._scenario_node = orm.Str(session.scenario.to_json()).store()
        self._write_caching(SetCaching(default=False))
        for name, value in session.env().items():
            profile.set_env(name, value)
        if profile.services is not None:  # channels read the timeout when they open
            with _phase("open.consumer_timeout"):
                profile.services.apply_consumer_timeout(consumer_timeout_for(session.scenario))
        with _phase("open.start_workers"):
            profile.start_workers()

    def close(self) -> None:
        """Stop this scenario's workers; the shared profile stays for the next scenario."""
        profile, self.profile = self.profile, None
        if profile is None:
            return
        try:
            with _phase("close.stop_workers"):
                profile.stop_workers(graceful=_BETWEEN_SCENARIOS_GRACE)
            if self.session is not None:
                for name in self.session.env():
                    profile.set_env(name, None)
        finally:
            if self._own_profile:
                profile.close()

    def _profile(self) -> ThrowawayProfile:
        if self.profile is None or self.session is None:
            raise RuntimeError("AiidaAdapter used before open() or after close()")
        return self.profile

    # ------------------------------------------------------------------ the plan
    def launch(self, label: str, workflow: str, inputs: Mapping[str, Any]) -> Handle:
        from aiida import orm
        from aiida.engine import submit

        from harness.adapters.aiida.values import pk, to_node
        from harness.adapters.aiida.workchain import ScenarioWorkChain

        self._profile()
        self._check_storable(label, inputs)
        node = submit(ScenarioWorkChain, scenario=self._scenario_node, workflow=orm.Str(workflow),
                      args={name: to_node(value) for name, value in inputs.items()},
                      metadata={"label": label})
        return self._remember(label, pk(node))

    def _check_storable(self, label: str, inputs: Mapping[str, Any]) -> None:
        """`Unsupported` for inputs or constants AiiDA cannot store (see `values`)."""
        from harness.adapters.aiida.values import unstorable
        from scenarios.language import Const, iter_steps

        assert self.session is not None
        reasons = [unstorable(value, f"input {name}") for name, value in inputs.items()]
        for workflow in self.session.scenario.workflows:
            for step in iter_steps(workflow.steps):
                refs = [getattr(step, "value", None), getattr(step, "condition", None)]
                refs += list(getattr(step, "inputs", {}).values())
                refs += [ref for call in getattr(step, "calls", ()) for ref in call.inputs.values()]
                reasons += [unstorable(ref.value, f"constant in {workflow.name}.{step.name}")
                            for ref in refs if isinstance(ref, Const)]
        found = [reason for reason in reasons if reason]
        if found:
            raise Unsupported(self.name, self.tier, f"launch {label}", "; ".join(found))

    def relaunch(self, label: str, of: Handle) -> Handle:
        """AiiDA's restart builder: same input nodes, a new process (only the label differs)."""
        from aiida import orm
        from aiida.engine import submit

        from harness.adapters.aiida.values import pk

        self._profile()
        builder = orm.load_node(int(of.id)).get_builder_restart()
        builder["metadata"]["label"] = label
        handle = self._remember(label, pk(submit(builder)))
        self._restarts[int(handle.id)] = int(of.id)
        return handle

    def _remember(self, label: str, pk: int) -> Handle:
        self._launches[pk] = label
        return Handle(label, str(pk))

    def wait(self, handle: Handle, timeout: float) -> str | None:
        """Poll the node; a database outage (the psql tier's fault) only delays the answer."""
        from aiida import orm
        from sqlalchemy.exc import DBAPIError

        deadline = time.monotonic() + timeout
        while True:
            try:
                fresh_reads()
                node = orm.load_node(int(handle.id))
                state = str(node.process_state.value) if node.is_terminated else None
            except DBAPIError:  # a database restart (a fault) is under way: ask again
                state = None
            if state is not None:
                return state
            if time.monotonic() > deadline:
                return None
            time.sleep(0.1)

    def kill_process(self, handle: Handle) -> None:
        """AiiDA's kill (as `verdi process kill`): an RPC to the worker holding the process.

        The request is sent and not awaited: the nemesis sends it while a gated body
        blocks the worker, which answers only when the step returns. A process that no
        worker holds at that moment is unreachable; AiiDA then drops the request, and the
        adapter notes it in `aiida_notes.jsonl`.
        """
        from aiida import orm
        from aiida.manage import get_manager

        fresh_reads()
        node = orm.load_node(int(handle.id))
        if node.is_terminated:
            return
        controller = get_manager().get_process_controller()
        try:
            controller.kill_process(node.pk, msg_text="wfconform KillProcess")
        except Exception as error:  # e.g. UnroutableError: no worker holds the process now
            _note(self.session, {"kill_process": handle.id, "error": repr(error)})

    def set_caching(self, default: bool, enabled: tuple[str, ...],
                    disabled: tuple[str, ...]) -> None:
        """Write `caching.*` into the profile config, then restart the daemon workers.

        The scenario's patterns are resolved per calculation type (its rule) and written
        as AiiDA's full identifiers (`aiida.calculations:core.arithmetic.add`,
        `<module>.<function>`); `verdi config set caching...` says the same: workers read
        the configuration at start, so they are restarted.
        """
        self._write_caching(SetCaching(default, enabled, disabled))
        profile = self._profile()
        with _phase("set_caching.restart_workers"):
            profile.stop_workers()
            profile.start_workers()

    def _write_caching(self, config: SetCaching) -> None:
        assert self.profile is not None and self.session is not None and self.table
        on: list[str] = []
        off: list[str] = []
        for calc in self.session.scenario.calculations:
            kind = self.table.types[calc.name]
            wanted = calc.cacheable and caching_enabled(config, calc.name)
            (on if wanted else off).extend(kind.identifiers())
        self.profile.set_config(caching__default_enabled=config.default,
                                caching__enabled_for=on, caching__disabled_for=off)

    def invalidate(self, handle: Handle, calc_path: str) -> None:
        """`node.base.caching.is_valid_cache = False` on the node(s) at that path."""
        from aiida import orm

        for view in self.observe().at_path(f"{handle.label}/{calc_path}"):
            orm.load_node(int(view.id)).base.caching.is_valid_cache = False

    # ------------------------------------------------------------------ faults
    def arm_crashpoint(self, crashpoint: str, target: str, attempt: int) -> None:
        """Body crashpoints: the body SIGKILLs its worker; the others: see `crashpoints`."""
        if crashpoint not in BODY_CRASHPOINTS and (
                crashpoint not in ENGINE_CRASHPOINTS or target.startswith("calc:")):
            raise Unsupported(self.name, self.tier, f"arm crashpoint {crashpoint!r} on {target}",
                              "AiiDA emulates it for WorkChain steps only; calcfunctions and "
                              "CalcJobs have no checkpoint of their own to land after")
        self._plan = self._plan.with_kill((crashpoint, target, attempt))
        assert self.session is not None
        self.session.write_plan(self._plan)

    def disarm_all(self) -> None:
        self._plan = BodyPlan(active=False)
        if self.session is not None:
            self.session.write_plan(self._plan)

    def kill_worker(self, pid: int | None = None) -> int:
        """SIGKILL a daemon worker; circus respawns it (about 0.65 s in the lab notes)."""
        self._remember_ports()
        return self._profile().kill_worker(pid)

    def _services(self, operation: str) -> Any:
        if self.tier != "psql" or operation in _container_gaps():
            raise self._unsupported(operation)
        profile = self._profile()
        if profile.services is None:
            raise self._unsupported(operation)
        return profile.services

    def restart_broker(self, hard: bool) -> None:
        services = self._services("restart_broker")
        self._remember_ports()
        detail = services.restart_broker(hard)
        _note(self.session, {"restart_broker": detail})

    def restart_database(self) -> None:
        detail = self._services("restart_database").restart_database()
        _note(self.session, {"restart_database": detail})

    def drop_connection(self) -> None:
        services = self._services("drop_connection")
        self._remember_ports()
        workers = self._profile().worker_pids()
        cut = services.cut_broker(workers)
        backends = services.cut_database(workers, str(self._profile().database))
        _note(self.session, {"drop_connection": workers, "amqp": cut, "backends": backends})

    def duplicate_delivery(self, worker: int) -> str | None:
        """Cut the holder's AMQP connection; its unacked task goes to the queue again."""
        services = self._services("duplicate_delivery")
        self._remember_ports()
        holder = self._holder(worker)
        cut = services.cut_broker([holder])
        _note(self.session, {"duplicate_delivery": holder, "amqp": cut})
        return None

    def expire_lease(self, worker: int) -> str | None:
        """Freeze the holder past the consumer timeout (see `_FAULTS`)."""
        services = self._services("expire_lease")
        self._remember_ports()
        holder = self._holder(worker)
        others = [pid for pid in self._profile().worker_pids() if pid != holder]
        return services.freeze_past_timeout(holder, others)

    def _holder(self, worker: int) -> int:
        """The daemon worker behind a journal entry's `worker` (a job's shell: unknown,
        then the worker holding an unacked task, or the first)."""
        pids = self._profile().worker_pids()
        if worker in pids or not pids:
            return worker
        services = self._profile().services
        held = [pid for pid in pids if services is not None and services.unacked_channels([pid])]
        return (held or pids)[0]

    def fail_commit(self, target: str, attempt: int) -> None:
        raise self._unsupported("fail_commit")

    # ------------------------------------------------------------------ views
    def observe(self) -> Observation:
        from harness.adapters.aiida.observe import observe_nodes

        self._profile()
        self._record_consumer_timeouts()
        fresh_reads()
        return Observation(observe_nodes(self._watermark, self._launches, self._restarts))

    def _record_consumer_timeouts(self) -> None:
        """Log each channel the broker closed for the consumer timeout as a fired fault.

        Why: a scenario that freezes a worker runs with a short timeout on every channel
        (see `services`), so a long process loses its channel, and AiiDA runs it in two
        workers, without the frozen worker's fault firing. The broker's log says when it
        did (its clock is the wall clock; history lines use `time.monotonic()`), and
        through which connection (the peer port, matched to a live worker's sockets). Run
        from every `observe()`, so the final view's call finds all of them.
        """
        profile, session = self.profile, self.session
        if profile is None or session is None or profile.services is None:
            return
        from harness.journal import AppendLog

        self._remember_ports()
        found = profile.services.consumer_timeouts()
        fresh = sorted((at, port, text) for at, port, text in found or ()
                       if at >= self._opened_at and (at, port) not in self._timeouts_seen)
        if not fresh:
            return
        offset = time.time() - time.monotonic()
        with AppendLog(session.faults_path) as log:
            for at, port, text in fresh:
                self._timeouts_seen.add((at, port))
                log.append({"type": "fault", "source": "broker", "fault": "consumer_timeout",
                            "status": "fired", "worker": self._port_owner.get(port),
                            "peer_port": port,
                            "timeout_ms": profile.services.consumer_timeout_ms,
                            "detail": text, "t": round(at - offset, 6)})

    def _remember_ports(self) -> None:
        """Note which worker holds which AMQP connection (by its local port), so a
        consumer timeout read from the broker's log later can name its worker even
        when the connection is gone by then (a fault cut it, the worker was killed).
        Called at every observe() and before every fault on the broker's clients."""
        from harness.adapters.aiida.services import local_ports

        profile = self.profile
        if profile is None or profile.services is None:
            return
        broker = profile.services.broker_port
        for pid in profile.worker_pids():
            for port in local_ports(pid, broker):
                self._port_owner[port] = pid

    def events(self) -> tuple[Mapping[str, Any], ...]:
        return ()

    def diagnose(self, handle: Handle) -> str:
        """Why an AiiDA process is not terminal: its state, status and the live workers."""
        from aiida import orm

        node = orm.load_node(int(handle.id))
        if node.is_terminated:
            return f"not stuck: {node.process_state.value}"
        active = [f"{c.pk} {c.process_label} {c.process_state.value if c.process_state else '?'}"
                  for c in node.called if not c.is_terminated]
        checkpoint = "has a checkpoint" if node.checkpoint else "has no checkpoint"
        return (f"{node.process_state.value if node.process_state else 'created'} "
                f"({node.process_status or 'no status'}); {checkpoint}; active children "
                f"{active or 'none'}; live workers {self._profile().worker_pids()}")


def _container_gaps() -> dict[str, str]:
    """The psql faults that cannot be done where the servers are (see PEER_PORT_FAULTS)."""
    from harness.adapters.aiida.services import PEER_PORT_FAULTS, in_containers

    return PEER_PORT_FAULTS if in_containers() else {}


def consumer_timeout_for(scenario: Any) -> int:
    """The consumer timeout a scenario runs with on the psql tier (short to expire a lease)."""
    from harness.adapters.aiida.services import (
        LONG_CONSUMER_TIMEOUT_MS,
        SHORT_CONSUMER_TIMEOUT_MS,
    )
    from scenarios.faults import ExpireLease

    if any(isinstance(fault, ExpireLease) for fault in scenario.faults):
        return SHORT_CONSUMER_TIMEOUT_MS
    return LONG_CONSUMER_TIMEOUT_MS


@contextlib.contextmanager
def _phase(name: str) -> Iterator[None]:
    """Time one of the adapter's own phases into `$WFCONFORM_AIIDA_TIMINGS` (a JSON-lines
    file; unset: nothing is written). Says where a run's time goes besides AiiDA's own."""
    path = os.environ.get("WFCONFORM_AIIDA_TIMINGS")
    started = time.monotonic()
    try:
        yield
    finally:
        if path:
            with open(path, "a", encoding="utf-8") as log:
                log.write(json.dumps({"phase": name, "s": round(time.monotonic() - started, 3),
                                      "t": round(time.time(), 3)}) + "\n")


def _note(session: Session | None, record: dict[str, Any]) -> None:
    if session is not None:
        from harness.journal import AppendLog

        with AppendLog(session.workdir / "aiida_notes.jsonl") as log:
            log.append(record)


def make_adapter(tier: str = "sqlite") -> AiidaAdapter:
    """Factory used by `load_adapter('aiida', tier)`.

    `embedded`, the CLI's default tier name, means `sqlite` here: AiiDA's storage is
    embedded SQLite, while its daemon needs RabbitMQ (there is no broker-less daemon
    tier); `psql` is the deployed set-up on throwaway servers. Environment:
    `WFCONFORM_WORKERS` (daemon workers, default 1 on sqlite, 2 on psql) and
    `WFCONFORM_AIIDA_CALCJOBS=0` (run every calculation as a calcfunction).
    """
    import importlib.util

    if importlib.util.find_spec("aiida") is None:
        raise AdapterSpecError("aiida", "aiida-core is not installed",
                               "install it with python -m pip install -e '.[aiida]'")
    tier = "sqlite" if tier == "embedded" else tier
    return AiidaAdapter(tier, workers=int(os.environ.get("WFCONFORM_WORKERS",
                                                         "2" if tier == "psql" else "1")),
                        calcjobs=os.environ.get("WFCONFORM_AIIDA_CALCJOBS", "1") != "0")
