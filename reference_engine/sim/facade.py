"""The ``Engine`` operations of a simulation: submit, relaunch, kill, caching, arming.

Same validation and same store calls as ``reference_engine.engine.Engine``, so an
adapter can drive the sim tier and the embedded tier through one vocabulary. Each
operation is logged in the history (it is part of what a replay must repeat) and bumps
the scheduling epoch, because it can make a task claimable.
"""

from __future__ import annotations

from typing import Any

from reference_engine.core.caching import CachingConfig
from reference_engine.core.limits import MAX_TYPE_LENGTH, check_name, check_stored
from reference_engine.core.process import type_string_of
from reference_engine.core.values import JsonValue
from reference_engine.crashpoints import ARMABLE
from reference_engine.engine import RestartBuilder
from reference_engine.errors import InvalidInputsError, InvalidStateError
from reference_engine.loader import check_inputs, kind_of
from reference_engine.sim.history import Event
from reference_engine.sim.store import ProcessSummary
from reference_engine.storage.records import ProcessRecord


class EngineFacade:
    """Mixed into ``Simulation``; needs ``store``, ``events`` and ``epoch``."""

    events: list[Event]
    epoch: int

    def __init__(self, store: Any) -> None:
        self.store = store

    def _api(self, *event: Any) -> None:
        self.events.append(("api", *event))
        self.epoch += 1

    # ------------------------------------------------------------- launching
    def submit(self, process: object, label: str | None = None, **inputs: JsonValue) -> int:
        """Create a process and its task (validated as ``Engine.submit``); its id."""
        type_string = type_string_of(process)
        return self.launch(type_string, label or type_string.split(":")[-1].split(".")[-1],
                           inputs)

    def launch(self, type_string: str, label: str, inputs: dict[str, JsonValue]) -> int:
        """``submit`` with the inputs as one mapping (an input may be named ``label``)."""
        check_name(type_string, "process type", MAX_TYPE_LENGTH)
        kind = kind_of(type_string)
        check_name(label, f"label of {type_string}")
        check_stored(inputs, f"inputs of {type_string}")
        problems = check_inputs(type_string, inputs)
        if problems:
            raise InvalidInputsError(type_string, "; ".join(problems))
        pid: int = self.store.create_process(type_string, label, kind, dict(inputs))
        self.events.append(("submit", pid, type_string, label))
        self.epoch += 1
        return pid

    def restart_builder(self, process_id: int) -> RestartBuilder:
        record = self.store.get(process_id)
        if not record.is_terminal:
            raise InvalidStateError(process_id, record.state, "terminated")
        return RestartBuilder(record.type, record.label, dict(record.inputs), process_id)

    def relaunch(self, process_id: int) -> int:
        """A new instance of a terminated process: new id, from step one."""
        builder = self.restart_builder(process_id)
        pid: int = self.store.create_process(
            builder.type_string, builder.label, kind_of(builder.type_string), builder.inputs,
            restart_of=process_id,
        )
        self._api("relaunch", process_id, pid)
        return pid

    def kill(self, process_id: int) -> list[int]:
        """Kill an active process and its active descendants; the killed ids."""
        killed: list[int] = self.store.kill(process_id)
        self._api("kill", process_id, killed)
        return killed

    # ------------------------------------------------------------- observing
    def get(self, process_id: int) -> ProcessRecord:
        return self.store.get(process_id)  # type: ignore[no-any-return]

    def show(self, process_id: int) -> dict[str, Any]:
        return self.get(process_id).view()

    def list(self) -> list[ProcessRecord]:
        return self.store.list_processes()  # type: ignore[no-any-return]

    def list_summaries(self) -> list[ProcessSummary]:
        """Every process without its inputs (``SimStore.list_summaries``): cheaper. A
        store without it (``store="sqlite"``) gives its full records, same fields."""
        summaries = getattr(self.store, "list_summaries", None)
        if summaries is None:
            return [ProcessSummary(r.id, r.label, r.kind, r.state, r.exit_status, r.outputs,
                                   r.parent_id, r.children, r.restart_of, r.cached_from)
                    for r in self.store.list_processes()]
        return summaries()  # type: ignore[no-any-return]

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
        self._api("caching", config.to_dict())
        return config

    def caching(self) -> CachingConfig:
        return self.store.caching_config()  # type: ignore[no-any-return]

    def invalidate(self, process_id: int) -> None:
        self.store.invalidate(process_id)
        self._api("invalidate", process_id)

    # ------------------------------------------------------------- faults
    def arm(self, crashpoint: str, target: str, attempt: int | None = 1) -> None:
        """Kill the worker at ``crashpoint`` for ``target`` on ``attempt`` (as ``Engine.arm``).

        ``fail_commit`` refuses that attempt's commit instead (see ``Engine.arm``).
        """
        if crashpoint not in ARMABLE:
            raise ValueError(
                f"unknown crashpoint {crashpoint!r}; expected one of {', '.join(ARMABLE)}"
            )
        self.store.arm(crashpoint, target, attempt)
        self._api("arm", crashpoint, target, attempt)

    def disarm(self, crashpoint: str, target: str) -> None:
        """Remove the armed faults of one crashpoint and target (all attempts)."""
        kept = [f for f in self.store.armed() if f[:2] != (crashpoint, target)]
        self.store.disarm_all()
        for fault in kept:
            self.store.arm(*fault)
        self._api("disarm", crashpoint, target)

    def disarm_all(self) -> None:
        self.store.disarm_all()
        self._api("disarm_all")
