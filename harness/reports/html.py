"""``report.html``: one self-contained page (inline CSS and SVG, no script, no link).

The matrix first, then one section per scenario run: status, failed clauses with their
witness lines, the scenario as a short program, and its timeline (``timeline.py``)
followed by the timed history lines as a table, for when a mark is too small to hover.
"""

from __future__ import annotations

from html import escape

from harness.history import History
from harness.reports.model import Report, xml_safe
from harness.reports.timeline import Timeline, build_timeline, render_svg
from harness.results import RunRecord

__all__ = ["render_html"]

CSS = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #212121; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 2px 8px; text-align: left; vertical-align: top; }
td.pass { background: #e8f5e9; } td.fail { background: #ffebee; font-weight: bold; }
td.unknown { background: #fff8e1; } td.not_promised { color: #757575; }
section.scenario { border-top: 2px solid #90a4ae; margin-top: 1.5em; }
pre { background: #f5f5f5; padding: 6px; overflow-x: auto; font-size: 12px; }
svg.timeline { border: 1px solid #ddd; background: #fff; }
svg .lane { fill: none; stroke: #eee; } svg .lanelabel, svg .axis { font: 11px monospace; }
.legend span { margin-right: 1.2em; }
"""
LEGEND = ('<p class="legend"><span style="color:#1565c0">&#9632; effect</span>'
          '<span style="color:#c62828">&#9632; effect that raised</span>'
          '<span style="color:#90a4ae">&#9679; attempt begins</span>'
          '<span style="color:#6a1b9a">&#9670; launch</span>'
          '<span style="color:#00838f">&#9679; engine state change</span>'
          '<span style="color:#2e7d32">&#9675; terminal state seen</span>'
          '<span style="color:#d50000">| fault fired, named under the axis (kill: a worker '
          'SIGKILLed)</span> (hover a mark for details)</p>')


def _e(text: object) -> str:
    return escape(xml_safe(str(text)))


def _matrix(report: Report) -> list[str]:
    rows = ["<table><tr><th>clause</th><th>promised</th><th>verdict</th><th>scenarios</th>"
            "<th>reason</th></tr>"]
    for row in report.rows:
        promised = "xfail" if row.expected_failure else ("yes" if row.promised else "no")
        verdict = row.verdict.replace("_", " ") + (" !" if row.is_failure else "")
        rows.append(f'<tr><td>{row.clause}</td><td>{promised}</td><td class="{row.verdict}">'
                    f"{_e(verdict)}</td><td>{len(row.scenarios)}</td><td>{_e(row.reason)}"
                    "</td></tr>")
    rows.append("</table>")
    return rows


def _program(run: RunRecord) -> str:
    if run.scenario is None:
        return ""
    from scenarios.describe import describe
    from scenarios.errors import ScenarioError
    from scenarios.scenario import Scenario

    try:
        text = describe(Scenario.from_dict(run.scenario, validate=False))
    except ScenarioError:
        return ""
    return f"<details><summary>scenario</summary><pre>{_e(text)}</pre></details>"


def _history_table(history: History, start: float) -> str:
    rows = ['<details><summary>history lines</summary><table><tr><th>+ms</th><th>kind</th>'
            "<th>line</th></tr>"]
    for line in history.lines:
        t = line.get("t", line.get("t0"))
        when = f"{(float(t) - start) * 1000:.1f}" if t is not None else ""
        rows.append(f"<tr><td>{when}</td><td>{_e(line.kind)}</td><td><code>{_e(line.text)}"
                    "</code></td></tr>")
    rows.append("</table></details>")
    return "\n".join(rows)


def _lane_key(timeline: Timeline) -> str:
    """Every lane's full label (the SVG has room for a short one only)."""
    items = "".join(f"<li>process {_e(pid)}: {_e(text)}</li>" for pid, text in timeline.lanes)
    return f'<ol class="lanes">{items}</ol>'


def _scenario(report: Report, run: RunRecord) -> list[str]:
    failed = run.failed(report.promised)
    status = "FAIL" if failed else run.status
    parts = [f'<section class="scenario" id="{_e(run.name)}"><h3>{_e(run.name)}: '
             f"{_e(status)}</h3>",
             f"<p>source {_e(run.source)}, {run.seconds:.2f} s"
             + (f"; {_e('; '.join(run.reasons))}" if run.reasons else "") + "</p>"]
    path = report.scenario_file(run)
    if failed and path is not None:
        parts.append(f"<p>replay: <code>wfconform replay {_e(path)}</code></p>")
    for result in failed:
        parts.append(f"<p><b>{result.clause}</b>: {_e(result.sentence)}</p>")
        parts.append("<pre>" + "\n".join(_e(w) for w in result.witness) + "</pre>")
    parts.append(_program(run))
    history = report.history(run)
    timeline = build_timeline(history) if history is not None else None
    if history is None or timeline is None:
        parts.append("<p><i>no history recorded for this run (fuzz keeps the histories of "
                     "failing runs and of its first passing ones only)</i></p>")
    else:
        parts.append(render_svg(timeline))
        parts.append(_lane_key(timeline))
        if not timeline.aligned_events:
            parts.append("<p><i>engine events could not be aligned with the harness clock"
                         "</i></p>")
        parts.append(_history_table(history, timeline.start))
    parts.append("</section>")
    return parts


def render_html(report: Report) -> str:
    body = [f"<h1>{_e(report.title)}</h1>", f"<p>{_e(report.summary())}</p>",
            "<h2>Conformance matrix</h2>", *_matrix(report), "<h2>Scenarios</h2>", LEGEND,
            "<ul>"]
    body += [f'<li><a href="#{_e(run.name)}">{_e(run.name)}</a> ({_e(run.status)}'
             + (", FAIL" if run.failed(report.promised) else "") + ")</li>"
             for run in report.runs]
    body.append("</ul>")
    for run in report.runs:
        body += _scenario(report, run)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{_e(report.title)}</title><style>{CSS}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")
