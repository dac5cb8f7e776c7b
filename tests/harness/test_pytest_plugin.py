"""The pytest plugin, tested with ``pytester`` as its users would run it.

Each test runs pytest in a fresh directory and a fresh process (so nothing of this test
session leaks in), where the plugin is loaded from its entry point, exactly as in an
engine author's project.
"""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

K6 = "k6_workflows_never_cached"
ONE_SCENARIO = f"K6-{K6} or violates_no_other_clause[{K6}]"


def test_installing_the_plugin_runs_nothing_of_the_suite_and_registers_clause_markers(
        pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_mine():\n    assert 1 + 1 == 2\n")
    result = pytester.runpytest_subprocess("--strict-markers")
    result.assert_outcomes(passed=1)
    markers = pytester.runpytest_subprocess("--markers").stdout.str()
    for clause in ("C1", "K4", "N2", "P1"):
        assert f"@pytest.mark.{clause}: exercises clause {clause}" in markers
    assert "@pytest.mark.wfconform:" in markers


def test_the_suite_is_named_by_clause_and_catalog_scenario(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--wfconform", "--collect-only", "-q", "-m", "K6")
    ids = [line for line in result.stdout.lines if "::test_clause[" in line]
    assert ids and all(line.split("[")[1].startswith("K6-") for line in ids)
    assert any(line.endswith(f"test_clause[K6-{K6}]") for line in ids)
    everything = pytester.runpytest_subprocess("--pyargs", "harness.suite", "--collect-only", "-q")
    assert "test_state_machine" in everything.stdout.str()
    assert f"test_scenario_violates_no_other_clause[{K6}]" in everything.stdout.str()


@pytest.mark.embedded
def test_the_suite_passes_on_the_reference_engine(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--wfconform", "-k", ONE_SCENARIO,
                                           "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


@pytest.mark.embedded
def test_a_broken_engine_fails_the_suite_with_the_witness_and_a_replay_command(
        pytester: pytest.Pytester) -> None:
    out = pytester.path / "failures"
    result = pytester.runpytest_subprocess(
        "--wfconform", "--wfconform-engine",
        "harness.adapters.broken_reference:cached_workflow",
        "-k", f"K6-{K6}", "--wfconform-out", str(out), "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*K6: *B*", f"*replay: wfconform replay {out}/{K6}.json*"])
    assert (out / f"{K6}.json").is_file()


@pytest.mark.embedded
def test_the_state_machine_builds_scenarios_with_faults_as_rules(
        pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--wfconform", "-k", "test_state_machine",
                                "--wfconform-examples", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    from harness.adapters.reference import ReferenceAdapter
    from harness.stateful import conformance_machine

    machine = conformance_machine(ReferenceAdapter)
    rules = {name for name in vars(machine)
             if hasattr(getattr(machine, name), "hypothesis_stateful_rule")}
    assert {"raise_in", "kill_at_crashpoint", "kill_on_effect", "launch", "relaunch"} <= rules


def test_the_profiles_are_registered_for_users_but_none_is_loaded(
        pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        from hypothesis import settings

        def test_profiles():
            assert settings.get_profile("quick").max_examples == 25
            assert settings.get_profile("deep").max_examples == 2000
            assert settings.get_current_profile_name() not in ("quick", "deep")
        """)
    pytester.runpytest_subprocess().assert_outcomes(passed=1)


@pytest.mark.embedded
def test_the_fixtures_open_an_adapter_journal_and_nemesis_and_clean_up(
        pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        from scenarios.catalog import by_name
        from scenarios.faults import KillOnEffect

        def test_by_hand(wfconform_session, wfconform_adapter, wfconform_journal,
                         wfconform_nemesis, wfconform_workdir):
            base = by_name("c2_checkpointed_effect_not_repeated")
            scenario = base.__class__("mine", base.workflows, (), base.launches[:1],
                                      (KillOnEffect(2),))
            session = wfconform_session(scenario, gated=True)
            assert session.workdir.parent == wfconform_workdir
            adapter = wfconform_adapter(session)
            nemesis = wfconform_nemesis(adapter, session)
            handle = adapter.launch("A", "Steps", {"x": 7})
            assert adapter.wait(handle, 30) == "finished"
            nemesis.stop()
            keys = [e.key for e in wfconform_journal(session)]
            assert keys == ["A/s1", "A/s2", "A/s2", "A/s3"]

        def test_whole_run(wfconform_run):
            run = wfconform_run(by_name("k6_workflows_never_cached"))
            assert run.status == "ran" and not run.failed()
        """)
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=2)


@pytest.mark.embedded
@pytest.mark.slow
def test_the_suite_and_fixtures_are_isolated_per_xdist_worker(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("xdist", reason="pytest-xdist is a dev dependency")
    pytester.makepyfile(test_dirs="""
        import os
        import pytest

        @pytest.mark.parametrize("n", range(4))
        def test_dir(wfconform_workdir, n):
            worker = os.environ["PYTEST_XDIST_WORKER"]
            assert wfconform_workdir.name == f"wfconform-{worker}"
            (wfconform_workdir / "mine").write_text(str(n))
            with open(os.environ["DIRS_FILE"], "a") as out:
                out.write(f"{wfconform_workdir}\\n")
        """)
    dirs = pytester.path / "dirs.txt"
    monkeypatch.setenv("DIRS_FILE", str(dirs))
    result = pytester.runpytest_subprocess(
        "-n", "2", "--wfconform", str(pytester.path), "-k", f"test_dir or K6-{K6} or K7-",
        "-p", "no:cacheprovider")
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) == 0 and outcomes["passed"] >= 6, result.stdout.str()
    seen = dirs.read_text().split()
    assert len(seen) == len(set(seen)) == 4
    assert {path.split("wfconform-")[-1] for path in seen} <= {"gw0", "gw1"}


def test_a_suite_that_checked_nothing_fails_the_session(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(untrusted_adapter="""
from harness.adapters.reference_sim import SimReferenceAdapter
from harness.errors import Unsupported

class NothingApplies(SimReferenceAdapter):
    def open(self, session):
        raise Unsupported(self.name, self.tier, "run anything", "a stub tier")

def make(tier=None):
    return NothingApplies()
""")
    result = pytester.runpytest_subprocess(
        "--wfconform", "--engine", "untrusted_adapter:make", "-k", f"K6-{K6}",
        "-p", "no:cacheprovider")
    result.assert_outcomes(skipped=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*the conformance suite checked nothing: all 1 clause test*"])


def test_a_suite_that_checked_something_keeps_its_exit_status(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--wfconform", "--wfconform-tier", "sim",
                                           "-k", f"K6-{K6}",
                                           "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert result.ret == pytest.ExitCode.OK
