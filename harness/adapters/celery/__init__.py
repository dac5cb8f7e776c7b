"""The Celery 5 adapter (``wfconform run --engine celery``; ``pip install 'wfconform[celery]'``).

Celery is imported only inside this subpackage, and only by ``adapter``, ``app``,
``tasks`` and ``worker``: ``interpreter`` (the outline walk and the id scheme) and
``observe`` (processes from result rows) are pure and import without Celery.
``CeleryAdapter`` runs the scenario's workflows as dynamic Celery canvases (chains built
at run time, chords for a step's calculations) on RabbitMQ, with ``task_acks_late`` and
``task_reject_on_worker_lost``, a SQLite result backend, and prefork workers whose
children (or whole workers, tier ``whole-worker``) the faults SIGKILL.
"""

from __future__ import annotations

from typing import Any

__all__ = ["CELERY_CRASHPOINTS", "NOT_PROMISED", "TIERS", "CeleryAdapter", "make_adapter"]


def __getattr__(name: str) -> Any:
    """Import the adapter (and Celery) on first use, so the pure modules need no Celery."""
    if name in __all__:
        from harness.adapters.celery import adapter

        return getattr(adapter, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
