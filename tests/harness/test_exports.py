"""The harness's public API is declared in ``__all__``; workers stay light."""

from __future__ import annotations

import subprocess
import sys

import harness


def test_every_exported_name_resolves_and_nothing_private_is_exported() -> None:
    assert harness.__all__ == sorted(set(harness.__all__))
    for name in harness.__all__:
        assert getattr(harness, name) is not None
        assert not name.startswith("_")


def test_the_documented_entry_points_are_exported() -> None:
    assert {"run_conformance", "run_scenario", "load_adapter", "EngineAdapter",
            "Unsupported", "HarnessError", "ClauseResult"} <= set(harness.__all__)


def test_a_worker_importing_the_reference_bodies_does_not_load_the_runner() -> None:
    code = ("import sys, harness.adapters.reference_workflows\n"
            "print(sorted(m for m in sys.modules if m.startswith('harness')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    for heavy in ("harness.runner", "harness.checks", "harness.cli", "harness.conformance"):
        assert heavy not in out
