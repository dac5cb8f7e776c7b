"""Reports from a results directory (``wfconform report DIR``): Markdown, JUnit XML, HTML.

``write_reports(DIR)`` reads what ``run``/``fuzz --out DIR`` wrote (``harness.results``)
and writes ``report.md`` (the matrix and the failures), ``junit.xml`` (one test case per
clause row and per scenario, for CI dashboards) and ``report.html`` (self-contained: the
matrix, then per scenario a timeline of effects, faults and state changes). Nothing is
re-run: a report is a pure function of the directory.
"""

from __future__ import annotations

from pathlib import Path

from harness.reports.html import render_html
from harness.reports.junit import render_junit
from harness.reports.markdown import render_markdown
from harness.reports.model import Report, load_report

__all__ = ["Report", "load_report", "render_html", "render_junit", "render_markdown",
           "write_reports"]


def write_reports(directory: Path, to: Path | None = None,
                  report: Report | None = None) -> list[Path]:
    """Write the three reports of results directory ``directory`` (into ``to``, default
    the same directory); return their paths."""
    report = report or load_report(directory)
    target = to or directory
    target.mkdir(parents=True, exist_ok=True)
    outputs = {"report.md": render_markdown(report), "junit.xml": render_junit(report),
               "report.html": render_html(report)}
    paths = []
    for name, text in outputs.items():
        path = target / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths
