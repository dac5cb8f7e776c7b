"""Transactions for the store: retries of lock conflicts, and "work is ready" notices.

Two things every write path needs on PostgreSQL, kept out of ``store.py``'s logic:

- ``retry_transient``: under READ COMMITTED two transactions that lock rows in opposite
  orders (a child finishing locks itself then its parent; a kill locks the parent then
  its children) can deadlock. PostgreSQL aborts one of them (SQLSTATE 40P01) *before*
  anything is committed, so running the whole method again is safe. Errors of the
  connection itself are not retried here: a lost COMMIT is ambiguous, the caller decides.
- ``ReadyNotices``: a transaction that makes a task claimable (a new process, a released
  lease, a woken parent) records the process id with ``mark_ready``; after the commit,
  and only then, the store hands the ids to its ``on_ready`` hook. The embedded runtime
  needs no hook (workers poll the table); the broker runtime publishes one message per
  id, so a message never announces work that is not yet committed.
"""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

READY_KEY = "wfconform_ready"
# deadlock, serialization failure, lock not available (a NOWAIT lock: see Store.kill)
TRANSIENT_SQLSTATES = frozenset({"40P01", "40001", "55P03"})
MAX_ATTEMPTS = 8

F = TypeVar("F", bound=Callable[..., Any])
OnReady = Callable[[list[int]], None]


def is_transient(exc: BaseException) -> bool:
    """True for a rolled-back lock conflict that a fresh attempt can resolve."""
    if not isinstance(exc, DBAPIError) or exc.connection_invalidated:
        return False
    orig = exc.orig
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return code in TRANSIENT_SQLSTATES


def retry_transient(method: F) -> F:
    """Run the whole (one-transaction) method again after a deadlock or serialization error."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                return method(*args, **kwargs)
            except DBAPIError as exc:
                if attempt == MAX_ATTEMPTS or not is_transient(exc):
                    raise
                time.sleep(random.uniform(0, 0.002 * attempt))  # de-synchronise the two
        raise AssertionError("unreachable")  # pragma: no cover

    return wrapper  # type: ignore[return-value]  # same signature, wrapped


def mark_ready(conn: Connection, process_id: int) -> None:
    """Note inside a transaction that this process's task becomes claimable at commit."""
    conn.info.setdefault(READY_KEY, []).append(process_id)


@contextmanager
def begin(db: Engine, on_ready: OnReady | None) -> Iterator[Connection]:
    """One transaction; after its commit, pass the ids it made ready to ``on_ready``."""
    with db.connect() as conn:
        conn.info.pop(READY_KEY, None)  # a rolled-back attempt may have left some
        with conn.begin():
            yield conn
        ready: list[int] = conn.info.pop(READY_KEY, [])
    if ready and on_ready is not None:
        on_ready(list(dict.fromkeys(ready)))
