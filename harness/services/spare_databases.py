"""Scenario databases made ahead and dropped behind, off the scenario's critical path.

Why: each real-tier scenario gets a fresh PostgreSQL database. ``CREATE DATABASE`` and
``DROP DATABASE ... WITH (FORCE)`` took 98 and 67 ms of a 1,282 ms scenario
(``benchmarks/fuzz_phases.py --tier real``, 2026-12-04, a DBOS campaign sharing the
cores): 13 % of real-tier fuzz spent waiting on the server for work that needs no
scenario. One background thread makes the next scenario's database while the current
one runs, and drops finished ones after their scenario has returned.

What a user relies on is unchanged: a scenario still starts on an empty database of its
own, and nothing outlives the run (``close`` waits for every drop and drops the spare;
a SIGKILL leaves names ``sweep_stale`` removes on the next run). A failed create is
made again at once by the ``take`` that needed it (it may have met the scenario's own
database restart), and raised if that fails too; a failed drop is tried again at
each later ``give_back`` and in ``close``, then warned about.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from harness.services.base import Isolation

__all__ = ["SpareDatabases"]


class SpareDatabases:
    """``take`` a database made ahead (and start making the next); ``give_back`` one to
    be dropped in the background; ``close`` to finish every drop and drop the spare."""

    def __init__(self, isolation: Isolation, new_name: Callable[[], str]) -> None:
        self._isolation = isolation
        self._new_name = new_name
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="wfc-spare-db")
        self._spare: tuple[str, Future[str]] | None = None
        self._drops: list[tuple[str, Future[None]]] = []
        self._failed: list[str] = []  # names whose create failed (they may exist anyway)
        self._closed = False

    def take(self) -> tuple[str, str]:
        """(name, URL) of a fresh database for one scenario; the next is made meanwhile."""
        with self._lock:
            if self._closed:
                raise RuntimeError("SpareDatabases.take after close")
            if self._spare is None:
                self._spare = self._make()
            name, made = self._spare
            try:
                url = made.result()  # the spare stays ours (close drops it) until here
            except Exception:
                # Made while the last scenario ran, maybe across its database restart:
                # make one now, under a new name (the old one may exist; ``close`` drops
                # it). A second failure is the server's, and raised.
                self._spare = None
                self._failed.append(name)
                name = self._new_name()
                self._failed.append(name)  # until made: a Ctrl-C may land in between
                url = self._isolation.create(name)
                self._failed.remove(name)
            self._spare = self._make()
            return name, url

    def give_back(self, name: str) -> None:
        """Drop ``name`` in the background (its scenario has ended)."""
        with self._lock:
            again = [n for n, f in self._drops if f.done() and f.exception() is not None]
            self._drops = [(n, f) for n, f in self._drops if not f.done()]
            for drop in (*again, name):  # a failed drop is tried with each later one
                self._drops.append((drop, self._pool.submit(self._isolation.remove, drop)))

    def close(self) -> None:
        """Wait for the drops, drop the spare, stop the thread. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            spare, self._spare = self._spare, None
        self._pool.shutdown(wait=True)
        left = [name for name, done in self._drops if done.exception() is not None]
        left += self._failed
        if spare is not None:
            left.append(spare[0])
        self._drops, self._failed = [], []
        for name in left:  # a failed drop once more, and the spare
            try:
                self._isolation.remove(name)
            except Exception as exc:
                warnings.warn(f"could not drop scenario database {name}: {exc}",
                              stacklevel=2)

    def _make(self) -> tuple[str, Future[str]]:
        name = self._new_name()
        return name, self._pool.submit(self._isolation.create, name)
