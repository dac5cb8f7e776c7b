"""Hints published from a thread of their own, so a submitter never waits for a confirm.

Why: ``Engine.submit`` used to commit the new process and then publish its hint with a
publisher confirm, one round trip to RabbitMQ per submit in the caller's thread; that
wait, not any CPU, capped back-to-back submissions. The store is the source of truth, so
``submit`` may return once the process and its task are committed; the hint follows a
fraction of a millisecond later from this thread.

Confirms still decide when a hint counts as sent: ``Announcer`` drops a hint from its
pending list only once RabbitMQ confirmed it, and keeps retrying the others (with a
backoff while the broker is down). ``close`` flushes, and so does interpreter exit for an
engine nobody closed. A hint still pending when the process dies is covered by the
daemon's sweeper, which re-announces every task left without a hint (L1).

Only the thread touches pika (its connection is not thread-safe): it opens and closes the
connection itself. An engine must not be used across ``fork``: the child has no thread.

Workers keep the synchronous ``Announcer``: a worker must know the next step is announced
before it acknowledges the hint that led to it.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref

from reference_engine.brokers.rabbitmq import Announcer, RabbitBroker

__all__ = ["BackgroundAnnouncer"]

RETRY_MIN_SECONDS = 0.05
RETRY_MAX_SECONDS = 1.0
AT_EXIT_SECONDS = 2.0
log = logging.getLogger(__name__)


class BackgroundAnnouncer:
    """A ``Store.on_ready`` hook that queues ids and returns at once; thread-safe."""

    def __init__(self, broker_url: str, name: str = "wfconform-engine") -> None:
        self.announcer = Announcer(RabbitBroker(broker_url, name=name))  # checks the URL
        self._cond = threading.Condition()
        self._queued: list[int] = []
        self._busy = False
        self._closing = False
        self._retry_at = 0.0
        self._thread = threading.Thread(target=self._run, name=f"{name}-hints", daemon=True)
        self._thread.start()
        ref = weakref.ref(self)

        def flush_at_exit() -> None:  # an engine nobody closed: still announce its hints
            announcer = ref()
            if announcer is not None:
                announcer.close(AT_EXIT_SECONDS)

        self._at_exit = flush_at_exit
        atexit.register(flush_at_exit)

    @property
    def broker(self) -> RabbitBroker:
        return self.announcer.broker

    def __call__(self, process_ids: list[int]) -> None:
        with self._cond:
            self._queued.extend(process_ids)
            self._cond.notify_all()

    def unsent(self) -> int:
        """Hints queued or published but not yet confirmed."""
        with self._cond:
            return len(self._queued) + len(self.announcer.pending)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every queued hint is confirmed; False if some are still pending."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queued or self._busy or self.announcer.pending:
                left = deadline - time.monotonic()
                if left <= 0 or not self._thread.is_alive():
                    return False
                self._cond.wait(left)
        return True

    def close(self, timeout: float = 5.0) -> None:
        """Publish what is queued (up to ``timeout`` seconds), then stop the thread.

        The thread closes its own connection on its way out; a thread still inside a
        publish when the timeout ends does so once that publish returns.
        """
        atexit.unregister(self._at_exit)
        if not self.flush(timeout):
            log.warning("%d hint(s) not announced before close; the daemon's sweeper "
                        "announces their tasks", self.unsent())
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join(timeout)

    def _run(self) -> None:
        try:
            self._loop()
        finally:
            self.broker.close()
            with self._cond:
                self._cond.notify_all()  # flush() waiters see the thread gone

    def _loop(self) -> None:
        backoff = RETRY_MIN_SECONDS
        while True:
            with self._cond:
                while not self._closing and not self._due():
                    wait = self._retry_at - time.monotonic()
                    self._cond.wait(wait if wait > 0 and self._has_work() else None)
                if self._closing:
                    return
                batch, self._queued = self._queued, []
                self._busy = True
            try:
                self.announcer(batch)  # keeps what RabbitMQ did not confirm
                sent = not self.announcer.pending
            except Exception:  # a bug must not silently stop every later hint; the
                log.exception("hint thread: publishing failed")  # batch stays pending
                sent = False
            with self._cond:
                self._busy = False
                self._cond.notify_all()
                if sent:
                    backoff, self._retry_at = RETRY_MIN_SECONDS, 0.0
                else:  # broker down: new hints wait in the queue until the retry is due
                    self._retry_at = time.monotonic() + backoff
                    backoff = min(backoff * 2, RETRY_MAX_SECONDS)

    def _has_work(self) -> bool:
        return bool(self._queued or self.announcer.pending)

    def _due(self) -> bool:
        return self._has_work() and time.monotonic() >= self._retry_at
