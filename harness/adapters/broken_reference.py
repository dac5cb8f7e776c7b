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
task or re-creates its calculation under a new id, a launch submitted twice, a
kill that spares running children or keeps their claims) live in the adapter class
below, in the harness process, where the embedded engine runs its daemon and its
kill.

``--tier sim`` runs every variant in-process instead (``broken_reference_sim``): the same
bugs, patched into that one simulation and undone when it closes. A bug written against
``SimStore``'s tables exists on the sim tier only; its ``tiers`` say so, and the
worker-process class below refuses it on the others.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select, update

from harness.adapter import Handle
from harness.adapters.broken_reference_values import VALUE_BUGS
from harness.adapters.reference import ReferenceAdapter
from harness.errors import AdapterSpecError
from harness.session import Session
from reference_engine.runtime.worker import PRELUDE_ENV_VAR
from reference_engine.storage.records import ACTIVE_STATES
from reference_engine.storage.schema import processes, tasks

__all__ = ["ALL_TIERS", "PATCHES_MODULE", "SIM", "VARIANTS", "BrokenReferenceAdapter",
           "Variant", "spec_of", "variant_named"]

PATCHES_MODULE = "harness.adapters.broken_reference_patches"
VARIANT_ENV_VAR = "WFCONFORM_BROKEN_VARIANT"  # = broken_reference_patches.VARIANT_ENV_VAR


ALL_TIERS = frozenset({"sim", "embedded", "real"})
SIM = frozenset({"sim"})


@dataclass(frozen=True)
class Variant:
    """One deliberate bug: what it breaks, where it lives and which scenarios catch it."""

    name: str
    bug: str
    side: str  # "engine": patched in the workers; "adapter": in this module's class
    catches: str  # the catalog scenario that catches it (wfconform run --scenario)
    breaks: frozenset[str]  # clauses that must fail on it; at least one does
    tiers: frozenset[str] = ALL_TIERS  # where the bug exists (others: AdapterSpecError)

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
    # one faithful one-rule bug per clause (broken_reference_clauses, broken_reference_sim)
    Variant("continued_as_new_process", "a redelivered top-level workflow task continues "
            "its checkpoint in a new process (new id) and leaves the old one running",
            "engine", _C3, frozenset({"C1", "L1", "L2"}), SIM),
    Variant("replay_reexecutes_step", "a redelivered workflow task replays the interrupted "
            "step to rebuild its state (re-executing its body), then runs it again", "engine",
            _C3, frozenset({"C3"})),
    Variant("context_lost_on_continue", "a redelivered workflow task restores its "
            "checkpoint's position but not its context", "engine",
            "c4_outputs_equal_without_kills", frozenset({"C4"})),
    Variant("children_relaunched_after_kill", "a workflow continued after its worker died "
            "launches the children its checkpoint awaits again instead of collecting them",
            "engine", "c6_children_awaited_not_relaunched", frozenset({"C6"})),
    Variant("kill_marks_terminated", "a kill request does not check the state: an already "
            "excepted process becomes killed", "engine",
            "n1_excepted_process_never_runs_again", frozenset({"N1"}), SIM),
    Variant("recovery_resubmits_unfinished", "when leases are released (broker restart, "
            "worker death), every top-level process that did not finish is submitted again, "
            "excepted ones included", "engine", "n1_excepted_process_never_runs_again",
            frozenset({"N1"}), SIM),
    Variant("relaunch_supersedes_old", "a relaunch marks the old process killed "
            "(superseded)", "engine", "n2_relaunch_makes_new_id", frozenset({"N2"}), SIM),
    Variant("relaunch_from_checkpoint", "a relaunch copies the old process's checkpoint, so "
            "the new instance continues where the old one stopped", "engine",
            "add_three_numbers_relaunch_uncached", frozenset({"N3"}), SIM),
    Variant("failed_parent_sources_skipped", "calculations whose parent workflow did not "
            "finish are never cache sources", "engine", "add_three_numbers_relaunch_cached",
            frozenset({"N4", "K5"})),
    Variant("hit_executes_body", "a cache hit still executes the calculation body",
            "engine", "k1_hit_executes_no_effect", frozenset({"K1"})),
    Variant("hit_outputs_lossy", "a hit copies its source's outputs through a serialiser "
            "that turns floats with integral values into ints", "engine",
            "k2_hit_outputs_equal_source", frozenset({"K2"})),
    Variant("hit_names_no_source", "a cache hit is recorded without naming its source",
            "engine", "k1_hit_executes_no_effect", frozenset({"K2"})),
    Variant("invalidated_source_hit", "the source choice ignores invalidation", "engine",
            "k3_invalidated_source_misses", frozenset({"K3"})),
    Variant("invalidating_exit_source_hit", "a failed calculation is a source even when its "
            "exit code invalidates the cache", "engine", "k3_failed_source_follows_policy",
            frozenset({"K3"})),
    Variant("hash_numbers_by_value", "the cache hash encodes numbers by value, not type "
            "(1, 1.0 and True collide)", "engine", "k4_any_input_change_misses",
            frozenset({"K4"})),
    Variant("hash_normalises_unicode", "the cache hash normalises text to NFC (NFC and NFD "
            "inputs collide)", "engine", "k4_any_input_change_misses", frozenset({"K4"})),
    Variant("hash_rounds_floats_undeclared", "the cache hash rounds floats to 14 significant "
            "digits but the engine does not declare that normalisation", "engine",
            "k4_float_normalisation_is_reported", frozenset({"K4"})),
    Variant("hash_salted_by_worker", "the cache hash mixes in the worker's identity, so "
            "equal inputs miss in another worker", "engine", "k5_hit_across_worker_kill",
            frozenset({"K5"})),
    Variant("caching_off_still_hits", "the cache lookup never reads the configuration: "
            "caching is always on", "engine", "k6_caching_off_never_hits",
            frozenset({"K6"})),
    Variant("per_type_config_ignored", "the per-type lists are not read: any enabled type "
            "turns caching on for every type", "engine", "k7_per_type_configuration",
            frozenset({"K7"})),
    Variant("hash_omits_type", "the cache hash omits the calculation's type identity",
            "engine", "k8_types_never_hit_each_other", frozenset({"K8"})),
    Variant("hit_does_not_wake_parent", "a calculation finished from the cache does not "
            "queue its waiting parent's task", "engine", "k1_hit_executes_no_effect",
            frozenset({"L1"}), SIM),
    Variant("launch_submitted_twice", "every launch is submitted twice (a retry without an "
            "idempotency key): one launch makes two processes", "adapter",
            "l2_one_launch_one_process", frozenset({"L2"})),
    Variant("children_listed_from_checkpoint", "a process lists as children only those its "
            "latest checkpoint awaits", "engine", "p1_nested_links_consistent",
            frozenset({"P1"}), SIM),
    Variant("commit_failure_swallowed", "a refused checkpoint commit is logged and its task "
            "acknowledged as if committed, so the step's progress is lost", "engine",
            "c4_failed_commit_is_a_failed_attempt", frozenset({"C1", "C4", "L1"})),
    # Issue 18, point 7: an engine that breaks the rule it declares (the defaults here).
    Variant("hash_kept_only_when_caching_on", "a calculation run while caching is off for "
            "its type keeps no hash, so it is never a source (the configuration applies at "
            "launch; the engine declares at lookup)", "engine",
            "k7_configuration_applies_as_declared", frozenset({"K7"})),
    Variant("invalidation_drops_equal_nodes", "invalidating a node stops every node of its "
            "hash from being a source (per stored result; the engine declares per node)",
            "engine", "k3_invalidation_reaches_as_declared", frozenset({"K3"})),
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
    Variant("stale_commit_after_takeover", "the commit fence checks only that the task "
            "exists and its process runs, not who holds the lease at which version, so a "
            "worker whose task was taken over commits its stale step", "engine",
            "c5_stale_commit_refused_after_takeover", frozenset({"C5"})),
    # Issue 13: one conflating hash per near pair of typed values (broken_reference_values).
    *(Variant(name, bug.bug, "engine", "k4_typed_near_pairs", frozenset({bug.clause}))
      for name, bug in VALUE_BUGS.items()),
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
        if tier not in self.variant.tiers:
            raise AdapterSpecError(
                spec_of(variant), f"this bug exists on the {', '.join(sorted(self.variant.tiers))} "
                f"tier only, not on {tier}", "use --tier sim with it")
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
        """kill_spares_running_children: hide running processes from the kill's walk.

        The walk is replaced for this one kill, in this process; the rows are not
        touched. (Marking them with a made-up state for the kill's duration let a
        concurrent observation or worker read that state: an embedded run once failed
        the contract check with "state 'spared'" instead of the variant's clause.)
        """
        store = self._engine().store

        def walk_sparing_running(conn: Any, root: int) -> list[int]:
            doomed, frontier = [root], [root]
            while frontier:
                kids = conn.execute(select(processes.c.id).where(
                    processes.c.parent_id.in_(frontier),
                    processes.c.state.in_(ACTIVE_STATES),
                    processes.c.state != "running")).scalars().all()
                doomed.extend(kids)
                frontier = list(kids)
            return doomed

        store._active_tree = walk_sparing_running  # type: ignore[method-assign]  # the bug
        try:
            self._engine().kill(pid)
        finally:
            del store._active_tree  # the class's walk again

    def _kill_keeping_claims(self, pid: int) -> None:
        """kill_keeps_running_claim: the kill gives each killed process that was running
        its version and leased task back (the workers' fence ignores state).

        In the kill's own transaction: the running claims are read where the kill walks
        its tree and given back where it wakes the parent, both patched for this one
        kill. (Given back in a second transaction, a worker that asked whether its claim
        still held between the two was told no and stopped like a correct engine's: CI
        once caught nothing on embedded, 2026-12-04.)
        """
        store = self._engine().store
        walk, wake = store._active_tree, store._wake_parent
        held: dict[str, Any] = {}

        def walk_reading_claims(conn: Any, root: int) -> list[int]:
            running = conn.execute(select(processes.c.id, processes.c.version)
                                   .where(processes.c.state == "running")).all()
            held["running"] = running
            held["tasks"] = conn.execute(select(tasks).where(tasks.c.process_id.in_(
                [r[0] for r in running]))).mappings().all()
            return walk(conn, root)

        def wake_keeping_claims(conn: Any, parent_id: int | None) -> None:
            wake(conn, parent_id)
            for process_id, version in held.get("running", ()):
                conn.execute(update(processes).where(processes.c.id == process_id,
                                                     processes.c.state == "killed")
                             .values(version=version))
            for task in held.get("tasks", ()):
                if conn.execute(select(processes.c.state).where(
                        processes.c.id == task["process_id"])).scalar() == "killed":
                    conn.execute(insert(tasks).values(**task))

        store._active_tree = walk_reading_claims  # type: ignore[method-assign]  # the bug
        store._wake_parent = wake_keeping_claims  # type: ignore[method-assign]
        try:
            self._engine().kill(pid)
        finally:
            del store._active_tree, store._wake_parent  # the class's methods again

    def launch(self, label: str, workflow: str, inputs: Mapping[str, Any]) -> Handle:
        handle = super().launch(label, workflow, inputs)
        if self.variant.name == "launch_submitted_twice":
            super().launch(label, workflow, inputs)  # the retried submit: a second process
        return handle

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
continued_as_new_process = _factory("continued_as_new_process")
context_lost_on_continue = _factory("context_lost_on_continue")
replay_reexecutes_step = _factory("replay_reexecutes_step")
children_relaunched_after_kill = _factory("children_relaunched_after_kill")
kill_marks_terminated = _factory("kill_marks_terminated")
recovery_resubmits_unfinished = _factory("recovery_resubmits_unfinished")
relaunch_supersedes_old = _factory("relaunch_supersedes_old")
relaunch_from_checkpoint = _factory("relaunch_from_checkpoint")
failed_parent_sources_skipped = _factory("failed_parent_sources_skipped")
hit_executes_body = _factory("hit_executes_body")
hit_outputs_lossy = _factory("hit_outputs_lossy")
hit_names_no_source = _factory("hit_names_no_source")
invalidated_source_hit = _factory("invalidated_source_hit")
invalidating_exit_source_hit = _factory("invalidating_exit_source_hit")
hash_numbers_by_value = _factory("hash_numbers_by_value")
hash_normalises_unicode = _factory("hash_normalises_unicode")
hash_rounds_floats_undeclared = _factory("hash_rounds_floats_undeclared")
hash_salted_by_worker = _factory("hash_salted_by_worker")
caching_off_still_hits = _factory("caching_off_still_hits")
per_type_config_ignored = _factory("per_type_config_ignored")
hash_omits_type = _factory("hash_omits_type")
hit_does_not_wake_parent = _factory("hit_does_not_wake_parent")
launch_submitted_twice = _factory("launch_submitted_twice")
children_listed_from_checkpoint = _factory("children_listed_from_checkpoint")
commit_failure_swallowed = _factory("commit_failure_swallowed")
kill_spares_running_children = _factory("kill_spares_running_children")
kill_keeps_running_claim = _factory("kill_keeps_running_claim")
resume_from_previous_checkpoint = _factory("resume_from_previous_checkpoint")
forgets_killed_calculation = _factory("forgets_killed_calculation")
stale_commit_after_takeover = _factory("stale_commit_after_takeover")
hash_kept_only_when_caching_on = _factory("hash_kept_only_when_caching_on")
invalidation_drops_equal_nodes = _factory("invalidation_drops_equal_nodes")
hash_tuple_as_list = _factory("hash_tuple_as_list")
hash_bytes_as_text = _factory("hash_bytes_as_text")
hash_set_as_frozenset = _factory("hash_set_as_frozenset")
hash_set_in_iteration_order = _factory("hash_set_in_iteration_order")
hash_decimal_normalised = _factory("hash_decimal_normalised")
hash_ints_through_float = _factory("hash_ints_through_float")
hash_ignores_sign = _factory("hash_ignores_sign")
hash_drops_timezone = _factory("hash_drops_timezone")
hash_keys_as_text = _factory("hash_keys_as_text")
hash_keys_nfc = _factory("hash_keys_nfc")
hash_empty_as_none = _factory("hash_empty_as_none")
hash_array_bytes_only = _factory("hash_array_bytes_only")
hash_truncates_deep = _factory("hash_truncates_deep")
