"""Which failures are permanent (except the process once) and which are outages (retry).

Why one place: before this, a worker treated every database error as "database down"
and retried a ``DataError`` (a key too long for its column) forever, while a
``UnicodeEncodeError`` or a ``RuntimeError`` raised by a module at import escaped every
handler and killed the worker, which the daemon replaced, which claimed the same task
first in line again: a crash loop. The rule here:

- **outage**: the connection or the server failed (``OperationalError``,
  ``InterfaceError``, an invalidated connection, a full disk): nothing is wrong with the
  process; free its task, back off, retry. A full disk is an outage too: nothing was
  lost before, and everything must finish once space returns.
- **permanent**: anything else while running a process (data and encoding errors, a
  module that fails at import, a value over a limit, integrity errors): the same input
  will fail the same way, so the process is excepted once, with the reason.

A failure that kills the worker itself (a segfault, an ``os._exit`` in user code) is
bounded by ``MAX_CLAIMS``: a task claimed that many times in a row without progress is
excepted by its next claim (quarantine), so no crash loop outlives it.
"""

from __future__ import annotations

import os

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

MAX_CLAIMS_ENV_VAR = "REFERENCE_ENGINE_MAX_CLAIMS"
MAX_CLAIMS = int(os.environ.get(MAX_CLAIMS_ENV_VAR, "") or 20)
"""Claims of one step's task without a commit before the process is quarantined.

A step whose worker is SIGKILLed is claimed again; the harness lands at most a handful
of kills on one step, and a kill storm (a kill every 0.3 s over many workers) hits the
same step twice rarely, so 20 only ends genuine crash loops. ``$REFERENCE_ENGINE_MAX_CLAIMS``
in a worker's environment overrides it (tests use 3 to be quick)."""

_PERMANENT_SQLSTATE_CLASSES = ("22", "23", "42")  # data, integrity, syntax/access rule


def is_outage(exc: BaseException) -> bool:
    """True when a retry later can succeed with the same input (see module doc).

    An exception class may declare itself one with ``outage = True`` (the simulation's
    lost connection does: it must take the path a real ``OperationalError`` takes).
    """
    if getattr(exc, "outage", False) is True:
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    if isinstance(code, str) and code[:2] in _PERMANENT_SQLSTATE_CLASSES:
        return False
    return isinstance(exc, (OperationalError, InterfaceError))


def is_disk_full(exc: BaseException) -> bool:
    """SQLite's "database or disk is full" or PostgreSQL's disk_full (53100)."""
    code = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return code == "53100" or "disk is full" in str(exc) or "No space left" in str(exc)


def describe(exc: BaseException) -> str:
    """One line for a log or a process message: type and first line, no SQL text."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        exc = exc.orig
    first = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first}"[:500]
