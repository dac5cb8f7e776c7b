"""Hints published from a thread of their own, so a submitter never waits for a confirm.

Why: ``Engine.submit`` used to commit the new process and then publish its hint with a
publisher confirm, one round trip to RabbitMQ per submit in the caller's thread; that
wait, not any CPU, capped back-to-back submissions. The store is the source of truth, so
``submit`` may return once the process and its task are committed; the hint follows a
fraction of a millisecond later from this thread.

Confirms still decide when a hint counts as sent: ``Announcer`` drops a hint from its
pending list only once RabbitMQ confirmed it, and keeps retrying the others. A hint
still pending when this process dies is covered by the daemon's sweeper, which
re-announces every task left without a hint (L1).

Workers keep the synchronous ``Announcer``: a worker must know the next step is announced
before it acknowledges the hint that led to it.
"""

from __future__ import annotations

import logging
import threading
import time

from reference_engine.brokers.rabbitmq import Announcer, RabbitBroker

__all__ = ["BackgroundAnnouncer"]

RETRY_MAX_SECONDS = 1.0
log = logging.getLogger(__name__)


class BackgroundAnnouncer:
    """A ``Store.on_ready`` hook that queues ids and returns at once; thread-safe.

    pika's connection is not thread-safe, so only the background thread touches it.
    """

    def __init__(self, broker_url: str, name: str = "wfconform-engine") -> None:
        self.announcer = Announcer(RabbitBroker(broker_url, name=name))
        self._cond = threading.Condition()
        self._queued: list[int] = []
        self._busy = False
        self._closing = False
        self._thread = threading.Thread(target=self._run, name=f"{name}-hints", daemon=True)
        self._thread.start()

    @property
    def broker(self) -> RabbitBroker:
        return self.announcer.broker

    def __call__(self, process_ids: list[int]) -> None:
        with self._cond:
            self._queued.extend(process_ids)
            self._cond.notify_all()

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
        """Publish what is queued (up to ``timeout`` seconds), then stop the thread."""
        if not self.flush(timeout):
            left = len(self._queued) + len(self.announcer.pending)
            log.warning("%d hint(s) not announced before close; the daemon's sweeper "
                        "announces their tasks", left)
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join(timeout)
        self.broker.close()

    def _run(self) -> None:
        backoff = 0.05
        while True:
            with self._cond:
                while not (self._queued or self.announcer.pending or self._closing):
                    self._cond.wait()
                if self._closing:
                    return
                batch, self._queued = self._queued, []
                self._busy = True
            self.announcer(batch)  # never raises; keeps what it could not send
            sent = not self.announcer.pending
            with self._cond:
                self._busy = False
                self._cond.notify_all()
                if not sent:  # broker down: retry later, unless closing
                    self._cond.wait(backoff)
                    backoff = min(backoff * 2, RETRY_MAX_SECONDS)
                else:
                    backoff = 0.05
