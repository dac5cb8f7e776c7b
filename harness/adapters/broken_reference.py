"""Deliberately broken variants of the reference engine: proof that the harness catches bugs.

Each variant breaks one rule the reference engine's correctness rests on and still
promises every clause, so ``wfconform run`` (or ``fuzz``) must fail it, with a witness.
Select one with ``--engine harness.adapters.broken_reference:<name>``; ``wfconform
selftest`` runs them all. ``VARIANTS`` says, for each, the bug, the catalog scenario that
catches it (``catches``: ``wfconform run --scenario``) and which clauses must then fail
(``breaks``; at least one of them does).

Engine-side bugs run where the engine runs its bodies, in the worker OS processes: the
adapter names ``harness.adapters.broken_reference_patches`` in the engine's
``$REFERENCE_ENGINE_WORKER_PRELUDE`` hook and the variant in ``$WFCONFORM_BROKEN_VARIANT``.
Adapter-side bugs (a relaunch that reuses the id, a daemon that loses a dead worker's
task) live in the adapter class below, in the harness process.

``--tier sim`` runs every variant in-process instead (``broken_reference_sim``): the same
bugs, patched into that one simulation and undone when it closes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, update

from harness.adapter import Handle
from harness.adapters.reference import ReferenceAdapter
from harness.errors import AdapterSpecError
from harness.session import Session
from reference_engine.runtime.worker import PRELUDE_ENV_VAR
from reference_engine.storage.schema import processes, tasks

__all__ = ["PATCHES_MODULE", "VARIANTS", "BrokenReferenceAdapter", "Variant", "spec_of",
           "variant_named"]

PATCHES_MODULE = "harness.adapters.broken_reference_patches"
VARIANT_ENV_VAR = "WFCONFORM_BROKEN_VARIANT"  # = broken_reference_patches.VARIANT_ENV_VAR


@dataclass(frozen=True)
class Variant:
    """One deliberate bug: what it breaks, where it lives and which scenarios catch it."""

    name: str
    bug: str
    side: str  # "engine": patched in the workers; "adapter": in this module's class
    catches: str  # the catalog scenario that catches it (wfconform run --scenario)
    breaks: frozenset[str]  # clauses that must fail on it; at least one does

    @property
    def spec(self) -> str:
        return spec_of(self.name)


_C3 = "c3_in_flight_effect_at_most_kills_plus_one"
VARIANTS: dict[str, Variant] = {v.name: v for v in (
    Variant("resume_from_scratch", "a redelivered workflow task ignores its checkpoint and "
            "starts again at step one", "engine", _C3, frozenset({"C2", "C3"})),
    Variant("ack_before_commit", "a task is acknowledged when delivered, so a worker killed "
            "before its commit takes the task with it", "engine", _C3,
            frozenset({"C1", "L1"})),
    Variant("hash_ignores_nested", "the cache hash ignores values nested two levels inside "
            "an input", "engine", "k4_any_input_change_misses", frozenset({"K4"})),
    Variant("excepted_source_hit", "an excepted calculation keeps its hash and serves as a "
            "cache source", "engine", "k3_excepted_source_never_hit", frozenset({"K3"})),
    Variant("relaunch_reuses_id", "a relaunch resets and requeues the terminated process "
            "under its old id", "adapter", "n2_relaunch_makes_new_id", frozenset({"N2"})),
    Variant("unfenced_duplicate_delivery", "every workflow task is delivered twice and commits "
            "are not fenced by owner and version", "engine", "c2_checkpointed_effect_not_repeated",
            frozenset({"C2", "C3", "C5"})),
    Variant("cached_workflow", "a new workflow with equal inputs is finished from the cache "
            "instead of running its steps", "engine", "k6_workflows_never_cached",
            frozenset({"K6", "N4"})),
    Variant("task_lost_on_worker_death", "when a worker dies, the daemon deletes the task it "
            "held instead of releasing it", "adapter", _C3, frozenset({"C1", "L1"})),
    Variant("stale_commit_after_takeover", "the commit fence checks only that the task "
            "exists and its process runs, not who holds the lease at which version, so a "
            "worker whose task was taken over commits its stale step", "engine",
            "c5_stale_commit_refused_after_takeover", frozenset({"C5"})),
)}


def spec_of(name: str) -> str:
    """The ``--engine`` value that selects variant ``name``."""
    return f"{__name__}:{name}"


def variant_named(name: str) -> Variant:
    """The variant called ``name``; ``AdapterSpecError`` lists the known ones."""
    if name not in VARIANTS:
        raise AdapterSpecError(
            spec_of(name), f"no broken variant {name!r}",
            f"use one of {', '.join(spec_of(n) for n in VARIANTS)}")
    return VARIANTS[name]


class BrokenReferenceAdapter(ReferenceAdapter):
    """The reference adapter with one variant's bug (see ``VARIANTS``)."""

    def __init__(self, variant: str, tier: str = "embedded", workers: int = 2) -> None:
        self.variant = variant_named(variant)
        if tier == "sim":
            raise AdapterSpecError(
                spec_of(variant), "this class patches the engine inside its worker OS "
                "processes, which the sim tier does not have",
                f"use --tier embedded with it; for the sim tier use the variant's factory "
                f"(--engine {spec_of(variant)} --tier sim: "
                "broken_reference_sim.BrokenSimReferenceAdapter)")
        super().__init__(tier, workers)
        self.name = f"reference+{variant}"

    def worker_env(self) -> dict[str, str]:
        if self.variant.side != "engine":
            return {}
        return {PRELUDE_ENV_VAR: PATCHES_MODULE, VARIANT_ENV_VAR: self.variant.name}

    def open(self, session: Session) -> None:
        super().open(session)
        if self.variant.name == "task_lost_on_worker_death":
            assert self.daemon is not None
            daemon, db = self.daemon, self._engine().store.db

            def lose(owner: str) -> int:  # replaces Daemon._release for this daemon only
                with db.begin() as conn:
                    return conn.execute(delete(tasks).where(tasks.c.lease_owner == owner)
                                        ).rowcount

            daemon._release = lose  # type: ignore[method-assign]  # the deliberate bug

    def relaunch(self, label: str, of: Handle) -> Handle:
        if self.variant.name != "relaunch_reuses_id":
            return super().relaunch(label, of)
        pid = int(of.id)
        with self._engine().store.db.begin() as conn:
            conn.execute(update(processes).where(processes.c.id == pid).values(
                state="created", checkpoint=None, outputs=None, exit_status=None,
                exception=None, message="", version=processes.c.version + 1))
            conn.execute(delete(tasks).where(tasks.c.process_id == pid))
            conn.execute(insert(tasks).values(process_id=pid, attempts=0))
        return self._remember(label, pid)


def _factory(variant: str) -> Callable[..., ReferenceAdapter]:
    def make(tier: str = "embedded", **options: Any) -> ReferenceAdapter:
        if tier == "sim":  # the in-process simulation: imported only when asked for
            from harness.adapters.broken_reference_sim import BrokenSimReferenceAdapter

            return BrokenSimReferenceAdapter(variant, **options)
        return BrokenReferenceAdapter(variant, tier, **options)

    make.__name__ = make.__qualname__ = variant
    make.__doc__ = f"``--engine {spec_of(variant)}``: {VARIANTS[variant].bug}."
    return make


resume_from_scratch = _factory("resume_from_scratch")
ack_before_commit = _factory("ack_before_commit")
hash_ignores_nested = _factory("hash_ignores_nested")
excepted_source_hit = _factory("excepted_source_hit")
relaunch_reuses_id = _factory("relaunch_reuses_id")
unfenced_duplicate_delivery = _factory("unfenced_duplicate_delivery")
cached_workflow = _factory("cached_workflow")
task_lost_on_worker_death = _factory("task_lost_on_worker_death")
stale_commit_after_takeover = _factory("stale_commit_after_takeover")
