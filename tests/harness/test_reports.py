"""``wfconform report``: Markdown, JUnit XML and self-contained HTML that parse and tell.

Most tests build the results directory from hand-made histories (no engine), one passing
run and one that breaks C2; one test goes end to end through ``run --out`` and ``report``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest

from harness.checks import run_checks
from harness.cli import main
from harness.failures import FailureHandler
from harness.reports import write_reports
from harness.reports.model import xml_safe
from harness.results import ResultsDir, capabilities_to_dict
from harness.runner import RunOptions, ScenarioRun
from tests.harness.histories import CAPS, Hist, c2_run, c3_run

VOID = {"meta", "br", "img", "input", "link", "hr", "col", "area", "base", "wbr", "source"}


class StrictHTML(HTMLParser):
    """Fails on any unbalanced tag; counts tags by name and class for the assertions."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.seen: dict[str, int] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        key = f"{tag}.{dict(attrs).get('class', '')}"
        self.seen[key] = self.seen.get(key, 0) + 1
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        key = f"{tag}.{dict(attrs).get('class', '')}"
        self.seen[key] = self.seen.get(key, 0) + 1

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()


def _run(hist: Hist) -> ScenarioRun:
    history = hist.history()
    results = run_checks(hist.scenario, hist.expectation, history)
    return ScenarioRun(hist.scenario, "ran", (), hist.expectation, history, results, 0.25)


def _broken_c2() -> ScenarioRun:
    """s1 runs twice with no kill in between: C2 fails."""
    h = c2_run()
    h.effect("A/s1", "1", worker=13)
    return _run(h)


@pytest.fixture
def results(tmp_path: Path) -> Path:
    out = ResultsDir(tmp_path)
    out.start(command="run", engine="reference", adapter="reference", tier="test", seed=9,
              capabilities=capabilities_to_dict(CAPS))
    out.record(_run(c3_run()), "catalog")
    broken = _broken_c2()
    out.record(broken, "catalog")
    FailureHandler(lambda: None, RunOptions(), CAPS.promised, "reference", "test",  # type: ignore[arg-type, return-value]  # never called: no shrinking
                   tmp_path).handle(broken, shrink_it=False)
    out.finish(seconds=0.5)
    out.close()
    return tmp_path


def test_the_junit_xml_parses_with_a_failure_for_the_broken_clause(results: Path) -> None:
    write_reports(results)
    root = ET.parse(results / "junit.xml").getroot()
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert set(suites) == {"wfconform.matrix", "wfconform.scenarios"}
    matrix = {c.get("name", "").split(":")[0]: c for c in suites["wfconform.matrix"]}
    assert len(matrix) == 22
    assert matrix["C2"].find("failure") is not None and matrix["C3"].find("failure") is None
    scenario = {c.get("name"): c for c in suites["wfconform.scenarios"]}
    failure = scenario["c2_checkpointed_effect_not_repeated"].find("failure")
    assert failure is not None and "C2" in failure.get("type", "")
    assert '"key":"A/s1"' in (failure.text or "")
    assert root.get("failures") == str(sum(int(s.get("failures", 0)) for s in suites.values()))


def test_the_html_is_well_formed_self_contained_and_has_one_timeline_per_run(
        results: Path) -> None:
    write_reports(results)
    text = (results / "report.html").read_text(encoding="utf-8")
    parser = StrictHTML()
    parser.feed(text)
    parser.close()
    assert parser.stack == [], parser.stack
    assert parser.seen["svg.timeline"] == 2
    assert parser.seen["rect.effect"] == 5 + 4  # c3: s1, s2 three times, s3; c2: 3 + s1 again
    assert parser.seen["line.fault"] == 2  # the two kills of c3
    assert parser.seen["circle.terminal"] == 2
    assert "http://" not in text.replace("http://www.w3.org/2000/svg", "")
    assert "<script" not in text and "wfconform replay" in text


def test_the_markdown_has_the_matrix_and_the_witness_of_the_failure(results: Path) -> None:
    write_reports(results)
    text = (results / "report.md").read_text(encoding="utf-8")
    assert "| C2 | yes | **FAIL** (fails the run) |" in text
    assert "### c2_checkpointed_effect_not_repeated" in text
    assert "wfconform replay" in text and '"key":"A/s1"' in text
    assert "seed 9" in text and "7 passed, 2 failed" in text  # P2: every launch


def test_report_from_the_command_line_writes_three_files(results: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    target = tmp_path / "elsewhere"
    assert main(["report", str(results), "--to", str(target)]) == 0
    assert sorted(p.name for p in target.iterdir()) == ["junit.xml", "report.html",
                                                        "report.md"]
    assert capsys.readouterr().out.count("wrote ") == 3


def test_report_on_a_directory_without_results_is_one_line(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]
                                                          ) -> None:
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no run.json" in err and "--out DIR" in err


def test_text_xml_forbids_is_escaped_not_dropped() -> None:
    assert xml_safe("a\x00b\ud800c") == "a\\u0000b\\ud800c"
    ET.fromstring("<x>" + xml_safe("nul:\x01 ok") + "</x>")


@pytest.mark.embedded
def test_a_real_run_reports_every_scenario_with_its_timeline(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--scenario", "c3_in_flight_effect_at_most_kills_plus_one",
                 "--examples", "1", "--seed", "2", "--out", str(tmp_path)]) == 0
    assert main(["report", str(tmp_path)]) == 0
    ET.parse(tmp_path / "junit.xml")
    parser = StrictHTML()
    parser.feed((tmp_path / "report.html").read_text(encoding="utf-8"))
    assert parser.seen["svg.timeline"] == 2 and parser.seen["line.fault"] >= 2
    assert parser.seen["circle.event"] > 0, "engine state changes are on the timeline"
    assert "hypothesis_2_0" in (tmp_path / "report.md").read_text(encoding="utf-8")


def test_capabilities_survive_the_results_round_trip_with_every_declaration() -> None:
    from dataclasses import replace

    from harness.results import capabilities_from_dict

    for isolated in (True, False):
        caps = replace(CAPS, isolated_kills=isolated)
        assert capabilities_from_dict(capabilities_to_dict(caps)) == caps


@pytest.mark.parametrize(("field", "value"), [
    ("child_failure", "parent_excepted"), ("caching_config_applies", "at_launch"),
    ("invalidation_scope", "per_stored_result"), ("min_chaos_timeout", 30.0),
    ("min_heal_timeout", 10.0)])
def test_a_declared_rule_survives_the_results_file_and_the_default_is_omitted(
        field: str, value: str | float) -> None:
    from dataclasses import replace

    from harness.results import capabilities_from_dict
    from scenarios import Capabilities

    default = Capabilities.everything()
    assert field not in capabilities_to_dict(default)
    declared = replace(default, **{field: value})
    assert capabilities_to_dict(declared)[field] == value
    assert capabilities_from_dict(capabilities_to_dict(declared)) == declared
