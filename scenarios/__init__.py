"""wfconform's scenario language, generators, oracle and catalog: pure data and pure logic.

A `Scenario` bundles workflows, calculations, a fault plan and a launch plan. It
round-trips through JSON (`to_json` / `Scenario.from_json`), prints as a short program
(`describe`), comes from a seed (`generate`) or from Hypothesis (`scenarios.strategies`,
not imported here so that using the language does not require Hypothesis), and is judged
by `scenarios.oracle.expect`, which says what a correct engine must do with it.

This package imports only the standard library (and Hypothesis in `strategies`); it
never imports an engine or the harness (DESIGN.md section 2).
"""

from __future__ import annotations

from scenarios.calculations import (
    CALCULATION_FUNCTIONS,
    calculation_output_names,
    evaluate_calculation,
)
from scenarios.capabilities import ALL_CLAUSES, CLAUSES, FAILED_SOURCE_POLICIES, Capabilities
from scenarios.catalog import CATALOG, by_name
from scenarios.describe import describe, describe_fault, describe_value
from scenarios.effects import (
    EffectSite,
    calc_key,
    effect_keys,
    effect_sites,
    effect_target,
    is_calc_key,
    loop_prefix,
    step_key,
)
from scenarios.errors import InvalidScenarioError, ScenarioError, UnknownNameError
from scenarios.faults import (
    CRASHPOINTS,
    FAULT_KINDS,
    DropConnection,
    DuplicateDelivery,
    ExpireLease,
    FailCommit,
    Fault,
    KillAtCrashpoint,
    KillOnEffect,
    RaiseIn,
    RestartBroker,
    RestartDatabase,
    fault_kind,
)
from scenarios.generate import Knobs, generate
from scenarios.language import (
    CHILD_FAILED_EXIT_STATUS,
    MAX_ITERATIONS,
    STEP_KINDS,
    CalcCall,
    Calculation,
    Compute,
    Const,
    If,
    Input,
    LaunchCalcs,
    LaunchWorkflow,
    Step,
    StepOutput,
    ValueRef,
    While,
    Workflow,
    iter_steps,
    step_kind,
)
from scenarios.oracle import (
    CacheExpectation,
    EffectBound,
    Expectation,
    IdRelation,
    LaunchExpectation,
    expect,
)
from scenarios.plan import (
    Invalidate,
    KillProcess,
    Launch,
    LaunchOp,
    Relaunch,
    SetCaching,
    caching_enabled,
)
from scenarios.scenario import FORMAT, Scenario
from scenarios.values import (
    HASH_NORMALISATIONS,
    FrozenMap,
    canonical,
    decode_value,
    digest,
    encode_value,
    normalise,
    values_equal,
)

__all__ = [
    "ALL_CLAUSES",
    "CALCULATION_FUNCTIONS",
    "CATALOG",
    "CHILD_FAILED_EXIT_STATUS",
    "CLAUSES",
    "CRASHPOINTS",
    "FAILED_SOURCE_POLICIES",
    "FAULT_KINDS",
    "FORMAT",
    "HASH_NORMALISATIONS",
    "MAX_ITERATIONS",
    "STEP_KINDS",
    "CacheExpectation",
    "CalcCall",
    "Calculation",
    "Capabilities",
    "Compute",
    "Const",
    "DropConnection",
    "DuplicateDelivery",
    "EffectBound",
    "EffectSite",
    "Expectation",
    "ExpireLease",
    "FailCommit",
    "Fault",
    "FrozenMap",
    "IdRelation",
    "If",
    "Input",
    "InvalidScenarioError",
    "Invalidate",
    "KillAtCrashpoint",
    "KillOnEffect",
    "KillProcess",
    "Knobs",
    "Launch",
    "LaunchCalcs",
    "LaunchExpectation",
    "LaunchOp",
    "LaunchWorkflow",
    "RaiseIn",
    "Relaunch",
    "RestartBroker",
    "RestartDatabase",
    "Scenario",
    "ScenarioError",
    "SetCaching",
    "Step",
    "StepOutput",
    "UnknownNameError",
    "ValueRef",
    "While",
    "Workflow",
    "by_name",
    "caching_enabled",
    "calc_key",
    "calculation_output_names",
    "canonical",
    "decode_value",
    "describe",
    "describe_fault",
    "describe_value",
    "digest",
    "effect_keys",
    "effect_sites",
    "effect_target",
    "encode_value",
    "evaluate_calculation",
    "expect",
    "fault_kind",
    "generate",
    "is_calc_key",
    "iter_steps",
    "loop_prefix",
    "normalise",
    "step_key",
    "step_kind",
    "values_equal",
]
