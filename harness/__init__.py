"""wfconform's harness: runs scenarios against an engine through an adapter.

The public ring: ``run_conformance`` (what other projects call), ``run_scenario``,
``load_adapter``, the ``EngineAdapter`` protocol and its data (``Handle``,
``ProcessView``, ``Observation``, ``Session``), the checks' result model, the
exceptions, and the tools behind the CLI and the pytest plugin (``shrink``,
``write_reports``, ``conformance_machine``). Everything else (journal, nemesis, history
internals) is machinery.

Exports are resolved lazily (PEP 562): engine workers import one adapter module of
this package, and must not pay for the runner, checks and CLI at every start.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "CHECKS": "harness.checks",
    "AdapterSpecError": "harness.errors",
    "CheckedAdapter": "harness.contract",
    "ClauseResult": "harness.checks",
    "ClauseRow": "harness.conformance",
    "ConformanceResult": "harness.conformance",
    "ContractError": "harness.errors",
    "EngineAdapter": "harness.adapter",
    "Handle": "harness.adapter",
    "HarnessError": "harness.errors",
    "History": "harness.history",
    "Observation": "harness.adapter",
    "Ownership": "harness.adapter",
    "ProcessView": "harness.adapter",
    "RunOptions": "harness.runner",
    "ScenarioFileError": "harness.errors",
    "ScenarioRun": "harness.runner",
    "Session": "harness.session",
    "Unsupported": "harness.errors",
    "UsageError": "harness.errors",
    "conformance_machine": "harness.stateful",
    "load_adapter": "harness.adapters",
    "run_checks": "harness.checks",
    "run_conformance": "harness.conformance",
    "run_scenario": "harness.runner",
    "shrink": "harness.shrink",
    "write_reports": "harness.reports",
}

__all__ = sorted(_EXPORTS)  # computed, so the map above stays the one source of truth


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'harness' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
