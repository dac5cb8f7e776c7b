"""The daemon's sweeper: re-announce task rows that no hint will reach (L1).

A hint can be lost: the broker died before confirming it, a worker died between its
commit and its publish, the database was down when a worker tried to release its lease.
The store still has the task row, unleased. Every ``interval`` seconds the sweeper
compares the unleased rows with the hints waiting in the queue: when there are fewer
hints than rows, some row has none, and it re-announces (at most that many of) the rows
it has seen unleased for at least ``after`` seconds. Why not simply every stale row: with
a backlog, rows legitimately wait longer than ``after`` behind their hints, and flooding
the queue with duplicates slowed a 200-workflow run five-fold. A duplicate that slips
through is dropped by the worker that receives it: it costs a little, never correctness.

It also announces the tasks the daemon frees when a worker dies (``announce``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from sqlalchemy.exc import DBAPIError

from reference_engine.brokers.rabbitmq import Announcer, RabbitBroker
from reference_engine.errors import BrokerUnavailableError
from reference_engine.storage.store import Store

log = logging.getLogger(__name__)


class Sweeper:
    """Bound the life of a lost hint to about ``after + interval`` seconds."""

    def __init__(self, store: Store, broker_url: str, after: float = 2.0,
                 interval: float = 0.5, clock: Callable[[], float] = time.monotonic) -> None:
        if after < 0 or interval <= 0:
            raise ValueError(
                f"sweeper needs after >= 0 and interval > 0, got after={after}, "
                f"interval={interval}"
            )
        self.store = store
        self.announcer = Announcer(RabbitBroker(broker_url, name="wfconform-daemon"))
        self.after, self.interval, self.clock = after, interval, clock
        self._seen: dict[int, float] = {}  # process id -> when last (re)announced or seen
        self._next = 0.0
        self.republished = 0

    def announce(self, process_ids: list[int]) -> None:
        """``Store.on_ready`` hook of the daemon's store (leases freed after a death)."""
        now = self.clock()
        for pid in process_ids:
            self._seen[pid] = now
        self.announcer(process_ids)

    def tick(self) -> None:
        """Called often by the daemon; does real work every ``interval`` seconds.

        Never raises: the daemon's supervision loop calls it, and a sweeper failure must
        not stop the daemon from replacing dead workers.
        """
        now = self.clock()
        if now < self._next:
            return
        self._next = now + self.interval
        try:
            self._sweep(now)
        except Exception:  # best effort by design; the next tick tries again
            log.exception("sweeper: sweep failed")

    def _sweep(self, now: float) -> None:
        self.announcer.flush()
        try:
            unleased = self.store.unleased_tasks()
        except DBAPIError as exc:
            log.warning("sweeper: cannot read tasks: %s", exc)
            return
        seen = {pid: self._seen.get(pid, now) for pid in unleased}
        self._seen = seen
        oldest = sorted((since, pid) for pid, since in seen.items() if now - since >= self.after)
        if not oldest:
            return
        try:
            missing = len(unleased) - self.announcer.broker.depth()
        except BrokerUnavailableError as exc:
            log.warning("sweeper: cannot read the queue depth: %s", exc)
            return
        stale = [pid for _, pid in oldest[:max(0, missing)]]
        for pid in stale:
            seen[pid] = now
        if stale:
            self.republished += len(stale)
            log.info("sweeper: re-announcing %d unleased task(s)", len(stale))
            self.announcer(stale)

    def close(self) -> None:
        self.announcer.broker.close()
