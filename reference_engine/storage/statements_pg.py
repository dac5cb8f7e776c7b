"""PostgreSQL only: creation and claim as one statement each, with data-modifying CTEs.

Why: on the real tier every round trip costs CPU in the worker (SQLAlchemy, psycopg)
and in the server. A claim took four statements (lease the task, bump the process,
log the event, read the armed crashpoints) and a creation three; each is now one, with
the same effect and the same lock order (the task row before its process row: the
process UPDATE reads the task CTE's output, so it runs after it). SQLite has no
data-modifying CTEs and keeps ``statements.py``; the engine tests run both.
"""

from __future__ import annotations

from sqlalchemy import text

from reference_engine.storage.records import ACTIVE_STATES

__all__ = ["CLAIM_OLDEST", "CLAIM_PROCESS", "CREATE_PROCESS"]

CREATE_PROCESS = text("""
WITH p AS (
    INSERT INTO processes (type, label, kind, state, message, inputs, version, parent_id,
                           parent_key, restart_of, cache_valid, exit_invalidates_cache,
                           created_at, updated_at)
    VALUES (:type, :label, :kind, 'created', '', :inputs, 0, :parent_id, :parent_key,
            :restart_of, true, false, :now, :now)
    RETURNING id
), t AS (
    INSERT INTO tasks (process_id, attempts) SELECT id, 0 FROM p
), e AS (
    INSERT INTO events (process_id, state, worker, at) SELECT id, 'created', NULL, :now FROM p
)
SELECT id FROM p
""")
"""A process, its first task and its "created" event. Returns the new id."""

_CLAIM = """
WITH t AS (
    UPDATE tasks SET lease_owner = :owner, lease_expires = :expires,
                     attempts = tasks.attempts + 1
    WHERE tasks.id IN (
        SELECT id FROM tasks
        WHERE {which} (lease_owner IS NULL OR lease_expires < :now)
        {order} FOR UPDATE SKIP LOCKED)
    RETURNING tasks.id, tasks.process_id, tasks.attempts
), p AS (
    UPDATE processes SET state = 'running', version = processes.version + 1,
                         updated_at = :now
    FROM t
    WHERE processes.id = t.process_id AND processes.state IN ({active})
    RETURNING processes.*
), e AS (
    INSERT INTO events (process_id, state, worker, at)
    SELECT process_id, 'claimed', :owner, :now FROM t
)
SELECT t.id AS task_id, t.process_id AS task_process, t.attempts AS task_attempts,
       (SELECT coalesce(json_agg(json_build_array(crashpoint, target, attempt) ORDER BY id),
                        '[]'::json) FROM faults) AS armed,
       p.*
FROM t LEFT JOIN p ON true
"""

_ACTIVE = ", ".join(f"'{state}'" for state in sorted(ACTIVE_STATES))
CLAIM_PROCESS = text(_CLAIM.format(which="process_id = :pid AND", order="", active=_ACTIVE))
"""Lease process ``pid``'s free task, bump the process, log, read the armed crashpoints.
One row (task_id, task_process, task_attempts, armed, and the process's columns, all
NULL when the process is terminal), or none when there is nothing to claim."""

CLAIM_OLDEST = text(_CLAIM.format(which="", order="ORDER BY id LIMIT 1", active=_ACTIVE))
"""The same for the oldest free task."""
