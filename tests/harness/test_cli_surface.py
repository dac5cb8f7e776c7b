"""What a pytest user meets first: options, output, reports and errors (issue 15, 1-9).

Each test names the numbered item of the issue it covers. Fast ones use hand-made runs
or the sim tier; the few that need worker processes are marked ``embedded``.
"""

from __future__ import annotations

import json
import logging
import logging.config
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest

from harness.checks import PASS, UNKNOWN, run_checks
from harness.cli import main
from harness.progress import rate_text
from harness.results import ResultsDir, capabilities_to_dict
from harness.runner import ScenarioRun
from tests.harness.histories import CAPS, Hist, c3_run

ROOT = Path(__file__).resolve().parents[2]
BROKEN = "harness.adapters.broken_reference:cached_workflow"


def _run(hist: Hist) -> ScenarioRun:
    history = hist.history()
    results = run_checks(hist.scenario, hist.expectation, history)
    return ScenarioRun(hist.scenario, "ran", (), hist.expectation, history, results, 0.25)


def _one_line_error(capsys: pytest.CaptureFixture[str], says: str) -> str:
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and err.startswith("wfconform: error: "), err
    assert says in err and "Traceback" not in out + err
    return err


# 1 ------------------------------------------------------------------------------------
def test_1_real_tier_without_its_clients_names_the_extra_to_install(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # find_spec says: not installed
    started = time.monotonic()
    assert main(["run", "--tier", "real"]) == 2
    err = _one_line_error(capsys, "tier 'real' needs psycopg")
    assert "pip install -e '.[real]'" in err
    assert time.monotonic() - started < 10, "said before any server was started"


# 2 ------------------------------------------------------------------------------------
def test_2_library_log_records_stay_off_the_terminal_unless_vv(
        capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    from harness.output import quiet_third_party_logs

    pika = logging.getLogger("pika")
    saved = (pika.level, pika.propagate)
    restore = quiet_third_party_logs(0)
    try:
        pika.warning("Unexpected connection close detected")
        logging.getLogger("reference_engine.brokers.rabbitmq").warning("hint not announced")
        # AiiDA re-configures its loggers whenever it opens a profile's storage
        logging.config.dictConfig({
            "version": 1, "disable_existing_loggers": False,
            "handlers": {"console": {"class": "logging.StreamHandler"}},
            "loggers": {"aiida": {"level": "DEBUG", "handlers": ["console"]}}})
        logging.getLogger("aiida.engine.daemon.client").warning("stale daemon PID file")
        assert capsys.readouterr().err == "" and caplog.records == []
    finally:
        restore()
        logging.getLogger("aiida").handlers.clear()
        pika.setLevel(saved[0])
        pika.propagate = saved[1]
    logging.getLogger("tests.after").critical("logging is back for the caller")
    assert [r.getMessage() for r in caplog.records] == ["logging is back for the caller"]


def test_2_a_worker_writes_its_output_to_the_log_it_is_given(tmp_path: Path) -> None:
    log = tmp_path / "workers.log"
    code = ("import sys; from reference_engine.runtime.worker import redirect_output; "
            "redirect_output(); print('to stdout'); sys.stderr.write('Traceback: to stderr\\n')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT),
                               "REFERENCE_ENGINE_WORKER_LOG": str(log)}, timeout=60)
    assert done.returncode == 0 and done.stdout == "" and done.stderr == ""
    assert "to stdout" in log.read_text() and "Traceback: to stderr" in log.read_text()


@pytest.mark.embedded
def test_2_workers_run_in_their_own_session_so_ctrl_c_does_not_reach_them(
        tmp_path: Path) -> None:
    from reference_engine import Daemon, Engine

    with Engine(tmp_path / "e.db") as engine:
        daemon = Daemon(engine.url, 1).start()
        try:
            daemon.wait_for_workers(1)
            (pid,) = daemon.worker_pids()
            assert os.getsid(pid) != os.getsid(0)
        finally:
            daemon.stop()


# 3 ------------------------------------------------------------------------------------
def _results_with(tmp_path: Path, runs: list[ScenarioRun], command: str = "fuzz") -> Path:
    out = ResultsDir(tmp_path)
    out.start(command=command, engine="reference", adapter="reference", tier="test", seed=1,
              capabilities=capabilities_to_dict(CAPS))
    for run in runs:
        out.record(run, "seeded")
    out.finish(seconds=1.0)
    out.close()
    return tmp_path


def test_3_a_clause_that_held_wherever_decided_passes_in_every_report(tmp_path: Path) -> None:
    passed = _run(c3_run())
    c1 = next(r for r in passed.results if r.clause == "C1")
    assert c1.verdict == PASS
    undecided = replace(passed, scenario=replace(passed.scenario, name="undecided"),
                        results=tuple(replace(r, verdict=UNKNOWN, sentence="cannot tell")
                                      if r.clause == "C1" else r for r in passed.results))
    results = _results_with(tmp_path, [passed, passed, undecided])
    assert main(["report", str(results)]) == 0
    root = ET.parse(results / "junit.xml").getroot()
    c1_case = next(c for c in root.iter("testcase") if c.get("name", "").startswith("C1:"))
    assert c1_case.find("skipped") is None and c1_case.find("failure") is None
    markdown = (results / "report.md").read_text(encoding="utf-8")
    row = next(line for line in markdown.splitlines() if line.startswith("| C1 |"))
    assert "| pass |" in row and "could not decide it" in row


# 4 ------------------------------------------------------------------------------------
def test_4_verdicts_are_plain_json_lines(tmp_path: Path) -> None:
    _results_with(tmp_path, [_run(c3_run()), _run(c3_run())])
    lines = (tmp_path / "verdicts.jsonl").read_text(encoding="utf-8").split("\n")
    assert lines[-1] == "" and all(json.loads(line)["status"] == "ran" for line in lines[:-1])
    assert len(lines) == 3


def test_4_report_says_which_lines_are_corrupt(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    results = _results_with(tmp_path, [_run(c3_run())])
    with open(results / "verdicts.jsonl", "a", encoding="utf-8") as file:
        file.write("garbage\n{\"scenario\": \"torn")
    assert main(["report", str(results)]) == 0
    err = capsys.readouterr().err
    assert "2 line(s)" in err and "first: line 2" in err and "not verdict records" in err


def test_4_a_directory_of_garbage_is_an_error_not_no_runs(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    results = _results_with(tmp_path, [])
    (results / "verdicts.jsonl").write_text("garbage\nmore garbage\n", encoding="utf-8")
    assert main(["report", str(results)]) == 2
    assert "holds no readable verdict" in capsys.readouterr().err
    (results / "run.json").write_text("not json", encoding="utf-8")
    assert main(["report", str(results)]) == 2
    _one_line_error(capsys, "run.json is not a wfconform run record")


# 5 ------------------------------------------------------------------------------------
def test_5_rates_slower_than_one_a_second_are_shown_per_scenario() -> None:
    assert rate_text(3, 100.0) == "33.3 s/scenario"
    assert rate_text(50, 10.0) == "5.0 scenarios/s"
    assert rate_text(0, 3.0) == "no scenario yet"


def test_5_fuzz_help_and_header_say_which_tier_and_why(
        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["fuzz", "--help"])
    assert "sim for the reference engine" in " ".join(capsys.readouterr().out.split())
    assert main(["fuzz", "--max-time", "1", "--max-examples", "1", "--seed", "1", "-q"]) == 0
    header = capsys.readouterr().out.splitlines()[0]
    assert "tier sim (fuzz's default for the reference engine" in header


def test_5_shrinking_is_boxed_by_the_time_box_with_a_grace(tmp_path: Path) -> None:
    from harness.failures import FailureHandler
    from harness.runner import RunOptions

    handler = FailureHandler(lambda: None, RunOptions(), CAPS.promised, "reference", "t",  # type: ignore[arg-type, return-value]  # never called
                             tmp_path, shrink_budget=60.0, deadline=time.monotonic() - 1,
                             grace=4.0)
    run = _run(c3_run())
    assert handler._budget(run) == 4.0
    assert handler._budget(replace(run, seconds=10.0)) == pytest.approx(22.0)
    handler.deadline = time.monotonic() + 30
    assert 29 < handler._budget(run) <= 30


def test_5_a_slow_engines_failure_gets_a_shrink_budget_of_reruns_not_of_seconds(
        tmp_path: Path) -> None:
    from harness.failures import MIN_RERUNS, FailureHandler
    from harness.runner import RunOptions

    handler = FailureHandler(lambda: None, RunOptions(), CAPS.promised, "reference", "t",  # type: ignore[arg-type, return-value]  # never called
                             tmp_path, shrink_budget=60.0)
    slow = replace(_run(c3_run()), seconds=6.0)  # a Prefect-like 6 s per scenario
    assert handler._budget(slow) == MIN_RERUNS * 6.0 > 60.0
    assert handler._budget(replace(slow, seconds=0.1)) == 60.0
    handler.shrink_left = 0.0  # the shared budget is spent: no more shrinking
    assert handler._budget(slow) == 0.0
    handler.shrink_left, handler.deadline = 60.0, time.monotonic() + 20
    assert handler._budget(slow) <= 20, "the fuzz time box still caps it"


def test_5_fuzz_counts_shrinks_and_writes_every_failing_clause_with_progress(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["fuzz", "--engine", BROKEN, "--tier", "sim", "--max-time", "60",
                 "--max-examples", "4", "--seed", "1", "--heal-timeout", "0.5",
                 "--shrink-time", "20", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 1
    summary = out.strip().splitlines()[-1]
    clauses = int(summary.split(" failing clause(s)")[0].rsplit(" ", 1)[1])
    assert clauses >= 2, out
    written = [p for p in tmp_path.glob("*.json")
               if not p.name.endswith(".verdict.json") and p.name != "run.json"]
    assert len(written) == clauses, (written, out)
    assert "shrinking a " in out and " failure: " in out, "a progress line while shrinking"


# 6 ------------------------------------------------------------------------------------
pytest_plugins = ["pytester"]
K6 = "k6_workflows_never_cached"


def test_6_a_bad_tier_under_pytest_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--wfconform", "--wfconform-tier", "quantum",
                                           "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    text = result.stderr.str() + result.stdout.str()
    assert "tier 'quantum' is not available" in text and "--wfconform-tier sim" in text
    assert "collect" not in text.lower() and "Traceback" not in text


def test_6_ids_paste_back_and_the_old_option_names_still_work(
        pytester: pytest.Pytester) -> None:
    listed = pytester.runpytest_subprocess("--wfconform", "--wfconform-tier", "sim",
                                           "--collect-only", "-q", "-m", "K6")
    node = next(line for line in listed.stdout.lines if f"[K6-{K6}]" in line)
    again = pytester.runpytest_subprocess("--wfconform", "--tier", "sim", "--collect-only",
                                          "-q", node, "-p", "no:cacheprovider")
    ids = [line for line in again.stdout.lines if "::test_" in line]
    assert ids == [node], again.stdout.str()
    assert "--tier is deprecated" in again.stdout.str()


# 7 ------------------------------------------------------------------------------------
def test_7_a_kill_is_named_on_the_timeline_and_lane_labels_are_whole(tmp_path: Path) -> None:
    from harness.reports import write_reports

    run = _run(c3_run())
    results = _results_with(tmp_path, [run], command="run")
    write_reports(results)
    html = (results / "report.html").read_text(encoding="utf-8")
    assert html.count('class="faultlabel"') == 2 and ">kill<title>" in html
    for line in run.history.of("process") if run.history is not None else ():
        assert f"{line.get('path')} ({line.get('kind')}, {line.get('state')})" in html


def test_7_fuzz_keeps_the_timelines_of_a_few_passing_runs(tmp_path: Path) -> None:
    from harness.fuzz import PASSING_SAMPLE

    assert main(["fuzz", "--tier", "sim", "--max-time", "30", "--max-examples", "5",
                 "--seed", "1", "-q", "--out", str(tmp_path)]) == 0
    kept = list((tmp_path / "histories").glob("*.history.jsonl"))
    assert len(kept) == PASSING_SAMPLE


# 8 ------------------------------------------------------------------------------------
def test_8_version_and_exit_statuses_are_in_the_help(
        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.startswith("wfconform ")
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    for code in ("0 ", "1 ", "2 ", "3 ", "130"):
        assert f"\n  {code}" in text, code


def test_8_run_is_quiet_by_default_detailed_with_v_and_writes_junit(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HYPOTHESIS_STORAGE_DIRECTORY", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    junit = tmp_path / "out" / "junit.xml"
    args = ["run", "--tier", "sim", "--clause", "K4"]
    assert main([*args, "--junitxml", str(junit)]) == 0
    default = capsys.readouterr().out
    assert "  ok    k4_any_input_change_misses" not in default and "clause  promised" in default
    root = ET.parse(junit).getroot()
    assert root.get("failures") == "0" and int(root.get("tests", 0)) > 22
    assert main([*args, "-v"]) == 0
    assert "  ok    k4_any_input_change_misses" in capsys.readouterr().out
    assert main([*args, "-q"]) == 0
    quiet = capsys.readouterr().out
    assert "clause  promised" not in quiet and quiet.strip().endswith("passed, 0 failed")
    # item 10: a passing run writes nothing into the current directory (no .hypothesis/)
    from hypothesis.configuration import set_hypothesis_home_dir, storage_directory

    try:
        where = storage_directory(intent_to_write=False)
        where = Path(getattr(where, "path", where))  # a plain Path in older Hypothesis
        assert where.is_relative_to(tmp_path / "cache")
        assert sorted(p.name for p in tmp_path.iterdir() if p.name != "cache") == ["out"]
    finally:
        set_hypothesis_home_dir(None)


def test_8_x_stops_run_at_the_first_failing_scenario(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["run", "--engine", "harness.adapters.broken_reference:hash_omits_type",
                 "--tier", "sim", "--examples", "0", "-x", "-q", "--shrink-time", "1",
                 "--out", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "stopped after 1 failing scenario(s) (--maxfail/-x)" in out
    from scenarios.catalog import CATALOG

    verdicts = [json.loads(v) for v in
                (tmp_path / "verdicts.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(verdicts) < len(CATALOG)  # the last one run is the first that failed
    assert [r for r in verdicts[-1]["results"] if r["verdict"] == "fail"]
    assert not any(r["verdict"] == "fail" for v in verdicts[:-1] for r in v["results"])


# 9 ------------------------------------------------------------------------------------
def test_9_replaying_a_directory_names_a_file_in_it(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "generated_1.json").write_text("{}", encoding="utf-8")
    (tmp_path / "generated_1.verdict.json").write_text("{}", encoding="utf-8")
    assert main(["replay", str(tmp_path)]) == 2
    _one_line_error(capsys, f"is a directory; give one scenario file in it (it holds 1: "
                            f"e.g. {tmp_path / 'generated_1.json'})")


def test_9_reporting_a_missing_directory_says_so(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["report", str(tmp_path / "nonexistent")]) == 2
    err = _one_line_error(capsys, "no such directory")
    assert "to_json" not in err and "--out DIR" in err


# 10 -----------------------------------------------------------------------------------
def test_10_readme_links_resolve_in_a_clone_and_name_what_users_asked_for() -> None:
    import re

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)#]+)\)", text)
    assert "docs/design.md" in links
    for link in links:
        if "://" not in link:
            assert (ROOT / link).exists(), f"README links to {link}, missing in a clone"
    assert "../shared" not in text and "selftest --engine" not in text
    assert re.search(r"installs about \d+ packages", text), "what the test command installs"
    for needed in ("Python 3.11", "pip install -e '.[real]'",
                   "WFCONFORM_POSTGRES_URL", "TMPDIR", "./wfconform-failures/"):
        assert needed in text, needed
