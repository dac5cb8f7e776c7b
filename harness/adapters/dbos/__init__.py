"""The DBOS 3 adapter (``wfconform run --engine dbos``; ``pip install 'wfconform[dbos]'``).

DBOS is imported only inside this subpackage, and only by ``adapter`` (lazily),
``workflows`` and ``worker``; ``observe`` (processes from ``workflow_status`` rows) is
pure and imports without DBOS. ``DbosAdapter`` runs the scenario's workflows as DBOS
workflows and steps in worker processes with pinned executor ids and application
versions, on a SQLite or PostgreSQL system database, and SIGKILLs and restarts them.
"""

from __future__ import annotations

from typing import Any

__all__ = ["NOT_PROMISED", "TIERS", "DbosAdapter", "make_adapter"]


def __getattr__(name: str) -> Any:
    """Import the adapter on first use, so the pure modules need no DBOS."""
    if name in __all__:
        from harness.adapters.dbos import adapter

        return getattr(adapter, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
