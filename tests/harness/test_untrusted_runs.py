"""A run that checked nothing, or in which a scenario errored, never exits 0.

Exit 3 ("cannot be trusted") is distinct from 1 (a clause failed); each distinct error is
printed once, with the scenarios it hit, and its traceback goes to ``errors.txt`` (or to
stderr with ``-v``). The adapters in ``tests/harness/untrusted.py`` break one thing each.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import main
from harness.conformance import EXIT_UNTRUSTED, run_conformance
from harness.runner import run_scenario
from scenarios.catalog import by_name
from tests.harness import untrusted

pytestmark = pytest.mark.simulation

_SPEC = "tests.harness.untrusted:"
_FEW = ["--scenario", "k1_hit_executes_no_effect", "--scenario", "n2_relaunch_makes_new_id",
        "--scenario", "k6_workflows_never_cached"]


def _run(capsys: pytest.CaptureFixture[str], tmp_path: Path, adapter: str,
         *extra: str) -> tuple[int, str, str]:
    code = main(["run", "--engine", _SPEC + adapter, "--out", str(tmp_path), *_FEW, *extra])
    out, err = capsys.readouterr()
    return code, out, err


def test_an_adapter_that_always_raises_exits_3_with_the_error_told_once(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = _run(capsys, tmp_path, "unreachable")
    assert code == EXIT_UNTRUSTED
    assert out.splitlines()[-1] == "0 passed, 0 failed, 3 scenario(s) errored"
    assert (out + err).count("engine unreachable at 127.0.0.1:9") == 2  # progress + summary
    assert "E1 (3 scenario(s)" in err and "cannot be trusted" in err
    assert "Traceback" not in out + err, "tracebacks go to the file unless -v"
    written = (tmp_path / "errors.txt").read_text(encoding="utf-8")
    assert "Traceback" in written and "untrusted.py" in written
    assert "the run crashed" not in out.split("clause  promised")[1], \
        "the matrix rows do not repeat the error"


def test_distinct_errors_are_each_told_once(capsys: pytest.CaptureFixture[str],
                                            tmp_path: Path) -> None:
    code, _, err = _run(capsys, tmp_path, "two_errors")
    assert code == EXIT_UNTRUSTED
    assert "2 distinct error(s)" in err
    assert "E1 (2 scenario(s)" in err and "E2 (1 scenario(s)" in err


def test_verbose_prints_each_traceback_once(capsys: pytest.CaptureFixture[str],
                                            tmp_path: Path) -> None:
    code, _, err = _run(capsys, tmp_path, "unreachable", "-v")
    assert code == EXIT_UNTRUSTED
    assert err.count("Traceback (most recent call last)") == 1


def test_a_close_that_raises_makes_the_scenario_an_error() -> None:
    run = run_scenario(untrusted.failing_close, by_name("k1_hit_executes_no_effect"))
    assert run.status == "error"
    assert "close() failed: OSError: could not stop the workers" in run.reasons[0]
    assert run.traceback is not None and "in close" in run.traceback


def test_a_run_where_nothing_applies_checked_nothing_and_exits_3(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = _run(capsys, tmp_path, "nothing_applies")
    assert code == EXIT_UNTRUSTED
    assert out.splitlines()[-1] == "0 passed, 0 failed: nothing was checked"
    assert "no promised clause was checked" in err


def test_run_conformance_is_not_ok_when_a_scenario_errored() -> None:
    result = run_conformance(untrusted.unreachable, [by_name("k1_hit_executes_no_effect")])
    assert not result.ok and result.failed == 0
    assert result.exit_code == EXIT_UNTRUSTED and len(result.errors) == 1


def test_the_correct_engine_is_trusted_and_exits_0(capsys: pytest.CaptureFixture[str],
                                                   tmp_path: Path) -> None:
    code = main(["run", "--tier", "sim", "--out", str(tmp_path), *_FEW])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert out.splitlines()[-1].endswith(" passed, 0 failed")
    assert "cannot be trusted" not in err


def test_fuzz_with_an_erroring_adapter_exits_3(capsys: pytest.CaptureFixture[str],
                                               tmp_path: Path) -> None:
    code = main(["fuzz", "--engine", _SPEC + "unreachable", "--max-time", "3",
                 "--max-examples", "5", "--seed", "1", "--out", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == EXIT_UNTRUSTED
    assert "5 error(s)" in out and "E1 (5 scenario(s)" in err


def test_replay_on_an_erroring_adapter_exits_3_not_0(capsys: pytest.CaptureFixture[str],
                                                     tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "k1.json"
    path.write_text(by_name("k1_hit_executes_no_effect").to_json(), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code = main(["replay", str(path), "--engine", _SPEC + "unreachable"])
    _, err = capsys.readouterr()
    assert code == EXIT_UNTRUSTED
    assert "E1 (1 scenario(s)" in err and (tmp_path / "wfconform-failures/errors.txt").is_file()


def test_selftest_reports_an_errored_variant_run_as_an_error_not_a_pass(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import harness.selftest as selftest_module

    real_run = selftest_module.run_scenario
    monkeypatch.setattr(selftest_module, "run_scenario",
                        lambda _factory, scenario, options: real_run(
                            untrusted.unreachable, scenario, options))
    outcome = selftest_module.check_variant("hash_ignores_nested", tmp_path, tier="sim")
    assert not outcome.caught and outcome.counted
    assert outcome.line().startswith("  ERROR ") and "engine unreachable" in outcome.line()
    assert "passed" not in outcome.line()


def test_a_selftest_in_which_no_variant_exists_on_the_tier_exits_3(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code = main(["selftest", "--tier", "embedded", "--variant", "kill_marks_terminated",
                 "--out", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == EXIT_UNTRUSTED
    assert out.splitlines()[-1] == "0 of 0 variant(s) caught" and "checked nothing" in err
