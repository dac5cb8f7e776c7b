"""A worker driven by RabbitMQ hints: receive, claim in the database, execute, announce, ack.

Run by the daemon as ``python -m reference_engine.runtime.amqp_worker --url DB --broker
AMQP --owner ID`` when it is given a broker URL. For each hint "process X has work":

1. claim X's task row in the database (lease + version bump). Nothing to claim (no task:
   X waits or is terminal, N1; a live lease: another worker runs X) -> ack and drop;
2. execute one step or calculation; the store commits checkpoint, children and task
   completion in one fenced transaction (C5: a second executor of X is fenced out);
3. after that commit the store reports which tasks became claimable; their hints are
   published, confirmed, before the hint that led here is acked;
4. ack. If the channel died meanwhile the broker redelivers the hint: harmless, step 1.

The database lease, renewed by a heartbeat thread, decides who executes, not the AMQP
delivery: a redelivery after a cut connection or a consumer timeout finds the lease held
and is dropped, so the old executor is never joined by a second one.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import signal
import threading
import time

from sqlalchemy.exc import DBAPIError

from reference_engine.brokers.rabbitmq import Announcer, Delivery, RabbitBroker
from reference_engine.crashpoints import CrashPlan
from reference_engine.errors import BrokerUnavailableError, StoreUnavailableError
from reference_engine.runtime.amqp_env import BROKER_ENV
from reference_engine.runtime.executor import armed_for, execute
from reference_engine.runtime.ready import notify_ready
from reference_engine.runtime.worker import (
    die_with_parent,
    exit_promptly,
    redirect_output,
    run_prelude,
)
from reference_engine.storage.records import ClaimedTask
from reference_engine.storage.store import Store

DEFAULT_LEASE_SECONDS = 60.0
POLL_SECONDS = 0.03
"""How long one wait for a delivery lasts. It bounds how late the worker notices SIGTERM:
pika's wait is a ``poll`` that Python resumes after a signal handler (PEP 475), so the
loop sees ``stopping`` only when the wait ends. At 0.2 s, stopping a daemon of two took
216 ms, a fifth of a short real-tier fuzz scenario; an idle wake-up costs microseconds."""
RETRY_MAX_SECONDS = 1.0
log = logging.getLogger(__name__)


class AmqpWorker:
    """One worker process: a database store, a broker connection and a lease heartbeat."""

    def __init__(self, url: str, broker_url: str, owner: str,
                 lease_seconds: float = DEFAULT_LEASE_SECONDS) -> None:
        if lease_seconds <= 0:
            raise ValueError(f"lease_seconds must be positive, got {lease_seconds}")
        self.store = Store(url)
        self.owner = owner
        self.lease_seconds = lease_seconds
        self.broker = RabbitBroker(broker_url, name=owner)
        self.announcer = Announcer(self.broker)
        self.store.on_ready = self.announcer
        self.stopping = threading.Event()
        self.current_task: int | None = None

    # ----------------------------------------------------------------- loop
    def run(self) -> None:
        threading.Thread(target=self._heartbeat, name="lease-heartbeat", daemon=True).start()
        backoff = 0.05
        try:
            while not self.stopping.is_set():
                try:
                    self.announcer.flush()
                    delivery = self.broker.next(POLL_SECONDS)
                except BrokerUnavailableError as exc:
                    log.warning("worker %s: %s", self.owner, exc)
                    self.stopping.wait(backoff)
                    backoff = min(backoff * 2, RETRY_MAX_SECONDS)
                    continue
                backoff = 0.05
                if delivery is not None:
                    self.handle(delivery)
        finally:
            self.broker.close()
            self.store.close()

    def handle(self, delivery: Delivery) -> None:
        """Claim, execute, announce, ack: one hint, in the order that keeps C1..C5."""
        try:
            claimed = self.store.claim_process(delivery.process_id, self.owner,
                                               self.lease_seconds)
        except DBAPIError as exc:  # database down or restarting: give the hint back
            log.warning("worker %s: claim of %s failed: %s", self.owner,
                        delivery.process_id, exc)
            self.broker.requeue(delivery)
            self.stopping.wait(RETRY_MAX_SECONDS)
            return
        if claimed is not None:
            self._execute(claimed)
        else:
            self._note(delivery.process_id, "hint-dropped")
        if self.announcer.flush():  # what follows is announced before this hint goes
            self.broker.ack(delivery)

    def _execute(self, claimed: ClaimedTask) -> None:
        self.current_task = claimed.task_id
        pid = claimed.process.id
        try:
            plan = CrashPlan(
                armed_for(self.store, claimed),
                on_fire=lambda point, name: self.store.record_crash(self.owner, pid, point,
                                                                    name),
            )
            execute(self.store, claimed, plan)
        except DBAPIError as exc:
            # The commit may or may not have happened. Free our lease once the database
            # answers again, and announce the process: whoever claims it next continues
            # from whatever checkpoint is committed (C3 allows the effect to run again).
            log.warning("worker %s: database error while running %s: %s", self.owner, pid, exc)
            self._release_when_possible()
        finally:
            self.current_task = None

    def _note(self, pid: int, what: str) -> None:
        """Leave a trace in the engine's history for observers; never fatal."""
        try:
            self.store.note(pid, what, self.owner)
        except DBAPIError:
            return

    def _release_when_possible(self) -> None:
        delay = 0.05
        while not self.stopping.is_set():
            try:
                self.store.release_owner(self.owner)  # on_ready announces the freed tasks
                return
            except DBAPIError:
                self.stopping.wait(delay)
                delay = min(delay * 2, RETRY_MAX_SECONDS)

    def _heartbeat(self) -> None:
        """Keep the lease while a body runs longer than the lease (consumer-timeout case)."""
        while not self.stopping.wait(self.lease_seconds / 3):
            task = self.current_task
            if task is None:
                continue
            try:
                self.store.renew_lease(task, self.owner, self.lease_seconds)
            except DBAPIError as exc:
                log.warning("worker %s: lease renewal failed: %s", self.owner, exc)


def _open_patiently(args: argparse.Namespace, patience: float = 60.0) -> AmqpWorker:
    """A database that is restarting is not a reason to die: the daemon would respawn
    this worker every few milliseconds, each one failing the same way."""
    deadline = time.monotonic() + patience
    while True:
        try:
            return AmqpWorker(args.url, args.broker, args.owner, args.lease)
        except StoreUnavailableError as exc:
            if time.monotonic() > deadline:
                raise
            log.warning("worker %s: waiting for the database: %s", args.owner, exc.reason)
            time.sleep(0.2)


def warm_up() -> None:
    """Import what opening a PostgreSQL store imports on first use: SQLAlchemy's psycopg
    dialect and psycopg itself, about 110 modules. A warm worker (``runtime.warm_worker``)
    calls this while it waits for its assignment; otherwise its first ``Store`` paid them
    after being assigned: 80 ms alone, 190 ms while the pool booted replacements beside
    it, most of the time a real-tier daemon took to serve."""
    importlib.import_module("sqlalchemy.dialects.postgresql.psycopg")  # 23 modules
    with contextlib.suppress(ImportError):  # psycopg is optional (the ``real`` extra)
        importlib.import_module("psycopg")  # 87: the dialect loads it only when connecting


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="reference_engine.runtime.amqp_worker")
    parser.add_argument("--url", required=True, help="database URL")
    parser.add_argument("--broker", default=os.environ.get(BROKER_ENV),
                        help=f"amqp://... URL (default: ${BROKER_ENV})")
    parser.add_argument("--owner", required=True)
    parser.add_argument("--lease", type=float, default=DEFAULT_LEASE_SECONDS,
                        help="seconds a claim is held without renewal")
    args = parser.parse_args(argv)
    if not args.broker:
        parser.error(f"give --broker amqp://... or set {BROKER_ENV}")
    redirect_output()
    die_with_parent()
    run_prelude()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    worker = _open_patiently(args)
    signal.signal(signal.SIGTERM, lambda *_: worker.stopping.set())
    signal.signal(signal.SIGINT, lambda *_: worker.stopping.set())
    notify_ready()
    worker.run()
    return 0


if __name__ == "__main__":
    exit_promptly(main())
