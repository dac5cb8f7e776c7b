"""``CeleryAdapter``: Celery 5 workers on RabbitMQ, judged by the conformance harness.

One run (scenario) gets its own queue and control exchange on the RabbitMQ server named by
``$WFCONFORM_RABBITMQ_URL`` (default: the local server, vhost ``/``), its own result
backend (SQLite in the run's folder, or on tier ``postgres`` a PostgreSQL database), and
``workers`` Celery workers (prefork pool, one child each), started at the first launch
and killed by ``close``. Workflows run as the tasks of ``harness.adapters.celery.tasks``
(chains built at run time, chords for the calculations of a step); the engine's view is
Celery's result backend (``observe``).

What Celery cannot do is declared, not faked: it has no result cache (caching on is
``Unsupported``; caching off is what it always does), no broker or database restart this
adapter may perform on a shared server, no engine-level crashpoints: the adapter lands
``after_checkpoint_before_ack`` from the ``task_postrun`` signal and emulates
``while_waiting`` as a kill when the waiting step's first child begins.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

import harness
from harness.adapter import Handle, Observation
from harness.adapters.celery.app import make_app, write_config
from harness.adapters.celery.backend import BACKEND_ENV, BACKENDS, ResultBackend
from harness.adapters.celery.interpreter import ids_of_launch
from harness.adapters.celery.observe import Launched, Row, build_views, workflow_outcome
from harness.adapters.celery.tasks import ENGINE_CRASHPOINT, WHILE_WAITING, start
from harness.errors import AdapterSpecError, Unsupported
from harness.session import BODY_CRASHPOINTS as SESSION_BODY_CRASHPOINTS
from harness.session import BodyPlan, Session
from harness.worker_pool import WorkerPool
from scenarios import ALL_CLAUSES, Capabilities, effect_sites

__all__ = ["CELERY_CRASHPOINTS", "NOT_PROMISED", "TIERS", "CeleryAdapter", "make_adapter"]

TIERS = ("prefork", "whole-worker", "at-least-once", "postgres")
"""``prefork``: a kill SIGKILLs the pool child running the body; the worker's main process
replaces it and requeues the message. ``whole-worker``: a kill SIGKILLs the worker's main
process and its pool (its connection drops, RabbitMQ requeues what it held), and the
adapter starts a new worker, as a process supervisor would. Both turn on
``worker_deduplicate_successful_tasks``. ``at-least-once``: as ``prefork`` with Celery's
default, deduplication off: a task whose worker died after its result was stored and its
successor sent, before the ack, runs again (C2 and C3 are declared expected failures, N1
is not promised). ``postgres``: as ``prefork``, with the result backend on PostgreSQL (a
database per run from the harness's services, ``backend.ResultBackend``) instead of
SQLite; ``$WFCONFORM_CELERY_BACKEND=postgres`` does the same for any tier."""
AT_LEAST_ONCE_FAILURES = frozenset({"C2", "C3"})
AT_LEAST_ONCE_NOT_PROMISED = frozenset({"N1"})
"""On ``at-least-once``, a step redelivered after its workflow finished runs again (and
re-sends the rest): whether that lands before or after the harness first sees the
workflow finished is timing, so N1 is not promised there rather than declared to fail."""
BODY_CRASHPOINTS = frozenset(SESSION_BODY_CRASHPOINTS)
CELERY_CRASHPOINTS = BODY_CRASHPOINTS | {ENGINE_CRASHPOINT, WHILE_WAITING}
RABBITMQ_ENV = "WFCONFORM_RABBITMQ_URL"
DEFAULT_BROKER = "amqp://guest:guest@127.0.0.1:5672//"
_TERMINAL = ("finished", "excepted", "killed")
SETTLE_QUIET = 1.0
"""Seconds without a queued or started task, and without a changed row, before ``observe``
reads the view."""
SETTLE_TIMEOUT = 15.0
_SUPPORTED = frozenset({"launch", "relaunch", "set_caching", "kill_process", "raise_in",
                        "kill_at_crashpoint", "kill_on_effect"})
NOT_PROMISED = {
    "N4": "Celery has no result cache: no hit can be expected",
    "K1": "Celery has no result cache", "K2": "Celery has no result cache",
    "K3": "Celery has no result cache", "K4": "Celery has no result cache",
    "K5": "Celery has no result cache", "K7": "Celery has no result cache",
    "K8": "Celery has no result cache",
}
"""Clauses not promised, and why (K6's half "caching off never hits" Celery keeps)."""


def _broker_url() -> str:
    url = os.environ.get(RABBITMQ_ENV) or DEFAULT_BROKER
    return url.partition("?")[0]


class CeleryAdapter:
    """Celery 5 on RabbitMQ with acks_late and reject_on_worker_lost (module docstring)."""

    name = "celery"

    def __init__(self, tier: str = "prefork", workers: int = 2,
                 backend: str | None = None) -> None:
        if tier not in TIERS:
            raise AdapterSpecError("celery", f"unknown tier {tier!r}",
                                   f"use one of {', '.join(TIERS)}")
        backend = backend or ("postgres" if tier == "postgres"
                              else os.environ.get(BACKEND_ENV) or "sqlite")
        if backend not in BACKENDS:
            raise AdapterSpecError("celery", f"unknown result backend {backend!r} (from "
                                   f"${BACKEND_ENV})", f"use one of {', '.join(BACKENDS)}")
        self.tier = tier
        self.backend = ResultBackend(backend)
        self.workers = workers
        self.session: Session | None = None
        self.app: Any = None
        self.config: dict[str, Any] = {}
        # whole-worker: a dead worker restarts under a new node name (the old one's pidbox
        # queue may still be held: RESOURCE_LOCKED); otherwise Celery's own prefork pool
        # replaces a killed child, and the main process is never killed
        self.pool = WorkerPool("celery", workers, self._start_worker,
                               restart=tier == "whole-worker")
        self.launches: dict[str, Launched] = {}
        self.inputs: dict[str, Mapping[str, Any]] = {}
        self._plan = BodyPlan()
        self._generation = 0

    # ------------------------------------------------------------ declaration
    def capabilities(self) -> Capabilities:
        return Capabilities(
            promised=frozenset(ALL_CLAUSES) - set(NOT_PROMISED) - (
                AT_LEAST_ONCE_NOT_PROMISED if self.tier == "at-least-once" else frozenset()),
            expected_failures=AT_LEAST_ONCE_FAILURES if self.tier == "at-least-once"
            else frozenset(),
            failed_source_policy="never",
            hash_normalisations=frozenset(),
            crashpoints=CELERY_CRASHPOINTS,
            tiers=frozenset(TIERS),
            # the first launch starts two workers (3-5 s under load) and each kill costs
            # 0.4-5 s before the message comes back (celery-5.md): fuzz's 10 s read two
            # kills in one launch as an L1 failure (seed 1804)
            min_chaos_timeout=30.0, min_heal_timeout=10.0,
        )

    def supports(self, operation: str) -> bool:
        return operation in _SUPPORTED

    # ------------------------------------------------------------ lifecycle
    def open(self, session: Session) -> None:
        self.session = session
        run = "wfc_" + uuid.uuid4().hex[:12]
        self.config = {"broker": _broker_url(), "queue": run, "exchange": run,
                       "backend": self.backend.url(session.workdir),
                       "kill": "worker" if self.tier == "whole-worker" else "child",
                       "deduplicate": self.tier != "at-least-once"}
        write_config(session.workdir, self.config)
        self.app = make_app(self.config)

    def _ensure_workers(self) -> None:
        """Start the workers at the first launch, not in ``open``: a scenario that turns
        caching on is refused before it launches anything, and costs no worker start."""
        self.pool.start()

    @property
    def procs(self) -> list[subprocess.Popen[bytes]]:
        """The workers' main processes (``WorkerPool``)."""
        return self.pool.procs

    def _start_worker(self, index: int) -> subprocess.Popen[bytes]:
        assert self.session is not None
        self._generation += 1
        root = str(Path(harness.__file__).resolve().parent.parent)
        env = {**os.environ, **self.session.env(),
               "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH"))
                                             if p)}
        node = f"w{index}g{self._generation}.{self.config['queue']}@localhost"
        log_path = self.session.workdir / f"celery-worker-{index}-{self._generation}.log"
        with open(log_path, "ab") as log:
            return subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "harness.adapters.celery.worker",
                 "worker", "--pool=prefork", "--concurrency=1", "-n", node,
                 "-Q", self.config["queue"], "--without-gossip", "--without-mingle",
                 "--without-heartbeat", "--loglevel=WARNING"],
                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def close(self) -> None:
        self.pool.close()
        if self.app is not None:
            self._delete_broker_names()
            self.app.close()
            self.app = None
        self.backend.release()

    def _delete_broker_names(self) -> None:
        """Leave nothing on the shared server: the run's queue and exchanges."""
        name = self.config["queue"]
        try:
            with self.app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=2)
                for kind, item in (("queue", name), ("exchange", name),
                                   ("exchange", f"{name}.pidbox"),
                                   ("exchange", f"reply.{name}.pidbox"),
                                   ("exchange", f"{name}_ev")):
                    channel = conn.channel()
                    # an absent name, or a channel the server closed: nothing to delete
                    with contextlib.suppress(Exception):
                        if kind == "queue":
                            channel.queue_delete(item)
                        else:
                            channel.exchange_delete(item)
                    with contextlib.suppress(Exception):
                        channel.close()
        except Exception:  # cleanup must not raise on a half-open run
            pass

    # ------------------------------------------------------------ the plan
    def _scenario(self) -> Any:
        assert self.session is not None, "open() first"
        return self.session.scenario

    def launch(self, label: str, workflow: str, inputs: Mapping[str, Any]) -> Handle:
        return self._launch(label, workflow, inputs, None)

    def _launch(self, label: str, workflow: str, inputs: Mapping[str, Any],
                restart_of: str | None) -> Handle:
        self._ensure_workers()
        root = uuid.uuid4().hex[:12]
        self.launches[root] = Launched(root, label, workflow, restart_of)
        self.inputs[root] = dict(inputs)
        proc = {"id": root, "workflow": workflow, "path": label, "inputs": dict(inputs),
                "root": root, "label": label, "cont": None}
        start(self.app, self._scenario(), proc)
        return Handle(label, root)

    def relaunch(self, label: str, of: Handle) -> Handle:
        origin = self.launches[of.id]
        return self._launch(label, origin.workflow, self.inputs[of.id], of.id)

    def wait(self, handle: Handle, timeout: float) -> str | None:
        deadline = time.monotonic() + timeout
        while True:
            state = workflow_outcome(self._rows(handle.id + "|").values())[0]
            if state in _TERMINAL:
                return state
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.05)

    def kill_process(self, handle: Handle) -> None:
        """Celery's kill is ``revoke`` by task id: every task the launch could still send
        (ids are frozen from paths), ``terminate=True`` for the one running. Ids already
        done are left out: ``revoke`` writes REVOKED over a finished task's row."""
        rows = self._rows(handle.id)
        if workflow_outcome(r for t, r in rows.items()
                            if t.startswith(handle.id + "|"))[0] in _TERMINAL:
            return
        done = {t for t, r in rows.items() if r.status in ("SUCCESS", "FAILURE", "REVOKED")}
        ids = [i for i in ids_of_launch(self._scenario(), handle.label, handle.id)
               if i not in done]
        self.app.control.revoke(ids, terminate=True)

    def set_caching(self, default: bool, enabled: tuple[str, ...],
                    disabled: tuple[str, ...]) -> None:
        if default or enabled:
            raise Unsupported(self.name, self.tier, "turn caching on",
                              "Celery has no result cache (identical calls always execute)")

    def invalidate(self, handle: Handle, calc_path: str) -> None:
        raise Unsupported(self.name, self.tier, "invalidate a cache source",
                          "Celery has no result cache")

    # ------------------------------------------------------------ faults
    def arm_crashpoint(self, crashpoint: str, target: str, attempt: int) -> None:
        if crashpoint not in CELERY_CRASHPOINTS:
            raise Unsupported(self.name, self.tier, f"arm crashpoint {crashpoint}",
                              "a waiting Celery workflow runs no task that could die")
        self._plan = self._plan.with_kill((crashpoint, target, attempt))
        self._write_plan(True)

    def _write_plan(self, active: bool) -> None:
        assert self.session is not None
        self._plan = BodyPlan(self._plan.body_kills, self._plan.engine_kills, active)
        self.session.write_plan(self._plan)

    def disarm_all(self) -> None:
        self._write_plan(False)

    def fail_commit(self, target: str, attempt: int) -> None:
        raise Unsupported(self.name, self.tier, "refuse a commit",
                          "Celery's result backend write is not a checkpoint transaction")

    def kill_worker(self, pid: int | None = None) -> int:
        """SIGKILL the prefork child running ``pid``'s body (or any child): Celery's pool
        replaces it and, with reject_on_worker_lost, requeues its message. On the
        ``whole-worker`` tier, the child's worker (main process and pool) dies instead."""
        children = self._pool_children()
        if pid is None:
            if not children:
                raise Unsupported(self.name, self.tier, "kill a worker", "no pool child is up")
            pid = children[0][0]
        mains = {p.pid for p in self.procs}
        owner = next((main for child, main in children if child == pid),
                     pid if pid in mains else None)
        if owner is None:
            raise ValueError(f"pid {pid} is not a worker of this run "
                             f"(pool children: {[c for c, _ in children]})")
        try:
            if self.tier == "whole-worker":
                os.killpg(owner, signal.SIGKILL)
            else:
                os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        return pid

    def _pool_children(self) -> list[tuple[int, int]]:
        """(child pid, worker main pid) of every pool child of this run's workers."""
        mains = {p.pid for p in self.procs}
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rpartition(")")[2].split()[1])
            if ppid in mains:
                found.append((int(entry.name), ppid))
        return sorted(found)

    def restart_broker(self, hard: bool) -> None:
        raise Unsupported(self.name, self.tier, "restart the broker",
                          "the RabbitMQ server is shared; this adapter never restarts it")

    def restart_database(self) -> None:
        raise Unsupported(self.name, self.tier, "restart the database",
                          "the result backend is an embedded SQLite file"
                          if self.backend.kind == "sqlite" else
                          "not built for the PostgreSQL result backend (a shared server)")

    def drop_connection(self) -> None:
        raise Unsupported(self.name, self.tier, "drop connections",
                          "not implemented for Celery workers")

    # ------------------------------------------------------------ the view
    def _rows(self, prefix: str = "") -> dict[str, Row]:
        backend = self.app.backend
        session = backend.ResultSession()  # creates the tables on first use
        try:
            model = backend.task_cls
            query = session.query(model.task_id)
            if prefix:
                query = query.filter(model.task_id.startswith(prefix, autoescape=True))
            ids = [tid for (tid,) in query.all()]
        except SQLAlchemyError:  # SQLite busy under the workers' writes: read again later
            return {}
        finally:
            session.close()
        rows = {}
        for task_id in ids:
            meta = backend.get_task_meta(task_id)
            done = meta.get("date_done")
            rows[task_id] = Row(task_id, meta["status"], meta.get("result"),
                                done.timestamp() if hasattr(done, "timestamp") else None,
                                meta.get("worker"))
        return rows

    def observe(self) -> Observation:
        """Celery's view once it has settled: an acks-late redelivery can run a task again
        after its workflow looked finished (a child killed before its ack), so the view
        is read once nothing is queued or started and the rows stopped changing."""
        return Observation(build_views(self.launches.values(), self._settled_rows(),
                                       self._workflow_at))

    def _workflow_at(self, path: str) -> str:
        """The workflow a sub-workflow path runs (from the scenario's LaunchWorkflow)."""
        scenario = self._scenario()
        for site in effect_sites(scenario, path.partition("/")[0]):
            if site.key == path:
                workflow, _, step = site.target.partition(".")
                found = scenario.workflow(workflow).step(step)
                return str(getattr(found, "workflow", "?"))
        return "?"

    def _settled_rows(self) -> dict[str, Row]:
        if not self.procs:  # nothing launched (a scenario refused before its first launch)
            return self._rows()
        deadline = time.monotonic() + SETTLE_TIMEOUT
        last: tuple[Any, ...] | None = None
        since = time.monotonic()
        while True:
            rows = self._rows()
            snapshot = (self._ready_messages(),
                        tuple(sorted((t, r.status) for t, r in rows.items())))
            busy = (snapshot[0] != 0 or any(r.status == "STARTED" for r in rows.values())
                    or self._workers_hold_tasks())
            if snapshot != last or busy:
                last, since = snapshot, time.monotonic()
            elif time.monotonic() - since >= SETTLE_QUIET:
                return rows
            if time.monotonic() >= deadline:
                return rows
            time.sleep(0.1)

    def _workers_hold_tasks(self) -> bool:
        """Whether a worker still holds a message (running, reserved or scheduled): a task
        whose prefork child died stays held, unacknowledged, until the parent notices and
        requeues it, while the queue and the result rows look quiet (True if a worker
        does not answer: it cannot be called settled)."""
        alive = self.pool.alive()
        inspect = self.app.control.inspect(timeout=0.5, limit=alive)  # back once all answer
        replies = [inspect.active(), inspect.reserved(), inspect.scheduled()]
        if any(reply is None or len(reply) < alive for reply in replies):
            return True
        return any(tasks for reply in replies for tasks in reply.values())

    def _ready_messages(self) -> int:
        """Messages waiting in the run's queue (-1 when the broker cannot say)."""
        try:
            with self.app.connection_for_read() as conn:
                channel = conn.channel()
                try:
                    return int(channel.queue_declare(self.config["queue"], passive=True)
                               .message_count)
                finally:
                    channel.close()
        except Exception:  # any broker error means "cannot say": not settled
            return -1

    def events(self) -> tuple[Mapping[str, Any], ...]:
        return ()

    def diagnose(self, handle: Handle) -> str:
        rows = self._rows(handle.id)
        active = sorted(t for t, r in rows.items() if r.status in ("STARTED", "PENDING"))
        alive = self.pool.alive()
        return (f"{alive} of {len(self.procs)} Celery workers alive; tasks started, not "
                f"done: {active or 'none'} (a task not in the backend is still queued or "
                "was never sent)")


def make_adapter(tier: str = "prefork") -> CeleryAdapter:
    """The factory ``--engine celery`` loads."""
    return CeleryAdapter(tier=tier)
