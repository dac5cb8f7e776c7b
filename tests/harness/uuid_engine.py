"""A broken sim engine whose process ids are fresh UUIDs on every run, for replay's tests.

Engines such as Prefect or DBOS name processes with UUIDs, so the same failure, rerun,
quotes other ids in its sentence and witness. ``UuidIdsAdapter`` is the sim tier of one
``broken_reference`` variant (``BrokenSimReferenceAdapter``) seen through a per-run map
from the engine's integer ids to ``uuid4()`` strings: in handles, the engine's view
(``id``, ``parent``, ``children``, ``restart_of``, ``cached_from``), its events, and the
journal, begins and fault logs the bodies write. Load it as
``--engine tests.harness.uuid_engine:<variant> --tier sim``.

A stuck process's diagnosis is passed through unmapped (it quotes child ids only when
waiting on children, which no test here exercises).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

from harness.adapter import Handle, Observation
from harness.adapters.broken_reference_sim import BrokenSimReferenceAdapter
from harness.bodies import BodyRuntime
from harness.session import Session


class _UuidBodies:
    """The sim body runtime, with the process id the engine passes mapped to its UUID."""

    def __init__(self, runtime: BodyRuntime, uid: Callable[[str], str]) -> None:
        self._runtime = runtime
        self._uid = uid

    def run(self, *, process: str, **arguments: Any) -> Any:
        return self._runtime.run(process=self._uid(process), **arguments)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._runtime, name)


class UuidIdsAdapter(BrokenSimReferenceAdapter):
    """``BrokenSimReferenceAdapter`` whose ids are UUIDs, new for every run (module doc)."""

    def __init__(self, variant: str) -> None:
        super().__init__(variant)
        self.name = f"uuid+{variant}"
        self._uuid_of: dict[str, str] = {}
        self._engine_id_of: dict[str, str] = {}

    def _uid(self, engine_id: str | int) -> str:
        key = str(engine_id)
        if key not in self._uuid_of:
            self._uuid_of[key] = made = str(uuid.uuid4())
            self._engine_id_of[made] = key
        return self._uuid_of[key]

    def _uid_or_none(self, engine_id: str | None) -> str | None:
        return None if engine_id is None else self._uid(engine_id)

    def _inner(self, handle: Handle) -> Handle:
        return Handle(handle.label, self._engine_id_of[handle.id])

    def open(self, session: Session) -> None:
        super().open(session)
        assert self._runtime is not None
        BodyRuntime.install(_UuidBodies(self._runtime, self._uid))  # type: ignore[arg-type]  # a duck-typed proxy

    # ------------------------------------------------------------------ the plan
    def _remember(self, label: str, pid: int) -> Handle:
        inner = super()._remember(label, pid)
        return Handle(inner.label, self._uid(inner.id))

    def relaunch(self, label: str, of: Handle) -> Handle:
        return super().relaunch(label, self._inner(of))

    def wait(self, handle: Handle, timeout: float) -> str | None:
        return super().wait(self._inner(handle), timeout)

    def kill_process(self, handle: Handle) -> None:
        super().kill_process(self._inner(handle))

    def invalidate(self, handle: Handle, calc_path: str) -> None:
        engine = self._engine()
        for view in super().observe().at_path(f"{handle.label}/{calc_path}"):
            engine.invalidate(int(view.id))

    def diagnose(self, handle: Handle) -> str:
        return super().diagnose(self._inner(handle))

    # ------------------------------------------------------------------ views
    def observe(self) -> Observation:
        return Observation(tuple(
            view.__class__(
                id=self._uid(view.id), path=view.path, kind=view.kind, name=view.name,
                state=view.state, exit_status=view.exit_status, outputs=view.outputs,
                parent=self._uid_or_none(view.parent),
                children=tuple(self._uid(c) for c in view.children),
                restart_of=self._uid_or_none(view.restart_of),
                cached_from=self._uid_or_none(view.cached_from))
            for view in super().observe().processes))

    def events(self) -> tuple[Mapping[str, Any], ...]:
        return tuple({**event, "process": self._uid(event["process"])}
                     for event in super().events())


def sim_factory(variant: str, kind: type[UuidIdsAdapter] = UuidIdsAdapter
                ) -> Callable[..., UuidIdsAdapter]:
    """An adapter factory (``--engine tests.harness.<module>:<variant>``) for ``variant``
    on ``kind`` (this module's adapter, or one derived from it), sim tier only."""
    def make(tier: str = "sim") -> UuidIdsAdapter:
        if tier != "sim":
            raise ValueError(f"tier {tier!r}: the {kind.__name__} test engine runs on the "
                             "sim tier only")
        return kind(variant)

    make.__name__ = make.__qualname__ = variant
    return make


resume_from_scratch = sim_factory("resume_from_scratch")
excepted_source_hit = sim_factory("excepted_source_hit")
task_lost_on_worker_death = sim_factory("task_lost_on_worker_death")
