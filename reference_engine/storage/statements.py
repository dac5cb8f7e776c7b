"""The statements a worker runs for every task, built once at import.

Why module constants with bind parameters: building a SQLAlchemy Core statement is pure
Python (about 90 argument coercions per trivial workflow were measured) and cost about as
much as running it on a local PostgreSQL. A constant is compiled once per dialect and
then only executed. Each statement also does in one round trip what used to take two or
three, which matters more on PostgreSQL than the SQL itself.

The same text serves SQLite and PostgreSQL: SQLAlchemy's SQLite compiler drops
``FOR UPDATE`` (SQLite serialises writers with ``BEGIN IMMEDIATE`` instead, see
``connect.py``), and both support ``RETURNING``.
"""

from __future__ import annotations

from sqlalchemy import bindparam, delete, insert, literal_column, or_, select, update

from reference_engine.storage.records import ACTIVE_STATES
from reference_engine.storage.schema import events, faults, processes, tasks

__all__ = ["ARMED", "BUMP_PROCESS", "DELETE_TASK", "FENCE", "INSERT_EVENT", "INSERT_PROCESS",
           "INSERT_TASK", "LEASE_OLDEST_TASK", "LEASE_TASK_OF", "PROCESS_COLUMNS",
           "RELEASE_TASK", "WRITE_PROCESS"]

INSERT_EVENT = insert(events)
"""Parameters: process_id, state, worker, at."""

INSERT_PROCESS = insert(processes).returning(processes.c.id)
"""Parameters: every column but id. Returns the new id."""

INSERT_TASK = insert(tasks)
"""Parameters: process_id, attempts."""

WRITE_PROCESS = update(processes).where(processes.c.id == bindparam("pid"))
"""Parameters: pid, and the columns to set (SQLAlchemy SETs exactly the keys given and
ignores any other key: check keys with ``PROCESS_COLUMNS`` first)."""

PROCESS_COLUMNS = frozenset(processes.c.keys())

DELETE_TASK = delete(tasks).where(tasks.c.id == bindparam("task_id"))
"""A task that is done: its process waits, or is terminal."""

RELEASE_TASK = (update(tasks).where(tasks.c.id == bindparam("task_id"))
                .values(lease_owner=None, lease_expires=None, attempts=0))
"""A task whose process goes on: free for any worker, attempts counted afresh."""

_free = or_(tasks.c.lease_owner.is_(None), tasks.c.lease_expires < bindparam("now"))
_leased = {"lease_owner": bindparam("owner"), "lease_expires": bindparam("expires"),
           "attempts": tasks.c.attempts + 1}
_returned = (tasks.c.id, tasks.c.process_id, tasks.c.attempts)

LEASE_TASK_OF = (
    update(tasks)
    .where(tasks.c.id.in_(
        select(tasks.c.id).where(tasks.c.process_id == bindparam("pid"), _free)
        .with_for_update(skip_locked=True)
    ))
    .values(_leased)
    .returning(*_returned)
)
"""Lease process ``pid``'s task if nobody holds it (skip it if another claim has it
locked). Parameters: pid, now, owner, expires. Returns (id, process_id, attempts)."""

LEASE_OLDEST_TASK = (
    update(tasks)
    .where(tasks.c.id.in_(
        select(tasks.c.id).where(_free).order_by(tasks.c.id).limit(1)
        .with_for_update(skip_locked=True)
    ))
    .values(_leased)
    .returning(*_returned)
)
"""Lease the oldest free task. Parameters: now, owner, expires."""

BUMP_PROCESS = (
    update(processes)
    .where(processes.c.id == bindparam("pid"),
           # literal, not IN (...): an expanding IN is re-rendered at every execution
           or_(*(processes.c.state == literal_column(f"'{s}'") for s in sorted(ACTIVE_STATES))))
    .values(state="running", version=processes.c.version + 1, updated_at=bindparam("now"))
    .returning(*processes.c)
)
"""Mark an active process running and bump its version, fencing out older holders.
Returns the updated row; no row when the process is terminal."""

FENCE = (
    select(processes.c.version, processes.c.state)
    .select_from(tasks.join(processes, processes.c.id == tasks.c.process_id))
    .where(tasks.c.id == bindparam("task_id"), tasks.c.lease_owner == bindparam("owner"))
    .with_for_update()
)
"""The version and state of the process whose task ``task_id`` ``owner`` still holds.

On PostgreSQL it locks both rows until the commit, the task row first (the order every
writer takes them). Without the locks, READ COMMITTED let a stale holder pass the check,
a new claim commit, and the stale write then set the version the new holder expects."""

ARMED = select(faults.c.crashpoint, faults.c.target, faults.c.attempt).order_by(faults.c.id)
"""The armed crashpoints: read in the claim's transaction, no extra round trip."""
