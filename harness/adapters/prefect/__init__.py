"""Prefect 3 adapter (``wfconform run --engine prefect``; ``pip install 'wfconform[prefect]'``).

Prefect is imported only inside this subpackage, and only when an adapter opens.
"""

from __future__ import annotations

from harness.adapters.prefect.adapter import PrefectAdapter, make_adapter

__all__ = ["PrefectAdapter", "make_adapter"]
