"""wfconform's pytest plugin (entry point ``pytest11``): options, markers, fixtures.

- Options, all namespaced (installing wfconform adds options to every pytest run in the
  venv, so none may take a name another plugin could want): ``--wfconform-engine`` and
  ``--wfconform-tier`` choose the adapter under test (``--engine``/``--tier``, their names
  until 0.1, still work for one release, with a deprecation warning); ``--wfconform``
  collects the conformance suite (``harness.suite``: one test per clause and catalog
  scenario, plus a Hypothesis state machine whose faults are rules); ``--wfconform-profile``
  picks the Hypothesis profile (``quick`` or ``deep``, both registered here), and
  ``--wfconform-out`` where failing scenarios are written for ``wfconform replay``.
- Markers: one per clause (``C1`` .. ``P1``, e.g. ``pytest --wfconform -m K4``) and
  ``wfconform`` on every suite test.
- Fixtures: ``wfconform_adapter_factory``, ``wfconform_workdir`` (unique per test and per
  xdist worker), ``wfconform_session``, ``wfconform_adapter``, ``wfconform_journal``,
  ``wfconform_nemesis``, ``wfconform_run``. Each cleans up what it started, also when
  the test fails.

Installing wfconform must not change anyone's test run: the suite is collected only on
request, and no Hypothesis profile is loaded globally. Only options and hooks live
here; the machinery is imported lazily by the fixtures.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from harness.adapter import EngineAdapter, Handle
    from harness.journal import EffectEntry
    from harness.nemesis import Nemesis
    from harness.runner import AdapterFactory, ScenarioRun
    from harness.session import Session
    from scenarios.scenario import Scenario

SUITE_MODULE = "harness.suite"


DEPRECATED = {"engine": "--wfconform-engine", "tier": "--wfconform-tier"}
"""Old option name (without ``--``) -> its namespaced name; the old ones go in 0.3."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("wfconform", "workflow-engine conformance")
    group.addoption("--wfconform-engine", default=None, metavar="SPEC",
                    help="adapter under test: 'reference' (default), 'aiida', 'prefect', "
                         "'celery' or 'pkg.module:Adapter'")
    group.addoption("--wfconform-tier", default=None, metavar="TIER",
                    help="engine tier: 'embedded', 'sim' or 'real' (default: the adapter's own)")
    for old, new in DEPRECATED.items():
        try:  # another plugin may own the bare name: then only the new one exists
            group.addoption(f"--{old}", default=None, dest=f"wfconform_deprecated_{old}",
                            help=f"deprecated: use {new}")
        except ValueError:
            continue
    group.addoption("--wfconform", action="store_true", default=False,
                    help="collect the conformance suite (harness.suite); without test paths, "
                         "run only the suite")
    group.addoption("--wfconform-profile", default="quick", choices=("quick", "deep"),
                    help="Hypothesis profile of the suite's state machine (default quick)")
    group.addoption("--wfconform-examples", type=int, default=None, metavar="N",
                    help="examples of the suite's state machine (default: the profile's)")
    group.addoption("--wfconform-out", default=None, metavar="DIR",
                    help="where failing scenarios are written (default: under basetemp)")
    group.addoption("--wfconform-postgres-url", default=None, metavar="URL",
                    help="PostgreSQL for the real tier (default: $WFCONFORM_POSTGRES_URL, "
                         "else a throwaway server); each xdist worker gets a database")
    group.addoption("--wfconform-services", default=None,
                    choices=("auto", "urls", "local", "containers"),
                    help="where the real tier gets its servers: urls, local, containers "
                         "(Docker: adds pause and partition faults) or auto (default: "
                         "$WFCONFORM_SERVICES, else auto); each xdist worker starts its own")
    group.addoption("--wfconform-rabbitmq-url", default=None, metavar="URL",
                    help="RabbitMQ for the real tier (default: $WFCONFORM_RABBITMQ_URL, "
                         "else a throwaway node); each xdist worker gets a vhost")


def adapter_options(config: pytest.Config) -> tuple[str, str | None]:
    """``(engine, tier)`` from ``--wfconform-engine``/``--wfconform-tier`` or, for one
    more release, from ``--engine``/``--tier``."""
    values = []
    for old, new in DEPRECATED.items():
        value = config.getoption(new.lstrip("-").replace("-", "_"))
        if value is None:
            value = config.getoption(f"wfconform_deprecated_{old}", None)
        values.append(value)
    return values[0] or "reference", values[1]


def _warn_deprecated(config: pytest.Config) -> None:
    for old, new in DEPRECATED.items():
        if config.getoption(f"wfconform_deprecated_{old}", None) is not None:
            config.issue_config_time_warning(pytest.PytestDeprecationWarning(
                f"--{old} is deprecated and goes in wfconform 0.3: use {new}"), stacklevel=2)


def _check_adapter(config: pytest.Config) -> None:
    """A bad engine or tier is a usage error (one line), not a collection error."""
    from harness.adapters import load_adapter
    from harness.errors import AdapterSpecError

    engine, tier = adapter_options(config)
    try:
        load_adapter(engine, tier)
    except AdapterSpecError as error:
        raise pytest.UsageError(str(error).replace("--tier", "--wfconform-tier")
                                .replace("--engine", "--wfconform-engine")) from None


def pytest_configure(config: pytest.Config) -> None:
    from harness.profiles import register_profiles
    from scenarios.capabilities import CLAUSES

    _warn_deprecated(config)
    engine, tier = adapter_options(config)
    if config.getoption("wfconform") or engine != "reference" or tier is not None:
        _check_adapter(config)
    register_profiles()
    services = config.getoption("wfconform_services")
    if services:  # read by the real tier where it starts its servers (in each xdist worker)
        os.environ["WFCONFORM_SERVICES"] = services
    config.addinivalue_line("markers", "wfconform: a test of wfconform's conformance suite")
    for clause, text in CLAUSES.items():
        config.addinivalue_line("markers", f"{clause}: exercises clause {clause}, {text}")
    if config.getoption("wfconform"):
        _add_suite(config)


def _add_suite(config: pytest.Config) -> None:
    """Collect ``harness.suite``: alone when no paths were given, else beside them."""
    spec = importlib.util.find_spec(SUITE_MODULE)
    if spec is None or spec.origin is None:
        raise pytest.UsageError(f"--wfconform: cannot find module {SUITE_MODULE}; "
                                "reinstall wfconform")
    suite = spec.origin
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        config.args[:] = [suite]
        return
    # a suite test id as pytest prints it (``::test_clause[K4-...]``: the suite lives
    # outside the rootdir) pastes back: ``pytest --wfconform '::test_clause[K4-...]'``
    pasted = [i for i, arg in enumerate(config.args)
              if arg.startswith(("::", f"{SUITE_MODULE}::"))]
    for i in pasted:
        config.args[i] = suite + config.args[i][config.args[i].index("::"):]
    if not pasted and suite not in config.args:
        config.args.append(suite)


# A conformance suite that checked nothing (every clause test skipped: not applicable,
# not promised or unknown) must not exit 0: count clause outcomes, judge at the end.
_CLAUSE_TEST = "::test_clause["
_TALLY = pytest.StashKey[dict[str, int]]()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if _CLAUSE_TEST not in report.nodeid or report.when not in ("setup", "call"):
        return
    if report.when == "setup" and not report.skipped:
        return  # the call phase reports this test
    tally = _tally_of(report)
    if tally is not None:
        tally[report.outcome] = tally.get(report.outcome, 0) + 1


def _tally_of(report: pytest.TestReport) -> dict[str, int] | None:
    config = _CONFIG.get("config")  # reports carry no config; the session's is kept here
    return None if config is None else config.stash.setdefault(_TALLY, {})


_CONFIG: dict[str, pytest.Config] = {}


def pytest_sessionstart(session: pytest.Session) -> None:
    _CONFIG["config"] = session.config


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if hasattr(session.config, "workerinput"):
        return  # an xdist worker sees only its share; the controller judges the whole
    tally = session.config.stash.get(_TALLY, {})
    ran = sum(tally.values())
    if ran and not tally.get("passed") and not tally.get("failed") \
            and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        session.config.stash[_NOTHING] = ran


_NOTHING = pytest.StashKey[int]()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    ran = terminalreporter.config.stash.get(_NOTHING, 0)
    if ran:
        terminalreporter.write_line(
            f"wfconform: the conformance suite checked nothing: all {ran} clause test(s) "
            "were skipped (not applicable, not promised or unknown); a run that checked "
            "nothing fails", red=True)


def worker_id() -> str:
    """The pytest-xdist worker id (``gw0``...), or ``main`` without xdist."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def wfconform_adapter_factory(pytestconfig: pytest.Config) -> AdapterFactory:
    """Fresh, unopened adapters for ``--wfconform-engine``/``--wfconform-tier`` (one per
    call)."""
    from harness.adapters import load_adapter
    from harness.errors import AdapterSpecError

    try:
        return load_adapter(*adapter_options(pytestconfig))
    except AdapterSpecError as error:
        raise pytest.UsageError(str(error)) from None


@pytest.fixture
def wfconform_workdir(tmp_path: Path) -> Path:
    """A directory of this test only; under xdist, inside this worker's own basetemp."""
    path = tmp_path / f"wfconform-{worker_id()}"
    path.mkdir()
    return path


@pytest.fixture
def wfconform_session(wfconform_workdir: Path) -> Callable[..., Session]:
    """``make(scenario, gated=False)``: a written ``Session`` in a new subdirectory."""
    from harness.session import Session

    made = 0

    def make(scenario: Scenario, gated: bool = False) -> Session:
        nonlocal made
        made += 1
        return Session(wfconform_workdir / f"session-{made}", scenario, gated).write()

    return make


@pytest.fixture
def wfconform_adapter(wfconform_adapter_factory: AdapterFactory
                      ) -> Iterator[Callable[[Session], EngineAdapter]]:
    """``open(session)``: a fresh adapter, contract-checked and opened; closed after the test."""
    from harness.contract import CheckedAdapter

    opened: list[EngineAdapter] = []

    def open_adapter(session: Session) -> EngineAdapter:
        adapter = CheckedAdapter(wfconform_adapter_factory())
        opened.append(adapter)
        adapter.open(session)
        return adapter

    yield open_adapter
    for adapter in reversed(opened):
        adapter.close()


@pytest.fixture
def wfconform_journal() -> Callable[[Session], list[EffectEntry]]:
    """``effects(session)``: the session's journal entries, in order (re-read per call)."""
    from harness.bodies import journal_entries

    return journal_entries


@pytest.fixture
def wfconform_nemesis() -> Iterator[Callable[..., Nemesis]]:
    """``make(adapter, session, handles=None)``: an armed, started nemesis; stopped after
    the test (its recorder is ``nemesis.recorder``)."""
    from harness.history import HistoryRecorder
    from harness.nemesis import Nemesis

    started: list[Nemesis] = []

    def make(adapter: EngineAdapter, session: Session,
             handles: dict[str, Handle] | None = None) -> Nemesis:
        nemesis = Nemesis(adapter, session, HistoryRecorder(), handles or {})
        started.append(nemesis)
        nemesis.arm()
        nemesis.start()
        return nemesis

    yield make
    for nemesis in started:
        nemesis.stop()


@pytest.fixture
def wfconform_run(wfconform_adapter_factory: AdapterFactory,
                  wfconform_workdir: Path) -> Callable[[Scenario], ScenarioRun]:
    """``run(scenario)``: run and check one scenario on a fresh adapter (``run_scenario``)."""
    from harness.runner import RunOptions, run_scenario

    def run(scenario: Scenario, **options: Any) -> ScenarioRun:
        return run_scenario(wfconform_adapter_factory, scenario,
                            RunOptions(workdir_root=str(wfconform_workdir), **options))

    return run


@pytest.fixture(scope="session")
def wfconform_out(pytestconfig: pytest.Config,
                  tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the suite writes failing scenarios (per xdist worker when defaulted)."""
    chosen = pytestconfig.getoption("wfconform_out")
    if chosen:
        return Path(chosen)
    return tmp_path_factory.mktemp(f"wfconform-failures-{worker_id()}", numbered=False)
