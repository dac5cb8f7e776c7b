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
task or re-creates its calculation under a new id, a kill that spares running children
or keeps their claims) live in the adapter class below, in the harness process, where
the embedded engine runs its daemon and its kill.

``--tier sim`` runs every variant in-process instead (``broken_reference_sim``): the same
bugs, patched into that one simulation and undone when it closes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select, update

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
    # Blind spots of issue 11: order, terminal states seen late, invisible executions.
    Variant("kill_spares_running_children", "a kill request kills the process and its idle "
            "descendants but spares one a worker is running, which runs on and finishes",
            "adapter", "p1_kill_propagates_to_children", frozenset({"P1"})),
    Variant("kill_keeps_running_claim", "a kill leaves a running process's claim valid (task "
            "and version kept), so its worker's commit revives the killed process",
            "engine", "n1_killed_process_never_runs_again", frozenset({"N1"})),
    Variant("resume_from_previous_checkpoint", "a redelivered workflow task resumes from the "
            "checkpoint before the last one", "engine", "c2_step_never_reruns_after_next_began",
            frozenset({"C2", "C3"})),
    Variant("forgets_killed_calculation", "when a worker dies in a calculation, the engine "
            "drops that process's record and launches the calculation again under a new id",
            "adapter", "p2_killed_attempt_is_accounted_for", frozenset({"P2"})),
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
        elif self.variant.name == "forgets_killed_calculation":
            assert self.daemon is not None
            daemon, db = self.daemon, self._engine().store.db
            release = daemon._release

            def forget_then_release(owner: str) -> int:  # this daemon only
                with db.begin() as conn:
                    _launch_held_calculations_again(conn, owner)
                return release(owner)

            daemon._release = forget_then_release  # type: ignore[method-assign]  # the bug

    def kill_process(self, handle: Handle) -> None:
        if self.variant.name == "kill_spares_running_children":
            self._kill_sparing_running(int(handle.id))
        elif self.variant.name == "kill_keeps_running_claim":
            self._kill_keeping_claims(int(handle.id))
        else:
            super().kill_process(handle)

    def _kill_sparing_running(self, pid: int) -> None:
        """kill_spares_running_children: hide running processes from the kill's walk."""
        db = self._engine().store.db
        with db.begin() as conn:
            conn.execute(update(processes).where(processes.c.state == "running",
                                                 processes.c.id != pid).values(state="spared"))
        try:
            self._engine().kill(pid)
        finally:
            with db.begin() as conn:
                conn.execute(update(processes).where(processes.c.state == "spared")
                             .values(state="running"))

    def _kill_keeping_claims(self, pid: int) -> None:
        """kill_keeps_running_claim: after the kill, give each killed process that was
        running its version and leased task back (the workers' fence ignores state)."""
        db = self._engine().store.db
        with db.begin() as conn:
            running = conn.execute(select(processes.c.id, processes.c.version)
                                   .where(processes.c.state == "running")).all()
            held = conn.execute(select(tasks).where(tasks.c.process_id.in_(
                [r[0] for r in running]))).mappings().all()
        self._engine().kill(pid)
        with db.begin() as conn:
            for process_id, version in running:
                conn.execute(update(processes).where(processes.c.id == process_id,
                                                     processes.c.state == "killed")
                             .values(version=version))
            for task in held:
                if conn.execute(select(processes.c.state).where(
                        processes.c.id == task["process_id"])).scalar() == "killed":
                    conn.execute(insert(tasks).values(**task))

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


def _launch_held_calculations_again(conn: Any, owner: str) -> None:
    """forgets_killed_calculation (embedded): each active calculation whose task the dead
    worker held becomes a new process row (the parent's checkpoint now awaits it) and
    the killed attempt's row is deleted."""
    held = conn.execute(select(tasks.c.id, tasks.c.process_id)
                        .where(tasks.c.lease_owner == owner)).all()
    for task_id, pid in held:
        row = conn.execute(select(processes).where(processes.c.id == pid)).mappings().first()
        if row is None or row["kind"] != "calculation" or row["parent_id"] is None \
                or row["state"] not in ("created", "running"):
            continue
        values = {k: v for k, v in row.items() if k != "id"}
        new = conn.execute(insert(processes).values(**{**values, "state": "created",
                                                       "version": 0})).inserted_primary_key[0]
        conn.execute(update(tasks).where(tasks.c.id == task_id).values(process_id=new))
        parent = conn.execute(select(processes.c.checkpoint).where(
            processes.c.id == row["parent_id"])).scalar()
        if parent:
            data = json.loads(parent)
            data["awaiting"] = {k: new if v == pid else v for k, v in data["awaiting"].items()}
            conn.execute(update(processes).where(processes.c.id == row["parent_id"])
                         .values(checkpoint=json.dumps(data)))
        conn.execute(delete(processes).where(processes.c.id == pid))


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
kill_spares_running_children = _factory("kill_spares_running_children")
kill_keeps_running_claim = _factory("kill_keeps_running_claim")
resume_from_previous_checkpoint = _factory("resume_from_previous_checkpoint")
forgets_killed_calculation = _factory("forgets_killed_calculation")
