"""One broken variant per clause: bug factories over the reference engine's executor.

Each factory takes the engine's original executor global (``_run_step``,
``_run_calculation``, ``calculation_hash``, ``choose_source``) and returns the same
function with one rule broken. ``broken_reference_patches`` merges ``CLAUSE_EXECUTOR_BUGS``
into its ``EXECUTOR_BUGS``, so each bug runs in worker OS processes (embedded tier) and,
through the same dispatch as the first eight, inside one simulation (sim tier).

Why wrappers around the originals and not copies: a variant must differ from the
correct engine by exactly the rule it names. Where the rule lives in a store call the
executor makes (the caching configuration, the candidates, the finish of a hit), the
wrapper hands the original a store that answers that one call differently (``_StoreWith``);
everything else goes to the engine's own store.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import replace
from typing import Any

from reference_engine.core.caching import CachingConfig
from reference_engine.core.checkpoint import Checkpoint
from reference_engine.core.interpreter import Transition, advance
from reference_engine.core.process import ChildRequest
from reference_engine.runtime import executor
from reference_engine.storage.records import ClaimedTask

__all__ = ["CLAUSE_EXECUTOR_BUGS", "reader"]

Factory = Callable[[Any], Any]


def reader(store: Any) -> Any:
    """The store to read from: a sim worker's store offers only what the executor calls,
    so reads beyond those go to the simulation's own store."""
    if hasattr(store, "list_processes"):
        return store
    from reference_engine.sim import current_simulation

    return current_simulation().store  # type: ignore[union-attr]  # inside a sim worker


class _StoreWith:
    """The executor's store with some methods replaced: the variant's one changed call."""

    def __init__(self, store: Any, **methods: Callable[..., Any]) -> None:
        self._store = store
        self.__dict__.update(methods)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


# ---------------------------------------------------------------- continuation (C)
def context_lost(original: Any) -> Any:
    """C4: a redelivered workflow task restores its checkpoint's position, not its context."""

    def run_step(store: Any, claimed: ClaimedTask, plan: Any, cls: Any) -> None:
        text = claimed.process.checkpoint
        if claimed.attempt > 1 and text is not None:
            old = Checkpoint.from_json(text, claimed.process.id, len(cls.program()))
            empty = Checkpoint(old.pc, {}, old.outputs, old.awaiting, old.steps_done)
            claimed = replace(claimed, process=replace(claimed.process,
                                                       checkpoint=empty.to_json()))
        original(store, claimed, plan, cls)

    return run_step


def replay_interrupted_step(original: Any) -> Any:
    """C3: a redelivered workflow task first replays the interrupted step to rebuild its
    state (re-executing the body and discarding the result), then runs it for real."""

    def run_step(store: Any, claimed: ClaimedTask, plan: Any, cls: Any) -> None:
        process = claimed.process
        if claimed.attempt > 1 and process.checkpoint is not None:
            checkpoint = Checkpoint.from_json(process.checkpoint, process.id, len(cls.program()))
            advance(cls, process.id, process.inputs, checkpoint,
                    store.views(checkpoint.awaiting.values()), claimed.attempt,
                    lambda step: executor.set_current(executor._context(claimed, step)))
        original(store, claimed, plan, cls)

    return run_step


def continued_as_new_process(original: Any) -> Any:
    """C1: a redelivered top-level workflow task continues its checkpoint in a new process
    (new id); the old one is left running without a task. Sim tier: it writes the new
    process's checkpoint into ``SimStore``'s row."""

    def run_step(store: Any, claimed: ClaimedTask, plan: Any, cls: Any) -> None:
        process = claimed.process
        if claimed.attempt > 1 and process.checkpoint is not None and process.parent_id is None:
            sim_store = reader(store)
            pid = sim_store.create_process(process.type, process.label, process.kind,
                                           dict(process.inputs))
            sim_store._rows[pid].checkpoint = process.checkpoint  # same transaction (no yield)
            store.drop_task(claimed)
            return
        original(store, claimed, plan, cls)

    return run_step


def relaunch_children(original: Any) -> Any:
    """C6: a workflow continued after its worker died launches the children its checkpoint
    awaits again (as new processes) instead of collecting the ones it launched."""

    def run_step(store: Any, claimed: ClaimedTask, plan: Any, cls: Any) -> None:
        process = claimed.process
        if process.checkpoint is not None:
            checkpoint = Checkpoint.from_json(process.checkpoint, process.id, len(cls.program()))
            if checkpoint.awaiting and _died_since_launch(reader(store), process.id,
                                                          checkpoint.awaiting.values()):
                _launch_again(store, reader(store), claimed, checkpoint)
                return
        original(store, claimed, plan, cls)

    return run_step


def _died_since_launch(source: Any, pid: int, children: Any) -> bool:
    """Whether a worker died running ``pid`` after its awaited children were created."""
    events = source.events()
    crashed = [e["id"] for e in events if e["process_id"] == pid
               and str(e["state"]).startswith("crash:")]
    kids = set(children)
    created = [e["id"] for e in events if e["process_id"] in kids and e["state"] == "created"]
    return bool(crashed and created) and max(crashed) > max(created)


def _launch_again(store: Any, source: Any, claimed: ClaimedTask, checkpoint: Checkpoint) -> None:
    children = {key: source.get(child) for key, child in checkpoint.awaiting.items()}
    launches = tuple(ChildRequest(key, c.type, dict(c.inputs), c.label)
                     for key, c in children.items())
    kinds = {key: c.kind for key, c in children.items()}
    again = Checkpoint(checkpoint.pc, checkpoint.ctx, checkpoint.outputs, {},
                       checkpoint.steps_done)
    store.commit_transition(claimed, Transition("wait", again, None, launches), kinds)


# ---------------------------------------------------------------- caching (K, N4)
def _hit_finisher(store: Any, finish: Callable[..., bool],
                  on_hit: Callable[[tuple[Any, ...], dict[str, Any]], tuple[Any, ...]]) -> Any:
    """``store`` whose ``finish_calculation`` of a cache hit goes through ``on_hit`` first
    (which returns the arguments to finish with)."""

    def finish_calculation(claimed: ClaimedTask, *args: Any, **kwargs: Any) -> bool:
        if kwargs.get("cached_from") is not None:
            args = on_hit((claimed, *args), kwargs)[1:]
        return finish(claimed, *args, **kwargs)

    return _StoreWith(store, finish_calculation=finish_calculation)


def execute_on_hit(original: Any) -> Any:
    """K1: a cache hit still executes the calculation body (then records the hit)."""

    def run_calculation(store: Any, claimed: ClaimedTask, plan: Any, calc: Any) -> None:
        def run_body(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
            executor.set_current(executor._context(claimed, None))
            calc.run(dict(claimed.process.inputs))
            return args

        original(_hit_finisher(store, store.finish_calculation, run_body), claimed, plan, calc)

    return run_calculation


def _integral(value: Any) -> Any:
    """Numbers as a lossy serialiser leaves them: a float with an integral value is an int."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_integral(item) for item in value]
    if isinstance(value, dict):
        return {key: _integral(item) for key, item in value.items()}
    return value


def lossy_hit_outputs(original: Any) -> Any:
    """K2: a hit copies its source's outputs through a serialiser that turns 1.0 into 1."""

    def run_calculation(store: Any, claimed: ClaimedTask, plan: Any, calc: Any) -> None:
        def lossy(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
            return (args[0], _integral(args[1]), *args[2:])

        original(_hit_finisher(store, store.finish_calculation, lossy), claimed, plan, calc)

    return run_calculation


def unnamed_source(original: Any) -> Any:
    """K2: a hit is recorded without naming its source (``cached_from`` dropped)."""

    def run_calculation(store: Any, claimed: ClaimedTask, plan: Any, calc: Any) -> None:
        def finish_calculation(claimed: ClaimedTask, *args: Any, **kwargs: Any) -> bool:
            kwargs.pop("cached_from", None)
            return bool(store.finish_calculation(claimed, *args, **kwargs))

        original(_StoreWith(store, finish_calculation=finish_calculation), claimed, plan, calc)

    return run_calculation


def ignore_invalidation(original: Any) -> Any:
    """K3: the source choice does not look at invalidation (``cache_valid``)."""

    def choose(candidates: list[Any], policy: Any) -> Any:
        return original([replace(c, cache_valid=True) for c in candidates], policy)

    return choose


def ignore_invalidating_exit(original: Any) -> Any:
    """K3: a failed source is allowed even when its exit code invalidates the cache."""

    def choose(candidates: list[Any], policy: Any) -> Any:
        return original([replace(c, exit_invalidates_cache=False) for c in candidates], policy)

    return choose


def _numbers_by_value(value: Any) -> Any:
    """Inputs as a hash that encodes numbers by value sees them: 1, 1.0 and True alike."""
    if isinstance(value, (bool, int)) and abs(value) < 2**53:
        return float(value)
    if isinstance(value, list):
        return [_numbers_by_value(item) for item in value]
    if isinstance(value, dict):
        return {key: _numbers_by_value(item) for key, item in value.items()}
    return value


def hash_numbers_by_value(original: Any) -> Any:
    """K4: the cache hash encodes numbers by value, not type (1, 1.0 and True collide)."""

    def broken_hash(type_string: str, version: int, inputs: dict[str, Any]) -> str:
        return original(type_string, version, _numbers_by_value(inputs))

    return broken_hash


def _nfc(value: Any) -> Any:
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, list):
        return [_nfc(item) for item in value]
    if isinstance(value, dict):
        return {_nfc(key): _nfc(item) for key, item in value.items()}
    return value


def hash_nfc_strings(original: Any) -> Any:
    """K4: the cache hash normalises text to NFC (NFC and NFD inputs collide), undeclared."""

    def broken_hash(type_string: str, version: int, inputs: dict[str, Any]) -> str:
        return original(type_string, version, _nfc(inputs))

    return broken_hash


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return float(f"{value:.14g}")
    if isinstance(value, list):
        return [_rounded(item) for item in value]
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    return value


def hash_rounds_floats(original: Any) -> Any:
    """K4: the hash rounds floats to 14 significant digits, a normalisation never declared."""

    def broken_hash(type_string: str, version: int, inputs: dict[str, Any]) -> str:
        return original(type_string, version, _rounded(inputs))

    return broken_hash


_worker_salt: ContextVar[str] = ContextVar("wfconform_worker_salt", default="")


def remember_worker(original: Any) -> Any:
    """K5 (with ``hash_salted``): note which worker runs this calculation."""

    def run_calculation(store: Any, claimed: ClaimedTask, plan: Any, calc: Any) -> None:
        token = _worker_salt.set(claimed.owner)
        try:
            original(store, claimed, plan, calc)
        finally:
            _worker_salt.reset(token)

    return run_calculation


def hash_salted(original: Any) -> Any:
    """K5: the cache hash mixes in the worker's identity (like Python's per-process
    randomised ``hash()``), so equal inputs miss in another worker."""

    def broken_hash(type_string: str, version: int, inputs: dict[str, Any]) -> str:
        return original(f"{type_string}#{_worker_salt.get()}", version, inputs)

    return broken_hash


def hash_without_type(original: Any) -> Any:
    """K8: the cache hash omits the calculation's type identity."""

    def broken_hash(type_string: str, version: int, inputs: dict[str, Any]) -> str:
        return original("", version, inputs)

    return broken_hash


def _with_config(original: Any, change: Callable[[CachingConfig], CachingConfig]) -> Any:
    def run_calculation(store: Any, claimed: ClaimedTask, plan: Any, calc: Any) -> None:
        config = change(store.caching_config())
        original(_StoreWith(store, caching_config=lambda: config), claimed, plan, calc)

    return run_calculation


def caching_config_unread(original: Any) -> Any:
    """K6: the cache lookup never reads the configuration: caching is always on."""
    return _with_config(original, lambda c: CachingConfig(
        default=True, failed_source_policy=c.failed_source_policy))


def per_type_config_ignored(original: Any) -> Any:
    """K7: the per-type lists are not read: any enabled type turns caching on for all."""
    return _with_config(original, lambda c: CachingConfig(
        default=c.default or bool(c.enabled), failed_source_policy=c.failed_source_policy))


def skip_sources_of_failed_workflows(original: Any) -> Any:
    """N4: calculations whose parent workflow did not finish are never cache sources."""

    def run_calculation(store: Any, claimed: ClaimedTask, plan: Any, calc: Any) -> None:
        source = reader(store)

        def cache_candidates(calc_hash: str, exclude: int) -> list[Any]:
            return [c for c in store.cache_candidates(calc_hash, exclude)
                    if _parent_finished(source, c.process_id)]

        original(_StoreWith(store, cache_candidates=cache_candidates), claimed, plan, calc)

    return run_calculation


def hash_kept_only_when_caching_on(original: Any) -> Any:
    """K7: a calculation run while caching is off for its type keeps no hash, so it is
    never a source: the configuration applies at launch, though the engine declares
    ``caching_config_applies="at_lookup"``."""

    def run_calculation(store: Any, claimed: ClaimedTask, plan: Any, calc: Any) -> None:
        process = claimed.process
        if calc.cacheable and store.caching_config().is_enabled(process.type, process.label):
            original(store, claimed, plan, calc)
            return

        def finish_calculation(claimed: ClaimedTask, outputs: Any, exit_status: int,
                               calc_hash: str | None, *args: Any, **kwargs: Any) -> bool:
            return bool(store.finish_calculation(claimed, outputs, exit_status, None, *args,
                                                 **kwargs))

        original(_StoreWith(store, finish_calculation=finish_calculation), claimed, plan, calc)

    return run_calculation


def invalidation_drops_equal_nodes(original: Any) -> Any:
    """K3: once one node of a hash is invalidated, no node of that hash is a source (the
    invalidation drops the stored result), though the engine declares
    ``invalidation_scope="per_node"``."""

    def run_calculation(store: Any, claimed: ClaimedTask, plan: Any, calc: Any) -> None:
        def cache_candidates(calc_hash: str, exclude: int) -> list[Any]:
            found = store.cache_candidates(calc_hash, exclude)
            return [] if any(not c.cache_valid for c in found) else found

        original(_StoreWith(store, cache_candidates=cache_candidates), claimed, plan, calc)

    return run_calculation


def _parent_finished(source: Any, pid: int) -> bool:
    parent = source.get(pid).parent_id
    return parent is None or source.get(parent).state == "finished"


CLAUSE_EXECUTOR_BUGS: dict[str, dict[str, Factory]] = {
    "continued_as_new_process": {"_run_step": continued_as_new_process},
    "context_lost_on_continue": {"_run_step": context_lost},
    "replay_reexecutes_step": {"_run_step": replay_interrupted_step},
    "children_relaunched_after_kill": {"_run_step": relaunch_children},
    "hit_executes_body": {"_run_calculation": execute_on_hit},
    "hit_outputs_lossy": {"_run_calculation": lossy_hit_outputs},
    "hit_names_no_source": {"_run_calculation": unnamed_source},
    "invalidated_source_hit": {"choose_source": ignore_invalidation},
    "invalidating_exit_source_hit": {"choose_source": ignore_invalidating_exit},
    "hash_numbers_by_value": {"calculation_hash": hash_numbers_by_value},
    "hash_normalises_unicode": {"calculation_hash": hash_nfc_strings},
    "hash_rounds_floats_undeclared": {"calculation_hash": hash_rounds_floats},
    "hash_salted_by_worker": {"_run_calculation": remember_worker,
                              "calculation_hash": hash_salted},
    "caching_off_still_hits": {"_run_calculation": caching_config_unread},
    "per_type_config_ignored": {"_run_calculation": per_type_config_ignored},
    "hash_omits_type": {"calculation_hash": hash_without_type},
    "failed_parent_sources_skipped": {"_run_calculation": skip_sources_of_failed_workflows},
    "hash_kept_only_when_caching_on": {"_run_calculation": hash_kept_only_when_caching_on},
    "invalidation_drops_equal_nodes": {"_run_calculation": invalidation_drops_equal_nodes},
}
"""Per variant: executor global -> factory of its broken replacement."""
