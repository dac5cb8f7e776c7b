"""``junit.xml``: one test case per clause row and per scenario run, for CI dashboards.

Suite ``wfconform.matrix`` holds the verdict of each clause (failure: a promised clause
failed or a declared expected failure passed; skipped: not promised or unknown, since
an unknown is not a pass). Suite ``wfconform.scenarios`` holds each run (failure:
its failed promised clauses with their witness; skipped: not applicable; error: the run
crashed). Built with ``xml.etree`` so the output is always well-formed.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from harness.reports.model import Report, xml_safe

__all__ = ["render_junit"]


def _suite(parent: ET.Element, name: str) -> ET.Element:
    return ET.SubElement(parent, "testsuite", name=name)


def _count(suite: ET.Element) -> dict[str, int]:
    cases = suite.findall("testcase")
    counts = {"tests": len(cases)}
    for kind, key in (("failure", "failures"), ("error", "errors"), ("skipped", "skipped")):
        counts[key] = sum(1 for case in cases if case.find(kind) is not None)
    for key, value in counts.items():
        suite.set(key, str(value))
    return counts


def _matrix(report: Report, root: ET.Element) -> ET.Element:
    suite = _suite(root, "wfconform.matrix")
    for row in report.rows:
        case = ET.SubElement(suite, "testcase", classname="wfconform.matrix",
                             name=f"{row.clause}: {row.text}", time="0")
        if row.is_failure:
            failure = ET.SubElement(case, "failure", message=row.reason[:500], type=row.clause)
            failure.text = "\n".join(row.measured.witness)
        elif row.verdict == "not_promised":
            ET.SubElement(case, "skipped", message="not promised by the engine")
        elif row.verdict == "unknown":
            ET.SubElement(case, "skipped", message=f"unknown: {row.reason}"[:500])
    return suite


def _scenarios(report: Report, root: ET.Element) -> ET.Element:
    suite = _suite(root, "wfconform.scenarios")
    for run in report.runs:
        case = ET.SubElement(suite, "testcase", classname=f"wfconform.scenarios.{run.source}",
                             name=run.name, time=f"{run.seconds:.3f}")
        failed = run.failed(report.promised)
        if run.status == "error":
            ET.SubElement(case, "error", message="; ".join(run.reasons)[:500])
        elif failed:
            message = "; ".join(f"{r.clause}: {r.sentence}" for r in failed)
            failure = ET.SubElement(case, "failure", message=message[:500],
                                    type=",".join(r.clause for r in failed))
            failure.text = "\n\n".join(
                f"{r.clause}: {r.sentence}\n" + "\n".join(r.witness) for r in failed)
        elif run.status == "not_applicable":
            ET.SubElement(case, "skipped", message="; ".join(run.reasons)[:500])
    return suite


def render_junit(report: Report) -> str:
    root = ET.Element("testsuites", name=report.title)
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for suite in (_matrix(report, root), _scenarios(report, root)):
        for key, value in _count(suite).items():
            totals[key] += value
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{sum(run.seconds for run in report.runs):.3f}")
    for element in root.iter():
        element.text = xml_safe(element.text) if element.text else element.text
        for name, text in element.attrib.items():
            element.set(name, xml_safe(text))
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, "unicode") + "\n"
