"""Plain-text rendering of results: the conformance matrix and a scenario's verdicts.

Kept apart from the CLI so the pytest plugin and future reports print the same text.
"""

from __future__ import annotations

import shutil
import sys

from harness.checks import FAIL, PASS
from harness.conformance import ConformanceResult
from harness.runner import ScenarioRun

__all__ = ["render_matrix", "render_run_line", "render_verdicts"]

_SHOWN = {"pass": "pass", "fail": "FAIL", "unknown": "unknown", "not_promised": "not promised"}


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def render_run_line(run: ScenarioRun, promised: frozenset[str],
                    error_note: str | None = None) -> str:
    """One progress line per scenario: status, name, time, and the first failure.

    ``error_note`` replaces an errored run's reason (``ErrorLog.run_note``: the error in
    full the first time, then a pointer to it)."""
    if run.status == "not_applicable":
        return f"  n/a   {run.scenario.name}: not applicable ({'; '.join(run.reasons)})"
    failed = run.failed(promised)
    mark = "FAIL" if failed else {"aborted": "abort", "error": "ERROR"}.get(run.status, "ok")
    line = f"  {mark:5} {run.scenario.name:52} {run.seconds:5.1f} s"
    if failed:
        line += f"\n        {failed[0].clause}: {_clip(failed[0].sentence, 150)}"
    if run.status == "error" and error_note is not None:
        line += f"\n{error_note}"
    elif run.status in ("aborted", "error"):
        line += f"\n        {run.status}: {'; '.join(run.reasons)}"
    elif run.reasons:  # a run that went on without the faults the engine cannot do
        line += f"\n        {_clip('; '.join(run.reasons), 200)}"
    return line


def render_matrix(result: ConformanceResult, width: int | None = None) -> str:
    """The clause matrix: promised?, verdict, how many scenarios, one-sentence reason."""
    if width is None:  # a terminal gets one line per row; logs get every word
        tty = sys.stdout.isatty()
        width = max(110, shutil.get_terminal_size().columns) if tty else 10_000
    head = f"{'clause':6}  {'promised':8}  {'verdict':12}  {'scenarios':9}  reason"
    lines = [head, "-" * min(width, len(head) + 40)]
    for row in result.rows:
        promised = "xfail" if row.expected_failure else ("yes" if row.promised else "no")
        verdict = _SHOWN[row.verdict] + (" !" if row.is_failure else "")
        room = max(20, width - 44)
        lines.append(f"{row.clause:6}  {promised:8}  {verdict:12}  {len(row.scenarios):>9}  "
                     f"{_clip(row.reason, room)}")
    return "\n".join(lines)


def render_verdicts(run: ScenarioRun, promised: frozenset[str]) -> str:
    """Every clause's verdict on one run, with the witness lines of each failure."""
    lines = [f"scenario {run.scenario.name}: {run.status} in {run.seconds:.1f} s"]
    if run.reasons:
        lines.append(f"  ({'; '.join(run.reasons)})")
    for result in run.results:
        quiet = not result.exercised and result.verdict != FAIL
        shown = "-" if quiet else _SHOWN[result.verdict]
        if result.clause not in promised and result.verdict != PASS:
            shown += " (not promised)"
        lines.append(f"  {result.clause:3} {shown:22} {result.sentence}")
        for witness in result.witness if result.verdict == FAIL else ():
            lines.append(f"        | {witness}")
    return "\n".join(lines)
