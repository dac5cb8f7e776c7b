"""Pure parts of the Prefect adapter: caching configuration, names and state mapping.

No Prefect import at module level (``policy_for`` imports the policy objects when
called), so these rules are unit-tested without Prefect and read in one place:

- ``policy_for``: which cache policy a calculation's task gets from the scenario's
  ``SetCaching`` (read at the moment of the call: Prefect decides per task call);
- ``calc_source``: the task source text that gives each calculation type its identity;
- ``view_state``: Prefect's state of a flow or task run as a harness process state.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from scenarios.language import Calculation
from scenarios.plan import SetCaching, caching_enabled

__all__ = [
    "CACHING_FILE",
    "EXIT_PREFIX",
    "KEY_FN_MODES",
    "NOTES_FILE",
    "OFF_POLICIES",
    "calc_source",
    "exit_status_of",
    "inputs_key",
    "policy_for",
    "view_state",
]

CACHING_FILE = "prefect_caching.json"
NOTES_FILE = "prefect_notes.jsonl"
EXIT_PREFIX = "exit status "
OFF_POLICIES = ("run", "none")
"""What "caching off" means for a calculation's task: ``run`` is Prefect's default policy
(``INPUTS + TASK_SOURCE + RUN_ID``: no hit across flow runs, but a retried flow run hits
its own earlier results, which is how Prefect resumes); ``none`` is ``NO_CACHE`` (a
retried flow run executes every calculation again)."""
KEY_FN_MODES = ("", "inputs", "inputs+task")
"""``cache_key_fn`` instead of a policy when caching is on: ``inputs`` hashes the inputs
only (the common recipe, no task identity), ``inputs+task`` adds the task's name."""


def caching_config(config: Mapping[str, Any]) -> SetCaching:
    """The ``SetCaching`` stored by the adapter (``{}``: never configured, i.e. off)."""
    if not config:
        return SetCaching(False)
    return SetCaching(bool(config["default"]), tuple(config.get("enabled", ())),
                      tuple(config.get("disabled", ())))


def inputs_key(parameters: Mapping[str, Any], salt: str, task_name: str | None) -> str:
    """The key of a user ``cache_key_fn``: a hash of the inputs' ``repr`` (sorted names)."""
    text = repr(sorted(parameters.items(), key=lambda item: item[0]))
    if task_name is not None:
        text = f"{task_name}:{text}"
    return hashlib.sha256(f"{salt}|{text}".encode()).hexdigest()


def policy_for(config: Mapping[str, Any], definition: Calculation,
               namespace: str) -> tuple[Any, Any]:
    """``(cache_policy, cache_key_fn)`` for one call of ``definition``'s task.

    Caching on (and the type cacheable): ``INPUTS + TASK_SOURCE``, or the configured
    ``cache_key_fn``. Off: per ``config['off_policy']`` (see ``OFF_POLICIES``).
    """
    from prefect.cache_policies import INPUTS, NO_CACHE, RUN_ID, TASK_SOURCE

    wanted = definition.cacheable and caching_enabled(caching_config(
        config.get("caching") or {}), definition.name)
    if wanted:
        mode = str(config.get("key_fn", ""))
        if mode:
            task_name = definition.name if mode == "inputs+task" else None

            def key_fn(context: Any, parameters: dict[str, Any]) -> str:
                return inputs_key(parameters, namespace, task_name)

            return None, key_fn
        return INPUTS + TASK_SOURCE, None
    if config.get("off_policy", "run") == "none":
        return NO_CACHE, None
    return INPUTS + TASK_SOURCE + RUN_ID, None


def calc_source(definition: Calculation, namespace: str, body: str) -> str:
    """The source text ``TASK_SOURCE`` hashes for a calculation type's task.

    Two types are two ``@task`` functions to Prefect: each gets a header naming it, its
    version and the scenario's namespace (so nothing from another scenario of the run
    can be a source), then the shared body's real source.
    """
    return (f"# wfconform calculation {definition.name} version {definition.version} "
            f"namespace {namespace}\n{body}")


def exit_status_of(message: str | None) -> int | None:
    """The exit status a ``Failed`` state's message carries (``exit status N: ...``)."""
    match = re.match(rf"{EXIT_PREFIX}(-?\d+)", message or "")
    return int(match.group(1)) if match else None


def view_state(state_type: str | None, message: str | None,
               crashed_is_active: bool) -> tuple[str, int | None]:
    """Harness ``(state, exit_status)`` of a Prefect run state.

    ``COMPLETED`` finished 0; ``FAILED`` with an exit message finished with that status,
    other ``FAILED`` excepted; ``CANCELLED`` killed; ``CRASHED`` running while the adapter
    will retry it (a worker died under an active process), else killed; scheduled,
    pending, running, paused and cancelling runs are active.
    """
    kind = (state_type or "").upper()
    if kind == "COMPLETED":
        return "finished", 0
    if kind == "FAILED":
        status = exit_status_of(message)
        return ("finished", status) if status is not None else ("excepted", None)
    if kind == "CANCELLED":
        return "killed", None
    if kind == "CRASHED":
        return ("running", None) if crashed_is_active else ("killed", None)
    if kind in ("SCHEDULED", "PENDING", "PAUSED"):
        return "created", None
    return "running", None
