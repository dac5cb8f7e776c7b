"""Plain records the store returns: what one process and one claimed task look like."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reference_engine.core.values import JsonValue

ACTIVE_STATES = frozenset({"created", "running", "waiting"})
TERMINAL_STATES = frozenset({"finished", "excepted", "killed"})


@dataclass(frozen=True)
class ProcessRecord:
    id: int
    type: str
    label: str
    kind: str
    state: str
    exit_status: int | None
    message: str
    exception: str | None
    inputs: dict[str, JsonValue]
    outputs: dict[str, JsonValue] | None
    checkpoint: str | None
    version: int
    parent_id: int | None
    parent_key: str | None
    restart_of: int | None
    hash: str | None
    cached_from: int | None
    cache_valid: bool
    exit_invalidates_cache: bool
    created_at: float
    updated_at: float
    children: tuple[int, ...] = field(default=())

    @property
    def is_terminal(self) -> bool:
        return self.state in TERMINAL_STATES

    def view(self) -> dict[str, Any]:
        """The machine-readable summary (``show --json``, child views in ``ctx``)."""
        return {
            "id": self.id,
            "type": self.type,
            "label": self.label,
            "kind": self.kind,
            "state": self.state,
            "exit_status": self.exit_status,
            "message": self.message,
            "outputs": self.outputs,
            "parent": self.parent_id,
            "children": list(self.children),
            "restart_of": self.restart_of,
            "cached_from": self.cached_from,
            "cache_valid": self.cache_valid,
            "hash": self.hash,
        }


Armed = tuple[tuple[str, str, int | None], ...]
"""Armed crashpoints: (crashpoint, target, attempt or None for every attempt)."""


@dataclass(frozen=True)
class ClaimedTask:
    """A leased task. ``armed``: the crashpoints armed when it was claimed, read in the
    claim's transaction by stores that can (None: ask ``store.armed()``)."""

    task_id: int
    attempt: int
    owner: str
    process: ProcessRecord
    armed: Armed | None = None
