"""Every deliberately broken variant is caught on the sim tier within ten seconds.

Each variant runs in-process on the seeded simulation with its bug patched into that
simulation alone (``broken_reference_sim``); the harness must fail a clause the variant
``breaks`` on the catalog scenario that ``catches`` it, with detection (adapter, run,
checks) under the 10 s budget of issue 5. The correct engine must pass the same
scenarios (so a catch is no false positive), and no bug may outlive its run or reach
another simulation.
"""

from __future__ import annotations

import importlib
import re
import time
from pathlib import Path

import pytest

from harness.adapters import broken_reference_patches, load_adapter
from harness.adapters.broken_reference import VARIANTS, BrokenReferenceAdapter
from harness.adapters.broken_reference_sim import BrokenSimReferenceAdapter, install
from harness.adapters.broken_reference_values import VALUE_BUGS
from harness.bodies import BodyRuntime
from harness.cli import main
from harness.conformance import run_conformance
from harness.errors import AdapterSpecError
from harness.runner import RunOptions, run_scenario
from harness.selftest import check_variant
from reference_engine.runtime import executor
from reference_engine.runtime.worker import PRELUDE_ENV_VAR
from reference_engine.sim import Simulation
from reference_engine.sim.workload import PLAN_WORKFLOW
from scenarios.capabilities import ALL_CLAUSES
from scenarios.catalog import by_name

pytestmark = pytest.mark.simulation

DETECT_BUDGET = 10.0
"""Seconds from loading the variant to its failed clause (issue 5); shrinking not included."""
PATCHED = ("_run_step", "_run_calculation", "calculation_hash", "choose_source")
ORIGINALS = {name: getattr(executor, name) for name in PATCHED}
CATCHING = sorted({v.catches for v in VARIANTS.values()})
EMBEDDED_VALUE_SAMPLES = ("hash_tuple_as_list", "hash_set_in_iteration_order")
"""The thirteen value variants (issue 13) share one mechanism (a rewrite of the inputs before
the engine's own hash); these two cover it on embedded, the second also the set order
that SQLite's JSON must keep. The rest run the 28-launch catalog scenario on sim only,
to keep CI short (each embedded run of it takes tens of seconds)."""
ON_EMBEDDED = [name for name, v in VARIANTS.items() if "embedded" in v.tiers
               and (name not in VALUE_BUGS or name in EMBEDDED_VALUE_SAMPLES)]
SIM_ONLY = [name for name, v in VARIANTS.items() if "embedded" not in v.tiers]
TIMING_EXTRAS = {"stale_commit_after_takeover": frozenset({"C2"})}
"""Clauses a variant may fail on one tier and not the other, by timing: with worker
processes the stale commit may land after the new holder began the next step, which C2's
step order then sees too (seen under load; sim's takeover always lands first)."""
DETECTED = re.compile(r"caught (\w+) +\w+ in \w+ detected after (\d+\.\d+) s")
WITNESS = re.compile(r"; witness (\d+) line\(s\)")
CLAUSE_ROW = re.compile(r"^\| ([A-Z]\d) \| .* \| (\d+/\d+|-) \|$", re.MULTILINE)


def _assert_the_real_engine_is_back() -> None:
    for name, original in ORIGINALS.items():
        assert getattr(executor, name) is original, f"executor.{name} is still patched"
        assert original.__module__.startswith("reference_engine."), original
    assert BodyRuntime._installed is None


@pytest.mark.parametrize("name", list(VARIANTS))
def test_each_broken_variant_is_caught_on_the_sim_tier_within_ten_seconds(
        name: str, tmp_path: Path) -> None:
    variant = VARIANTS[name]
    started = time.monotonic()
    outcome = check_variant(name, tmp_path, shrink_time=0, tier="sim",
                            detect_budget=DETECT_BUDGET)
    elapsed = time.monotonic() - started
    assert outcome.failure is not None, f"{name} went undetected: {outcome.line()}"
    failed = {r.clause for r in outcome.failure.original.failed()}
    assert failed & variant.breaks, (name, failed, variant.breaks)
    assert outcome.caught and not outcome.too_slow, outcome.line()
    assert outcome.detect_seconds < DETECT_BUDGET and elapsed < DETECT_BUDGET, outcome.line()
    history = outcome.failure.original.history
    assert history is not None and history.meta["tier"] == "sim"
    _assert_the_real_engine_is_back()


def test_the_correct_engine_passes_every_catching_scenario_on_the_sim_tier() -> None:
    result = run_conformance(load_adapter("reference", "sim"),
                             [by_name(name) for name in CATCHING])
    assert [run.status for run in result.runs] == ["ran"] * len(CATCHING)
    assert [(run.scenario.name, run.failed()) for run in result.runs if run.failed()] == []


@pytest.mark.parametrize("name", list(VARIANTS))
def test_a_correct_sim_run_after_a_broken_one_still_passes(name: str) -> None:
    scenario = by_name(VARIANTS[name].catches)
    broken = run_scenario(load_adapter(VARIANTS[name].spec, "sim"), scenario)
    assert broken.failed(), f"{name} passed {scenario.name}"
    _assert_the_real_engine_is_back()
    correct = run_scenario(load_adapter("reference", "sim"), scenario)
    assert correct.status == "ran" and correct.failed() == (), correct.failed()


def test_a_correct_simulation_open_beside_a_broken_one_runs_the_real_engine() -> None:
    """The executor patch picks the bug by the simulation running it, not by the clock."""
    plan = {"plan": [["compute", 1], ["calcs", [2]]], "acc": 0}
    with Simulation(5) as broken, Simulation(5) as correct:
        undo = install("unfenced_duplicate_delivery", broken)
        try:
            for sim in (broken, correct):
                sim.launch(PLAN_WORKFLOW, "p", dict(plan))
            assert broken.run_until_quiet() and correct.run_until_quiet()
        finally:
            undo()
        twice = {key: n for key, n in broken.effect_counts().items() if n > 1}
        assert twice, "the broken simulation ran no step twice"
        assert set(correct.effect_counts().values()) == {1}
        assert correct.get(1).outputs == {"acc": 4}
    _assert_the_real_engine_is_back()


def test_importing_the_worker_patches_into_the_harness_process_patches_nothing(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The sim tier imports the bug factories; only a worker started with the prelude
    hook naming the module may patch itself for good."""
    monkeypatch.setenv(broken_reference_patches.VARIANT_ENV_VAR, "resume_from_scratch")
    monkeypatch.delenv(PRELUDE_ENV_VAR, raising=False)
    importlib.reload(broken_reference_patches)
    _assert_the_real_engine_is_back()


def test_the_variant_factory_gives_the_sim_adapter_on_the_sim_tier() -> None:
    adapter = load_adapter(VARIANTS["cached_workflow"].spec, "sim")()
    assert isinstance(adapter, BrokenSimReferenceAdapter)
    assert (adapter.name, adapter.tier) == ("reference+cached_workflow", "sim")
    assert adapter.capabilities() == BrokenReferenceAdapter("cached_workflow").capabilities()


def test_a_detection_later_than_its_budget_does_not_count_as_caught(tmp_path: Path) -> None:
    outcome = check_variant("unfenced_duplicate_delivery", tmp_path, shrink_time=0,
                            tier="sim", detect_budget=1e-9)
    assert outcome.failure is not None and outcome.too_slow and not outcome.caught
    assert outcome.line().startswith("  SLOW   unfenced_duplicate_delivery")


def test_selftest_on_the_sim_tier_catches_all_and_prints_times_witnesses_and_clause_table(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["selftest", "--tier", "sim", "--detect-budget", str(DETECT_BUDGET),
                 "--shrink-time", "0", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.splitlines()[0].endswith("tier sim; each must be caught within 10 s")
    times = {name: float(seconds) for name, seconds in DETECTED.findall(out)}
    assert sorted(times) == sorted(VARIANTS), out
    assert max(times.values()) < DETECT_BUDGET, times
    witnesses = [int(n) for n in WITNESS.findall(out)]
    assert len(witnesses) == len(VARIANTS) and 1 <= min(witnesses) <= max(witnesses) <= 6
    caught = {clause: 0 if row == "-" else int(row.split("/")[0])
              for clause, row in CLAUSE_ROW.findall(out)}
    assert [c for c in ALL_CLAUSES if caught.get(c, 0) < 1] == [], out
    assert out.splitlines()[-1] == f"{len(VARIANTS)} of {len(VARIANTS)} variant(s) caught"
    _assert_the_real_engine_is_back()


def test_at_least_thirty_variants_and_one_aimed_at_every_clause() -> None:
    assert len(VARIANTS) >= 30
    aimed = {clause for v in VARIANTS.values() for clause in v.breaks}
    assert set(ALL_CLAUSES) <= aimed, set(ALL_CLAUSES) - aimed


@pytest.mark.parametrize("name", SIM_ONLY)
def test_a_sim_only_variant_is_refused_elsewhere_and_not_counted_by_selftest(
        name: str, tmp_path: Path) -> None:
    with pytest.raises(AdapterSpecError, match="sim tier only"):
        load_adapter(VARIANTS[name].spec, "embedded")()
    outcome = check_variant(name, tmp_path, tier="embedded")
    assert not outcome.counted and outcome.failure is None
    assert outcome.line().startswith(f"  n/a    {name}") and "sim tier only" in outcome.line()


@pytest.mark.embedded
@pytest.mark.slow
@pytest.mark.parametrize("name", ON_EMBEDDED)
def test_each_variant_fails_the_same_clauses_on_the_sim_and_embedded_tiers(name: str) -> None:
    """The sim twin of each bug is the same bug: same failed clauses as in worker processes."""
    variant = VARIANTS[name]
    # A variant that leaves its process stuck costs chaos + heal timeouts on embedded.
    options = (RunOptions(chaos_timeout=3.0, heal_timeout=2.0) if "L1" in variant.breaks
               else RunOptions(chaos_timeout=30.0, heal_timeout=10.0))
    failed = {}
    for tier in ("sim", "embedded"):
        run = run_scenario(load_adapter(variant.spec, tier), by_name(variant.catches), options)
        if run.status == "not_applicable" and tier == "embedded":
            pytest.skip(f"{variant.catches} is not applicable on embedded: {run.reasons}")
        assert run.status == "ran", run.reasons
        failed[tier] = sorted(r.clause for r in run.failed())
    extra = TIMING_EXTRAS.get(name, frozenset())
    assert set(failed["sim"]) - extra == set(failed["embedded"]) - extra, failed
    assert set(failed["sim"]) & variant.breaks
