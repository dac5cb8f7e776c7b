"""What is running right now, for user code that needs it (journals, logs).

Step and calculation bodies can call ``current_execution()`` to learn their process id,
step, attempt and worker pid without these leaking into their inputs (and cache hash).
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass


@dataclass(frozen=True)
class ExecutionContext:
    process_id: int
    label: str
    type: str
    step: str | None
    attempt: int
    worker_pid: int


_current: contextvars.ContextVar[ExecutionContext | None] = contextvars.ContextVar(
    "reference_engine_execution", default=None
)


def current_execution() -> ExecutionContext | None:
    """The execution in progress in this worker, or None outside a body."""
    return _current.get()


def set_current(context: ExecutionContext | None) -> None:
    _current.set(context)
