"""The public API of `scenarios` is declared, stable, and the package respects the layering."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import scenarios

PACKAGE = Path(scenarios.__file__).parent

EXPECTED_EXPORTS = {
    "ALL_CLAUSES", "CALCULATION_FUNCTIONS", "CATALOG", "CHILD_FAILED_EXIT_STATUS", "CLAUSES",
    "CRASHPOINTS", "FAILED_SOURCE_POLICIES", "FAULT_KINDS", "FORMAT", "HASH_NORMALISATIONS",
    "MAX_ITERATIONS", "STEP_KINDS", "CacheExpectation", "CalcCall", "Calculation",
    "Capabilities", "Compute", "Const", "DropConnection", "DuplicateDelivery", "EffectBound",
    "EffectSite", "ExpireLease", "FailCommit", "OUTAGE_KINDS", "PartitionService", "PauseService",
    "Expectation", "Fault", "FrozenMap", "IdRelation", "If", "Input", "InvalidScenarioError",
    "Invalidate", "KillAtCrashpoint", "KillOnEffect", "KillProcess", "Knobs", "Launch",
    "LaunchCalcs", "LaunchExpectation", "LaunchOp", "LaunchWorkflow", "RaiseIn", "Relaunch",
    "RestartBroker", "RestartDatabase", "Scenario", "ScenarioError", "SetCaching", "Step",
    "StepOutput", "UnknownNameError", "ValueRef", "While", "Workflow", "by_name",
    "caching_enabled", "calc_key", "calculation_output_names", "canonical", "decode_value",
    "describe", "describe_fault", "describe_value", "digest", "effect_keys", "effect_sites",
    "effect_target", "encode_value", "evaluate_calculation", "expect", "fault_kind",
    "generate", "is_calc_key", "iter_steps", "loop_prefix", "normalise", "step_key",
    "step_kind", "values_equal", "kinds_of", "first_difference", "NumArray", "VALUE_KINDS",
}


def test_public_names_match_the_declared_list_exactly():
    assert set(scenarios.__all__) == EXPECTED_EXPORTS
    assert len(scenarios.__all__) == len(EXPECTED_EXPORTS), "duplicates in __all__"


def test_every_exported_name_resolves_and_none_is_private():
    for name in scenarios.__all__:
        assert not name.startswith("_")
        assert getattr(scenarios, name) is not None


def test_submodules_declare_all_for_their_public_names():
    for module in ("values", "language", "faults", "plan", "effects", "capabilities",
                   "describe", "calculations", "errors", "scenario", "catalog", "generate",
                   "strategies", "oracle", "oracle.expectation"):
        mod = __import__(f"scenarios.{module}", fromlist=["__all__"])
        for name in mod.__all__:
            assert hasattr(mod, name), f"scenarios.{module}.__all__ lists missing {name}"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_package_imports_only_the_standard_library_and_hypothesis_in_strategies():
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    for path in PACKAGE.rglob("*.py"):
        foreign = _imports(path) - stdlib - {"scenarios"}
        allowed = {"hypothesis"} if path.name == "strategies.py" else set()
        assert foreign <= allowed, f"{path.relative_to(PACKAGE)} imports {foreign - allowed}"


def test_package_never_imports_the_engine_or_the_harness():
    for path in PACKAGE.rglob("*.py"):
        assert not _imports(path) & {"reference_engine", "harness", "pytest"}, path


def test_importing_the_package_does_not_import_hypothesis():
    code = "import sys, scenarios, scenarios.oracle; print('hypothesis' in sys.modules)"
    import subprocess

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=PACKAGE.parent)
    assert out.stdout.strip() == "False"
