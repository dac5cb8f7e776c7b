"""The conformance suite as pytest tests (``pytest --wfconform``, ``--pyargs harness.suite``).

Part of the pytest plugin (``harness.pytest_plugin`` holds its options and fixtures).
Tests, for the adapter chosen with ``--wfconform-engine``/``--wfconform-tier``:

- ``test_clause[<clause>-<scenario>]``: for each catalog scenario, one test per clause
  the scenario exercises (the oracle says which), marked with that clause. Each scenario
  runs once per session (per xdist worker), whatever the number of its tests.
  Outcomes: fail for a violated promise (with witness and a replay command); skipped for
  "not applicable", "not promised" and "unknown" (an unknown is never a pass); xfail
  for a declared expected failure, and a failure if such a clause passes (strict).
- ``test_scenario_violates_no_other_clause[<scenario>]``: any other promised clause the
  scenario violates (a violation counts even where the scenario was not aimed).
- ``test_state_machine``: Hypothesis's stateful testing with faults as rules
  (``harness.stateful``), under ``--wfconform-profile`` (quick by default). Its search
  is seeded (``--hypothesis-seed`` when given, else a fresh seed), and a failure ends
  with two ways to reproduce it: ``wfconform replay`` of the minimal failing scenario,
  recorded with the engine and tier, and the pytest command that reruns the same search.
"""

from __future__ import annotations

import secrets
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from harness.adapters import load_adapter
from harness.checks import FAIL, PASS, UNKNOWN, ClauseResult
from harness.errors import AdapterSpecError
from harness.pytest_plugin import adapter_options
from harness.results import FailureRecord, write_failure
from harness.runner import AdapterFactory, RunOptions, ScenarioRun, run_scenario
from scenarios.capabilities import Capabilities
from scenarios.catalog import CATALOG, by_name
from scenarios.oracle import expect

if TYPE_CHECKING:
    from hypothesis import settings as HypothesisSettings


@dataclass(frozen=True)
class Case:
    clause: str
    scenario: str

    @property
    def id(self) -> str:
        return f"{self.clause}-{self.scenario}"


def _capabilities(config: pytest.Config) -> Capabilities:
    try:
        factory = load_adapter(*adapter_options(config))
    except AdapterSpecError as error:
        raise pytest.UsageError(str(error)) from None
    return factory().capabilities()


def _group(config: pytest.Config, name: str) -> list[pytest.MarkDecorator]:
    """Keep one scenario's tests on one xdist worker (with ``--dist loadgroup``)."""
    return [pytest.mark.xdist_group(name)] if config.pluginmanager.hasplugin("xdist") else []


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    config = metafunc.config
    if "wfconform_case" in metafunc.fixturenames:
        caps = _capabilities(config)
        params = []
        for scenario in CATALOG:
            for clause in sorted(expect(scenario, caps).exercises):
                marks = [getattr(pytest.mark, clause), pytest.mark.wfconform,
                         *_group(config, scenario.name)]
                case = Case(clause, scenario.name)
                params.append(pytest.param(case, id=case.id, marks=marks))
        metafunc.parametrize("wfconform_case", params)
    elif "wfconform_scenario" in metafunc.fixturenames:
        metafunc.parametrize("wfconform_scenario", [
            pytest.param(s.name, id=s.name, marks=[pytest.mark.wfconform,
                                                   *_group(config, s.name)])
            for s in CATALOG])


class CatalogRuns:
    """Runs each catalog scenario once (on first use) and writes failures for replay."""

    def __init__(self, factory: AdapterFactory, workdir: Path, out: Path,
                 engine: str, tier: str) -> None:
        self.factory = factory
        self.workdir = workdir
        self.out = out
        self.engine, self.tier = engine, tier
        self.caps = factory().capabilities()
        self.promised = frozenset(self.caps.promised - self.caps.expected_failures)
        self._runs: dict[str, ScenarioRun] = {}
        self.written: dict[str, Path] = {}

    def get(self, name: str) -> ScenarioRun:
        if name not in self._runs:
            options = RunOptions(workdir_root=str(self.workdir))
            run = run_scenario(self.factory, by_name(name), options)
            self._runs[name] = run
            failed = run.failed(self.promised)
            if failed:
                record = FailureRecord.of_run(self.engine, self.tier, run, failed, options)
                self.written[name] = write_failure(self.out, run, record)
        return self._runs[name]

    def explain(self, name: str, results: list[ClauseResult]) -> str:
        lines = []
        for result in results:
            lines.append(f"{result.clause}: {result.sentence}")
            lines += [f"  | {w}" for w in result.witness]
        if name in self.written:
            lines.append(f"replay: wfconform replay {self.written[name]}")
        return "\n".join(lines)


@pytest.fixture(scope="session")
def wfconform_catalog_runs(wfconform_adapter_factory: AdapterFactory,
                           tmp_path_factory: pytest.TempPathFactory,
                           wfconform_out: Path, pytestconfig: pytest.Config) -> CatalogRuns:
    probe = wfconform_adapter_factory()
    return CatalogRuns(wfconform_adapter_factory, tmp_path_factory.mktemp("wfconform-runs"),
                       wfconform_out, adapter_options(pytestconfig)[0], probe.tier)


def _usable(run: ScenarioRun) -> None:
    if run.status == "not_applicable":
        pytest.skip(f"not applicable: {'; '.join(run.reasons)}")
    if run.status == "error":
        pytest.fail(f"the run crashed, every verdict is unknown: {'; '.join(run.reasons)}",
                    pytrace=False)


def test_clause(wfconform_case: Case, wfconform_catalog_runs: CatalogRuns) -> None:
    runs = wfconform_catalog_runs
    run = runs.get(wfconform_case.scenario)
    _usable(run)
    clause = wfconform_case.clause
    (result,) = [r for r in run.results if r.clause == clause]
    caps = runs.caps
    if clause in caps.expected_failures:
        if result.verdict == PASS:
            pytest.fail(f"{clause} is declared an expected failure but passed (strict): remove "
                        "it from expected_failures", pytrace=False)
        pytest.xfail(f"expected failure: {result.sentence}")
    if clause not in caps.promised:
        pytest.skip(f"{clause} is not promised by the engine (measured {result.verdict})")
    if result.verdict == FAIL:
        pytest.fail(runs.explain(wfconform_case.scenario, [result]), pytrace=False)
    if result.verdict == UNKNOWN:
        pytest.skip(f"unknown (never a pass): {result.sentence}")


def test_scenario_violates_no_other_clause(wfconform_scenario: str,
                                           wfconform_catalog_runs: CatalogRuns) -> None:
    runs = wfconform_catalog_runs
    run = runs.get(wfconform_scenario)
    _usable(run)
    exercised = run.expectation.exercises if run.expectation is not None else frozenset()
    others = [r for r in run.failed(runs.promised) if r.clause not in exercised]
    if others:
        pytest.fail(runs.explain(wfconform_scenario, others), pytrace=False)


STATE_MACHINE_STEPS = 10
"""Rule steps per case of ``test_state_machine`` (Hypothesis's ``stateful_step_count``)."""


def state_machine_settings(profile_name: str = "quick", examples: int | None = None,
                           **overrides: Any) -> HypothesisSettings:
    """The Hypothesis settings of ``test_state_machine``: the profile, its example count
    unless ``examples`` is given, ``STATE_MACHINE_STEPS``, no example database (a
    failure is reproduced from its seed or its replay file, never from a local cache) and
    no explain phase.

    Hypothesis's explain phase comes after shrinking (the minimal case is the same
    without it) and traces every further run (``sys.settrace`` before Python 3.12): it
    took two thirds of a failing search's time (209 s of 315 s, measured on a loaded
    machine), to note lines of wfconform's own checks ("always and only run by failing
    test cases: harness/checks/_facts.py:55"), which tell a user nothing the clause,
    witness and replay command do not."""
    from hypothesis import Phase, settings

    from harness.profiles import profile

    chosen = profile(profile_name)
    options: dict[str, Any] = {
        "max_examples": examples if examples is not None else chosen.max_examples,
        "stateful_step_count": STATE_MACHINE_STEPS, "database": None,
        "phases": [phase for phase in chosen.phases if phase is not Phase.explain],
        **overrides}
    return settings(chosen, **options)  # type: ignore[no-untyped-call]  # unannotated in Hypothesis


def search_seed(config: pytest.Config) -> int | str:
    """``--hypothesis-seed`` when given (so a printed rerun command reruns the same
    search), else a fresh one; Hypothesis itself prints its seed only for errors that
    are not plain failures."""
    given = config.getoption("hypothesis_seed", None)
    if given is None:
        return secrets.randbelow(2**32)
    try:
        return int(given)
    except ValueError:
        return str(given)  # Hypothesis accepts any string seed too


def rerun_command(config: pytest.Config, tier: str, seed: int | str) -> str:
    """The pytest command that reruns ``test_state_machine``'s search with ``seed``."""
    words = ["pytest", "--wfconform", "--wfconform-engine", adapter_options(config)[0],
             "--wfconform-tier", tier,
             "-k", "test_state_machine"]
    if config.getoption("wfconform_profile") != "quick":
        words += ["--wfconform-profile", config.getoption("wfconform_profile")]
    if config.getoption("wfconform_examples") is not None:
        words += ["--wfconform-examples", str(config.getoption("wfconform_examples"))]
    return shlex.join([*words, f"--hypothesis-seed={seed}"])


@pytest.mark.wfconform
def test_state_machine(wfconform_adapter_factory: AdapterFactory, wfconform_workdir: Path,
                       wfconform_out: Path, pytestconfig: pytest.Config) -> None:
    """Hypothesis stateful testing: launches, relaunches, caching and faults are rules."""
    from hypothesis import seed
    from hypothesis.stateful import run_state_machine_as_test

    from harness.stateful import conformance_machine

    chosen = search_seed(pytestconfig)
    machine = conformance_machine(wfconform_adapter_factory,
                                  RunOptions(workdir_root=str(wfconform_workdir)),
                                  out=wfconform_out, engine=adapter_options(pytestconfig)[0])
    try:
        run_state_machine_as_test(seed(chosen)(machine), settings=state_machine_settings(
            pytestconfig.getoption("wfconform_profile"),
            pytestconfig.getoption("wfconform_examples")))
    except Exception as error:
        tier = wfconform_adapter_factory().tier
        error.add_note(f"rerun this search (Hypothesis seed {chosen}) with: "
                       f"{rerun_command(pytestconfig, tier, chosen)}")
        raise
