"""``DbosAdapter``: DBOS Transact 3 workers on SQLite or PostgreSQL, judged by the harness.

One run (scenario) gets its own DBOS system database (a SQLite file in the run's folder,
or a database of its own on PostgreSQL) and ``workers`` worker processes
(``harness.adapters.dbos.worker``), each with a pinned ``executor_id`` and
``application_version``, started at the first launch. Launches are enqueued on the run's
queue through ``DBOSClient`` (the harness never calls ``DBOS.launch()``, which would make
it a worker that recovers workflows); the engine's view is DBOS's ``workflow_status``.

A worker kill is a SIGKILL of a worker process (all the workflows it runs die with it);
a supervisor thread restarts it, as a process manager would, with the same executor id,
and DBOS's ``launch()`` in the new process recovers that executor's PENDING workflows:
the same workflow id continues, completed steps replayed from their records, the
interrupted one run again. On the ``version-change`` tier the restarted worker runs
another application version (what an edit of the code does to DBOS's default version, a
hash of the source): DBOS recovers only workflows of its own version, so the killed
workflows are left PENDING for good (a finding: C1 and L1 fail, declared).

What DBOS cannot do is declared, not faked: it has no result cache (caching on and
``invalidate`` are ``Unsupported``; caching off is what it always does); a shared
PostgreSQL server is never restarted; DBOS has no broker, no commit hook, no lease.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dbos import DBOS, DBOSClient  # at import: without the extra, load_adapter says so

import harness
from harness.adapter import Handle, Observation
from harness.adapters.dbos.observe import Row, build_views, claims
from harness.errors import AdapterSpecError, Unsupported
from harness.session import BodyPlan, Session
from harness.worker_pool import WorkerPool
from scenarios import ALL_CLAUSES, Capabilities
from scenarios.values import VALUE_KINDS

__all__ = ["BODY_CRASHPOINTS", "NOT_PROMISED", "TIERS", "DbosAdapter", "make_adapter"]

TIERS = ("sqlite", "postgres", "version-change", "reused-ids")
"""``sqlite`` (default): the system database is a SQLite file in the run's folder.
``postgres``: a database of its own on the PostgreSQL server of ``$WFCONFORM_POSTGRES_URL``
(default: the local one), dropped at the end. ``version-change``: as ``sqlite``, but a
killed worker comes back under another application version (DBOS's default version is a
hash of the source: any edit between a crash and the restart does this).
``reused-ids``: as ``sqlite``, with workflow ids chosen as an idempotency key that leaves
the inputs out (the workflow's name): DBOS returns the stored result of the first
workflow with that id to every later launch, whatever its inputs."""
BODY_CRASHPOINTS = frozenset({"after_claim", "before_effect", "after_effect_before_checkpoint"})
ENGINE_CRASHPOINTS = frozenset({"after_checkpoint_before_ack", "while_waiting"})
NOT_PROMISED = {
    "N4": "DBOS has no result cache: no hit can be expected",
    **{clause: "DBOS has no result cache" for clause in
       ("K1", "K2", "K3", "K4", "K5", "K7", "K8")},
}
"""Clauses not promised, and why (K6's half "caching off never hits" DBOS keeps)."""
TIER_NOT_PROMISED = {
    "version-change": {"C4": "a workflow orphaned by the version change never ends, so "
                             "there is no outcome to compare with the fault-free run's"},
}
"""Further clauses a finding tier leaves unjudged by construction."""
EXPECTED_FAILURES = {
    "version-change": frozenset({"C1", "L1"}),
    "reused-ids": frozenset({"C4", "N2", "N3", "K6", "L2"}),
}
"""Declared deviations of the finding tiers (docs/results/dbos-3.md)."""
POSTGRES_ENV = "WFCONFORM_POSTGRES_URL"
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
APP_NAME = "wfconform"
VERSION = "wfc-v1"
NEXT_VERSION = "wfc-v2"
READY_TIMEOUT = 90.0
SETTLE_QUIET = 0.3
SETTLE_TIMEOUT = 5.0
_TERMINAL = ("finished", "excepted", "killed")
_UNSUPPORTED = {
    "restart_broker": "DBOS has no message broker (workers poll the system database)",
    "restart_database": "the system database is a SQLite file, or a shared PostgreSQL "
                        "server this adapter never restarts",
    "drop_connection": "not built for DBOS workers",
    "fail_commit": "no hook inside DBOS's step-output commit",
    "expire_lease": "DBOS workers hold no lease",
    "duplicate_delivery": "DBOS's queue has no delivery to duplicate",
    "ownership": "DBOS keeps the latest executor of a workflow, not a log of claims",
    "pause_service": "no containerised services",
    "partition_service": "no containerised services",
}


def _admin_url() -> str:
    return os.environ.get(POSTGRES_ENV) or DEFAULT_POSTGRES


def _plain_url(url: str) -> str:
    """DBOS takes ``postgresql://`` (it picks psycopg 3 itself)."""
    for prefix in ("postgresql+psycopg://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix):]
    return url


class DbosAdapter:
    """DBOS Transact 3 on SQLite or PostgreSQL (see the module docstring)."""

    name = "dbos"

    def __init__(self, tier: str = "sqlite", workers: int = 2) -> None:
        if tier not in TIERS:
            raise AdapterSpecError("dbos", f"unknown tier {tier!r}",
                                   f"use one of {', '.join(TIERS)}")
        self.tier = tier
        self.workers = workers
        self.session: Session | None = None
        self.url = ""
        self.database: str | None = None
        self.client: Any = None
        # a killed worker restarts with the same executor id (a process manager's job)
        self.pool = WorkerPool("dbos", workers, self._start_worker,
                               on_restart=self._before_restart)
        self.versions: list[str] = []
        self.labels: dict[str, list[str]] = {}
        self.specs: dict[str, dict[str, Any]] = {}
        self.restart_of: dict[str, str] = {}
        self._plan = BodyPlan()  # kills the bodies and the worker-side hooks land
        self.restarts = 0
        self._generations: dict[int, int] = {}

    # ------------------------------------------------------------ declaration
    def capabilities(self) -> Capabilities:
        return Capabilities(
            promised=frozenset(ALL_CLAUSES) - set(NOT_PROMISED)
            - set(TIER_NOT_PROMISED.get(self.tier, {})),
            expected_failures=EXPECTED_FAILURES.get(self.tier, frozenset()),
            failed_source_policy="never",
            hash_normalisations=frozenset(),
            crashpoints=BODY_CRASHPOINTS | ENGINE_CRASHPOINTS,
            tiers=frozenset(TIERS),
            value_kinds=frozenset(VALUE_KINDS),  # DBOS pickles inputs and outputs
            # a killed workflow resumes only in a restarted worker (import dbos and
            # DBOS.launch(): 5-10 s of wall at load 17+, dbos-3.md)
            min_chaos_timeout=60.0, min_heal_timeout=30.0,
        )

    def supports(self, operation: str) -> bool:
        return operation not in _UNSUPPORTED

    def _unsupported(self, operation: str) -> Unsupported:
        return Unsupported(self.name, self.tier, operation.replace("_", " "),
                           _UNSUPPORTED[operation])

    # ------------------------------------------------------------ lifecycle
    def open(self, session: Session) -> None:
        self.session = session
        if self.tier == "postgres":
            from harness.services.isolation import PostgresDatabases

            self.database = "wfc_dbos_" + uuid.uuid4().hex[:12]
            self.url = _plain_url(PostgresDatabases(_admin_url()).create(self.database))
        else:
            self.url = f"sqlite:///{session.workdir / 'dbos-system.sqlite'}"
        config = {"name": APP_NAME, "url": self.url}
        (session.workdir / "dbos.json").write_text(json.dumps(config), encoding="utf-8")
        from harness.adapters.dbos.workflows import POLLING_INTERVAL, QUEUE_NAME

        DBOS.migrate(self.url)  # DBOS's tables, made once here: workers start together
        self.client = DBOSClient(system_database_url=self.url, application_name=APP_NAME)
        self.client.register_queue(QUEUE_NAME, polling_interval_sec=POLLING_INTERVAL)

    def _ensure_workers(self) -> None:
        """Start the workers at the first launch (a scenario refused at ``set_caching``
        costs none), all at once, and wait until each has run ``DBOS.launch()``."""
        if self.procs:
            return
        self.versions = [VERSION] * self.workers
        self.pool.start(ready=self._wait_ready)

    @property
    def procs(self) -> list[subprocess.Popen[bytes]]:
        """The workers' processes (``WorkerPool``)."""
        return self.pool.procs

    def _executor(self, index: int) -> str:
        return f"wfc-worker-{index}"

    def _start_worker(self, index: int) -> subprocess.Popen[bytes]:
        assert self.session is not None
        root = str(Path(harness.__file__).resolve().parent.parent)
        env = {**os.environ, **self.session.env(),
               "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH"))
                                             if p)}
        log_path = self.session.workdir / f"dbos-worker-{index}.log"
        with open(log_path, "ab") as log:
            return subprocess.Popen(
                [sys.executable, "-m", "harness.adapters.dbos.worker",
                 str(self.session.workdir / "dbos.json"), self._executor(index),
                 self.versions[index]],
                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def _wait_ready(self, procs: list[subprocess.Popen[bytes]]) -> None:
        """Until each worker printed ``ready`` (``DBOS.launch()`` returned) in its log."""
        assert self.session is not None
        deadline = time.monotonic() + READY_TIMEOUT
        for index, proc in enumerate(procs):
            log = self.session.workdir / f"dbos-worker-{index}.log"
            while True:
                text = log.read_text(errors="replace") if log.exists() else ""
                if text.count("ready\n") > self._readies(index):
                    break
                if proc.poll() is not None:
                    raise RuntimeError(f"DBOS worker {index} exited with {proc.returncode} "
                                       f"before it was ready: {text[-600:]}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"DBOS worker {index} not ready within "
                                       f"{READY_TIMEOUT} s: {text[-600:]}")
                time.sleep(0.05)

    def _readies(self, index: int) -> int:
        """How many earlier generations of worker ``index`` printed ``ready``."""
        return self._generations.get(index, 0)

    def _before_restart(self, index: int) -> None:
        """A killed worker comes back with the same executor id (``WorkerPool``); on
        ``version-change`` under the next application version."""
        self._generations[index] = self._generations.get(index, 0) + 1
        if self.tier == "version-change":
            self.versions[index] = NEXT_VERSION
        self.restarts += 1
        self._note({"restarted": self._executor(index), "version": self.versions[index]})

    def _note(self, record: Mapping[str, Any]) -> None:
        if self.session is None:
            return
        with open(self.session.workdir / "dbos-notes.jsonl", "a", encoding="utf-8") as out:
            out.write(json.dumps({**record, "t": time.monotonic()}) + "\n")

    def close(self) -> None:
        self.pool.close()
        if self.client is not None:
            with contextlib.suppress(Exception):
                self.client.destroy()
            self.client = None
        if self.database is not None:
            from harness.services.isolation import PostgresDatabases

            database, self.database = self.database, None
            with contextlib.suppress(Exception):  # close must not raise on a half-open run
                PostgresDatabases(_admin_url()).remove(database)

    # ------------------------------------------------------------ the plan
    def launch(self, label: str, workflow: str, inputs: Mapping[str, Any]) -> Handle:
        workflow_id = (workflow if self.tier == "reused-ids"
                       else f"{label}-{uuid.uuid4().hex[:12]}")
        return self._enqueue(label, workflow_id, {"workflow": workflow, "path": label,
                                                  "inputs": dict(inputs)})

    def _enqueue(self, label: str, workflow_id: str, spec: dict[str, Any]) -> Handle:
        from harness.adapters.dbos.workflows import QUEUE_NAME, WORKFLOW_NAME

        self._ensure_workers()
        self.client.enqueue({"workflow_name": WORKFLOW_NAME, "queue_name": QUEUE_NAME,
                             "workflow_id": workflow_id}, spec)
        self.labels.setdefault(workflow_id, []).append(label)
        self.specs.setdefault(workflow_id, spec)
        return Handle(label, workflow_id)

    def relaunch(self, label: str, of: Handle) -> Handle:
        """A new workflow id with the same inputs (DBOS keeps no link between them, so
        ``restart_of`` is left unset); on ``reused-ids`` the same id, as the user's key."""
        spec = {**self.specs[of.id], "path": label}
        workflow_id = (spec["workflow"] if self.tier == "reused-ids"
                       else f"{label}-{uuid.uuid4().hex[:12]}")
        return self._enqueue(label, workflow_id, spec)

    def _rows(self, ids: list[str] | None = None) -> list[Row]:
        if self.client is None:
            return []
        statuses = self.client.list_workflows(workflow_ids=ids, load_output=True,
                                              load_input=True)
        rows = []
        for s in statuses:
            args = (s.input or {}).get("args") or ()
            spec = args[0] if args and isinstance(args[0], dict) else {}
            rows.append(Row(s.workflow_id, s.status, s.name, spec, s.output,
                            getattr(s, "parent_workflow_id", None), s.executor_id,
                            s.app_version, int(s.recovery_attempts or 0), s.created_at,
                            s.updated_at))
        return rows

    def _state(self, workflow_id: str) -> str | None:
        from harness.adapters.dbos.observe import STATES

        statuses = self.client.list_workflows(workflow_ids=[workflow_id], load_input=False,
                                              load_output=False)
        return STATES.get(statuses[0].status) if statuses else None

    def wait(self, handle: Handle, timeout: float) -> str | None:
        deadline = time.monotonic() + timeout
        while True:
            state = self._state(handle.id)
            if state in _TERMINAL:
                return state
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.05)

    def kill_process(self, handle: Handle) -> None:
        """DBOS's cancellation, with its children (``cancel_children=True``); the
        workflow's thread stops at its next DBOS operation. No-op when terminal."""
        if self._state(handle.id) in _TERMINAL:
            return
        self.client.cancel_workflow(handle.id, cancel_children=True)

    def set_caching(self, default: bool, enabled: tuple[str, ...],
                    disabled: tuple[str, ...]) -> None:
        if default or enabled:
            raise Unsupported(self.name, self.tier, "turn caching on",
                              "DBOS has no result cache (a new workflow id executes every "
                              "step again; a reused id returns its stored result)")

    def invalidate(self, handle: Handle, calc_path: str) -> None:
        raise Unsupported(self.name, self.tier, "invalidate a cache source",
                          "DBOS has no result cache")

    # ------------------------------------------------------------ faults
    def arm_crashpoint(self, crashpoint: str, target: str, attempt: int) -> None:
        if crashpoint == "while_waiting" and target.startswith("calc:"):
            raise Unsupported(self.name, self.tier, f"arm {crashpoint} on {target}",
                              "a calculation waits for nothing")
        if crashpoint not in BODY_CRASHPOINTS and crashpoint not in ENGINE_CRASHPOINTS:
            raise Unsupported(self.name, self.tier, f"arm crashpoint {crashpoint!r}",
                              "not emulated for DBOS")
        self._plan = self._plan.with_kill((crashpoint, target, attempt))
        assert self.session is not None
        self.session.write_plan(self._plan)

    def disarm_all(self) -> None:
        self._plan = BodyPlan(active=False)
        if self.session is not None:
            self.session.write_plan(self._plan)

    def kill_worker(self, pid: int | None = None) -> int:
        """SIGKILL worker ``pid`` (a body's ``os.getpid()``: a DBOS worker process runs its
        workflows' steps in its own threads), or any live worker."""
        live = self.pool.pids()
        if pid is None:
            if not live:
                raise RuntimeError("no DBOS worker of this run is alive")
            pid = live[0]
        elif pid not in live:
            raise ValueError(f"pid {pid} is not a live DBOS worker of this run ({live})")
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        return pid

    def restart_broker(self, hard: bool) -> None:
        raise self._unsupported("restart_broker")

    def restart_database(self) -> None:
        raise self._unsupported("restart_database")

    def drop_connection(self) -> None:
        raise self._unsupported("drop_connection")

    def fail_commit(self, target: str, attempt: int) -> None:
        raise self._unsupported("fail_commit")

    # ------------------------------------------------------------ the view
    def observe(self) -> Observation:
        """DBOS's rows once they stopped changing for ``SETTLE_QUIET`` s (a cancelled
        parent's children may still be stopping)."""
        from harness.adapters.dbos.workflows import CALC_NAME

        rows = self._settled_rows()
        return Observation(build_views(rows, self.labels, self.restart_of, CALC_NAME))

    def _settled_rows(self) -> list[Row]:
        rows = self._rows()
        deadline = time.monotonic() + SETTLE_TIMEOUT
        since = time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.1)
            again = self._rows()
            if _snapshot(again) != _snapshot(rows):
                rows, since = again, time.monotonic()
            elif time.monotonic() - since >= SETTLE_QUIET:
                break
        return rows

    def events(self) -> tuple[Mapping[str, Any], ...]:
        """DBOS's dispatch counts (``recovery_attempts``) as claims, for P2."""
        return claims(self._rows())

    def diagnose(self, handle: Handle) -> str:
        rows = {r.id: r for r in self._rows([handle.id])}
        row = rows.get(handle.id)
        with self.pool.lock:
            live = [(self._executor(i), self.versions[i]) for i, p in enumerate(self.procs)
                    if p.poll() is None]
        if row is None:
            return f"DBOS has no workflow {handle.id}"
        text = (f"DBOS status {row.status}, executor {row.executor}, application version "
                f"{row.version}, dispatched {row.attempts} time(s); live workers: {live}")
        if row.status == "PENDING" and (row.executor, row.version) not in live:
            text += (f"; orphaned: no live worker has executor {row.executor} with version "
                     f"{row.version}, and DBOS recovers a PENDING workflow only in a worker "
                     "with both")
        return text


def _snapshot(rows: list[Row]) -> tuple[tuple[str, str, int], ...]:
    return tuple(sorted((r.id, r.status, r.attempts) for r in rows))


def make_adapter(tier: str = "sqlite") -> DbosAdapter:
    """The factory ``--engine dbos`` loads."""
    return DbosAdapter(tier=tier)
