"""``report.md``: the clause matrix, every failure with its witness, and the run list."""

from __future__ import annotations

from harness.reports.model import Report

__all__ = ["render_markdown"]

_SHOWN = {"pass": "pass", "fail": "**FAIL**", "unknown": "unknown",
          "not_promised": "not promised"}


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(report: Report) -> str:
    lines = [f"# {report.title}", "", report.summary(), "", "## Conformance matrix", "",
             "| clause | promised | verdict | scenarios | reason |",
             "| --- | --- | --- | ---: | --- |"]
    for row in report.rows:
        promised = "xfail" if row.expected_failure else ("yes" if row.promised else "no")
        verdict = _SHOWN[row.verdict] + (" (fails the run)" if row.is_failure else "")
        lines.append(f"| {row.clause} | {promised} | {verdict} | {len(row.scenarios)} | "
                     f"{_cell(row.reason)} |")
    lines += ["", "## Failures", ""]
    failing = [run for run in report.runs if run.failed(report.promised)]
    if not failing:
        lines += ["No promised clause failed.", ""]
    for run in failing:
        lines.append(f"### {run.name}")
        lines.append("")
        path = report.scenario_file(run)
        if path is not None:
            lines += [f"Replay: `wfconform replay {path}`", ""]
        for result in run.failed(report.promised):
            lines += [f"- **{result.clause}**: {_cell(result.sentence)}", "", "  ```"]
            lines += [f"  {witness}" for witness in result.witness]
            lines += ["  ```", ""]
    lines += ["## Scenario runs", "", "| scenario | source | status | seconds | failed |",
              "| --- | --- | --- | ---: | --- |"]
    for run in report.runs:
        failed = ", ".join(r.clause for r in run.failed(report.promised)) or "-"
        status = run.status + (f" ({'; '.join(run.reasons)})" if run.reasons else "")
        lines.append(f"| {_cell(run.name)} | {run.source} | {_cell(status)} | "
                     f"{run.seconds:.2f} | {failed} |")
    return "\n".join(lines) + "\n"
