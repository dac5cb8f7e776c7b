"""Emulating the two crashpoints AiiDA's user code cannot reach: `while_waiting` and
`after_checkpoint_before_ack`, for WorkChain step targets only.

AiiDA has no named crashpoints. The three body crashpoints (`after_claim`,
`before_effect`, `after_effect_before_checkpoint`) are executed by the harness's body
runtime, a SIGKILL of the worker inside the step body. The other two name places after
the step has returned, which no body reaches; this module lands them with AiiDA's own
state as the trigger, in the worker that runs the process:

- When step X of process P begins its armed attempt, the body hook marks P *pending*
  and starts a watcher thread.
- `after_checkpoint_before_ack`: AiiDA acknowledges a task only when the process
  terminates, so "after X's checkpoint, before the ack" is any moment after the
  checkpoint that follows X. The kill lands at the first of: the next body of P
  beginning in this worker (AiiDA saved the checkpoint before running it, and the body
  has not yet had an effect), or the watcher seeing P `waiting` with a saved checkpoint.
- `while_waiting`: the watcher SIGKILLs the worker once P is `waiting` (for the
  children X launched) and its checkpoint says so; if P never waits (X launched
  nothing to wait for), the kill lands at P's next body instead, as above.

The watcher reads P's row straight from the database (SQLite read-only, or PostgreSQL
on the psql tier; its own connection), never through AiiDA's session, which belongs to
the worker's main thread.
Every landed or missed kill is logged to the session's fault log.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from harness.bodies import BeginHook, BodyRuntime
from harness.journal import AppendLog
from harness.session import BodyPlan

__all__ = ["ENGINE_CRASHPOINTS", "WATCH_SECONDS", "begin_hook"]

ENGINE_CRASHPOINTS: tuple[str, ...] = ("after_checkpoint_before_ack", "while_waiting")
WATCH_SECONDS = 120.0
_POLL = 0.005

_PENDING: dict[str, dict[str, Any]] = {}
"""process id -> the armed kill waiting to land in this worker."""


def _log(record: dict[str, Any]) -> None:
    session = BodyRuntime.current().session
    with AppendLog(session.faults_path) as log:
        log.append({"type": "fault", "source": "body", "fault": "kill_at_crashpoint",
                    "worker": os.getpid(), "t": time.monotonic(), **record})


def _die(pending: dict[str, Any], where: str) -> None:
    if not BodyRuntime.current().plan().active:
        _log({**pending, "status": "missed", "reason": "healed before it could land"})
        return
    _log({**pending, "status": "fired", "landed": where})
    os.kill(os.getpid(), signal.SIGKILL)
    while True:  # pragma: no cover - the signal is delivered before this line
        time.sleep(1)


def _database() -> str:
    """Where the watcher reads from: a SQLite file path or a PostgreSQL DSN."""
    from aiida.manage import get_manager

    profile = get_manager().get_profile()
    if profile is None:
        raise RuntimeError("no AiiDA profile loaded in this worker: cannot watch the database")
    config = profile.storage_config
    if "database_name" in config:
        return (f"postgresql://{config['database_username']}@{config['database_hostname']}:"
                f"{config['database_port']}/{config['database_name']}")
    return str(Path(config["filepath"]) / "database.sqlite")


class _Reader:
    """A read-only connection of its own to the profile's database (either kind)."""

    def __init__(self, database: str) -> None:
        self.postgres = database.startswith("postgresql://")
        if self.postgres:
            import psycopg

            self.connection: Any = psycopg.connect(database, autocommit=True, connect_timeout=5)
        else:
            self.connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5.0)

    def row(self, pk: int) -> tuple[str | None, str | None]:
        if self.postgres:
            sql = ("SELECT attributes->>'process_state', attributes->>'checkpoints' "
                   "FROM db_dbnode WHERE id = %s")
        else:
            sql = ("SELECT json_extract(attributes, '$.process_state'), "
                   "json_extract(attributes, '$.checkpoints') FROM db_dbnode WHERE id = ?")
        row = self.connection.execute(sql, (pk,)).fetchone()
        return (row[0], row[1]) if row else (None, None)

    def close(self) -> None:
        self.connection.close()


def _watch(process: str, database: str, before: str | None) -> None:
    """Kill this worker once `process` waits with a new checkpoint saved (see docstring)."""
    deadline = time.monotonic() + WATCH_SECONDS
    reader = _Reader(database)
    try:
        while time.monotonic() < deadline:
            pending = _PENDING.get(process)
            if pending is None:  # landed at the next body, or cleared
                return
            try:
                state, checkpoint = reader.row(int(process))
            except Exception:  # sqlite3.Error or psycopg.Error: a fault cut the read
                state, checkpoint = None, None
                with contextlib.suppress(Exception):
                    reader.close()
                    reader = _Reader(database)
            if state in ("finished", "excepted", "killed"):
                _PENDING.pop(process, None)
                _log({**pending, "status": "missed",
                      "reason": f"process {process} became {state} first"})
                return
            if state == "waiting" and checkpoint and checkpoint != before \
                    and "Waiting" in checkpoint:
                mine = _PENDING.pop(process, None)  # the next body may have taken it
                if mine is not None:
                    _die(mine, "waiting for children, checkpoint saved")
                return
            time.sleep(_POLL)
    finally:
        reader.close()
    if _PENDING.pop(process, None) is not None:
        _log({"process": process, "status": "missed", "reason": "watch timed out"})


def _checkpoint_now(database: str, process: str) -> str | None:
    reader = _Reader(database)
    try:
        return reader.row(int(process))[1]
    finally:
        reader.close()


def begin_hook(process: str, key: str) -> BeginHook:
    """The `on_begin` hook for body `key` of WorkChain process `process`."""

    def hook(target: str, attempt: int, plan: BodyPlan) -> None:
        if not plan.active:
            _PENDING.clear()
            return
        pending = _PENDING.pop(process, None)
        if pending is not None:
            _die(pending, f"begin of the next body {key}, before its effect")
        for crashpoint, kill_target, kill_attempt in plan.engine_kills:
            if kill_target == target and kill_attempt == attempt:
                database = _database()
                _PENDING[process] = {"crashpoint": crashpoint, "target": target,
                                     "attempt": attempt, "key": key, "process": process}
                before = _checkpoint_now(database, process)
                threading.Thread(target=_watch, args=(process, database, before),
                                 name=f"wfconform-{crashpoint}", daemon=True).start()

    return hook
