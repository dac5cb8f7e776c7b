"""The Python API: submit, observe, wait, kill, restart and configure caching.

``Engine`` wraps one database. It validates at the entry point (type resolvable,
inputs declared and JSON-like), so user mistakes become clear errors before anything is
written. Workers are run by ``Engine.daemon()`` (in-process supervisor) or by
``python -m reference_engine daemon start``.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import DBAPIError

from reference_engine.core.caching import CachingConfig
from reference_engine.core.limits import MAX_TYPE_LENGTH, check_name, check_stored
from reference_engine.core.process import type_string_of
from reference_engine.core.values import JsonValue
from reference_engine.crashpoints import ARMABLE
from reference_engine.errors import (
    EngineError,
    InvalidInputsError,
    InvalidStateError,
    StoreUnavailableError,
    WaitTimeoutError,
)
from reference_engine.loader import check_inputs, kind_of
from reference_engine.runtime.daemon import Daemon
from reference_engine.runtime.failures import describe, is_disk_full, is_outage
from reference_engine.storage.records import ProcessRecord
from reference_engine.storage.store import Store

if TYPE_CHECKING:
    from reference_engine.brokers.background import BackgroundAnnouncer


@dataclass(frozen=True)
class RestartBuilder:
    """What a relaunch will submit: the terminated process's type, label and inputs."""

    type_string: str
    label: str
    inputs: dict[str, JsonValue]
    restart_of: int


def _store_error(url: str, type_string: str, exc: DBAPIError) -> EngineError:
    """The user-facing error for a failed write of a submit (see runtime/failures.py)."""
    if is_disk_full(exc):
        return StoreUnavailableError(url, f"the disk is full ({describe(exc)}); free space "
                                     "and submit again (nothing was written)")
    if is_outage(exc):
        return StoreUnavailableError(url, describe(exc))
    return InvalidInputsError(type_string, f"the database refused them ({describe(exc)})")


class Engine:
    """One engine database (SQLite path or URL) and the operations on it.

    With ``broker_url`` (``amqp://...``) this is the real runtime: every task that becomes
    claimable is announced on RabbitMQ and ``daemon()`` runs broker-driven workers.
    Without it (the default) workers poll the database's task table.
    """

    def __init__(self, url: str | os.PathLike[str] = "wfconform-engine.db",
                 broker_url: str | None = None):
        self.store = Store(url)
        self.url = self.store.url
        self.broker_url = broker_url
        self._announcer: BackgroundAnnouncer | None = None
        if broker_url is not None:
            from reference_engine.brokers.background import (  # pika only when asked
                BackgroundAnnouncer,
            )

            # submit returns once committed; the hint follows from a thread (see there)
            try:
                self._announcer = BackgroundAnnouncer(broker_url, name="wfconform-engine")
            except ValueError:  # a malformed broker URL: leave nothing open behind
                self.store.close()
                raise
            self.store.on_ready = self._announcer

    def close(self) -> None:
        if self._announcer is not None:
            self._announcer.close()
        self.store.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------- launching
    def submit(self, process: object, label: str | None = None, **inputs: JsonValue) -> int:
        """Create a process and its task; workers will run it. Returns the process id."""
        type_string = type_string_of(process)
        check_name(type_string, "process type", MAX_TYPE_LENGTH)
        kind = kind_of(type_string)
        label = label or type_string.split(":")[-1].split(".")[-1]
        check_name(label, f"label of {type_string}")
        check_stored(inputs, f"inputs of {type_string}")
        problems = check_inputs(type_string, inputs)
        if problems:
            raise InvalidInputsError(type_string, "; ".join(problems))
        try:
            return self.store.create_process(type_string, label, kind, inputs)
        except DBAPIError as exc:  # one line naming the cause, never SQL text
            raise _store_error(self.url, type_string, exc) from None

    def restart_builder(self, process_id: int) -> RestartBuilder:
        """The inputs of a terminated process, for a new instance (AiiDA's restart builder)."""
        record = self.store.get(process_id)
        if not record.is_terminal:
            raise InvalidStateError(process_id, record.state, "terminated")
        return RestartBuilder(record.type, record.label, dict(record.inputs), process_id)

    def relaunch(self, process_id: int) -> int:
        """A new instance from step one, with a new id; the old process is left as it was."""
        builder = self.restart_builder(process_id)
        return self.store.create_process(
            builder.type_string, builder.label, kind_of(builder.type_string), builder.inputs,
            restart_of=process_id,
        )

    def kill(self, process_id: int) -> list[int]:
        """Kill an active process and its active descendants; returns the killed ids."""
        return self.store.kill(process_id)

    # ------------------------------------------------------------- observing
    def get(self, process_id: int) -> ProcessRecord:
        return self.store.get(process_id)

    def show(self, process_id: int) -> dict[str, Any]:
        return self.store.get(process_id).view()

    def list(self) -> list[ProcessRecord]:
        return self.store.list_processes()

    def wait(self, process_id: int, timeout: float = 60.0, poll: float = 0.005) -> ProcessRecord:
        """Block until the process is terminal; WaitTimeoutError if it takes longer."""
        deadline = time.monotonic() + timeout
        state = "unknown (database unreachable)"
        while True:
            try:
                record = self.store.get(process_id)
            except DBAPIError:  # a database server restarting: keep waiting (real tier)
                record = None
            if record is not None and record.is_terminal:
                return record
            state = state if record is None else record.state
            if time.monotonic() > deadline:
                raise WaitTimeoutError(process_id, state, timeout)
            time.sleep(poll)

    # ------------------------------------------------------------- caching
    def set_caching(
        self,
        default: bool = False,
        enabled: tuple[str, ...] | list[str] = (),
        disabled: tuple[str, ...] | list[str] = (),
        failed_source_policy: str = "allow_unless_invalidating",
    ) -> CachingConfig:
        config = CachingConfig(default, tuple(enabled), tuple(disabled),
                               failed_source_policy)  # type: ignore[arg-type]  # validated
        self.store.set_caching_config(config)
        return config

    def caching(self) -> CachingConfig:
        return self.store.caching_config()

    def invalidate(self, process_id: int) -> None:
        """Never use this node as a cache source again."""
        self.store.invalidate(process_id)

    # ------------------------------------------------------------- faults
    def arm(self, crashpoint: str, target: str, attempt: int | None = 1) -> None:
        """Make a worker SIGKILL itself at ``crashpoint`` for ``target`` on ``attempt``.

        ``crashpoint`` may also be the fault point ``fail_commit``: the worker lives and
        the store refuses the commit after that attempt's effect (``crashpoints``).
        """
        if crashpoint not in ARMABLE:
            raise ValueError(
                f"unknown crashpoint {crashpoint!r}; expected one of {', '.join(ARMABLE)}"
            )
        self.store.arm(crashpoint, target, attempt)

    def disarm_all(self) -> None:
        self.store.disarm_all()

    # ------------------------------------------------------------- workers
    def daemon(self, workers: int = 2, env: dict[str, str] | None = None,
               lease_seconds: float | None = None, sweep_after: float = 2.0) -> Daemon:
        """An in-process supervisor of worker OS processes; use as a context manager."""
        return Daemon(self.url, workers, env, broker_url=self.broker_url,
                      lease_seconds=lease_seconds, sweep_after=sweep_after)
