"""A scenario's timeline: effects, faults and state changes on one time axis, as SVG.

Lanes are processes (in order of first appearance). On them: each attempt's begin (a
tick), each effect (a bar from its start to its end, red when an injected fault made it
raise), the harness's launches (a diamond), the engine's own state changes (a dot) and
each process's terminal state as the harness first saw it (a ring). Faults that fired
are vertical red lines across all lanes. Times are ``time.monotonic()``; the engine's
events carry wall-clock times, aligned on the first launch's ``created`` event.

Idle stretches (a worker starting, a timeout running out) would squeeze everything else
into a sliver, so gaps longer than ``GAP_SHARE`` of the span are drawn at that width with
a break mark naming their real length. Styles are inline: the SVG stands on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from itertools import pairwise
from typing import Any

from harness.history import History, Line

__all__ = ["Mark", "Timeline", "build_timeline", "fault_name", "render_svg"]

WIDTH, LEFT, LANE, TOP = 1100, 330, 22, 26
LABEL_CHARS = 48
"""A lane label's characters that fit in ``LEFT`` at 11 px monospace; the full label is
its tooltip and is listed under the timeline."""
GAP_SHARE = 0.06
STATE_COLOURS = {"finished": "#2e7d32", "excepted": "#ef6c00", "killed": "#616161"}


@dataclass(frozen=True)
class Mark:
    """One thing on the timeline: ``kind`` in effect, begin, launch, event, terminal, fault."""

    kind: str
    lane: str | None
    t0: float
    t1: float
    label: str
    colour: str = "#1565c0"


@dataclass(frozen=True)
class Timeline:
    lanes: tuple[tuple[str, str], ...]  # (process id, description)
    marks: tuple[Mark, ...]
    start: float
    end: float
    aligned_events: bool
    gaps: tuple[tuple[float, float], ...] = ()  # idle stretches drawn shortened

    def position(self, t: float) -> float:
        """0..1 along the axis, with every gap shortened to ``GAP_SHARE`` of the span."""
        cap = (self.end - self.start) * GAP_SHARE
        skipped = sum(max(0.0, min(t, b) - a) - (min(cap, max(0.0, min(t, b) - a)))
                      for a, b in self.gaps)
        total = sum((b - a) - cap for a, b in self.gaps)
        return (t - self.start - skipped) / max(1e-9, self.end - self.start - total)


def _gaps(times: list[float], start: float, end: float) -> tuple[tuple[float, float], ...]:
    cap = (end - start) * GAP_SHARE
    ordered = sorted(set(times))
    return tuple((a, b) for a, b in pairwise(ordered) if b - a > cap)


def _effect(line: Line) -> Mark:
    raised = bool(line.get("raised"))
    label = (f"effect {line['key']} attempt {line.get('attempt')} in worker "
             f"{line.get('worker')}" + (" (raised an injected fault)" if raised else ""))
    return Mark("effect", str(line["process"]), float(line["t0"]), float(line["t1"]), label,
                "#c62828" if raised else "#1565c0")


def _fault(line: Line) -> Mark:
    where = line.get("crashpoint") or (f"entry {line['entry']}" if line.get("entry") else "")
    what = ", ".join(str(x) for x in (line.get("fault"), where, line.get("target"),
                                      line.get("key")) if x)
    lane = str(line["process"]) if line.get("process") is not None else None
    return Mark("fault", lane, float(line["t"]), float(line["t"]), f"fault {what}", "#d50000")


def _event_offset(history: History) -> float | None:
    """wall-clock minus monotonic, from the first launch's ``created`` event."""
    launches = [op for op in history.of("op") if op.get("op") in ("launch", "relaunch")]
    if not launches:
        return None
    first = launches[0]
    for event in history.of("event"):
        if str(event.get("process")) == str(first.get("process")) \
                and event.get("state") == "created" and event.get("at") is not None:
            return float(event["at"]) - float(first["t"])
    return None


def _marks(history: History) -> tuple[list[Mark], bool]:
    marks = [_effect(line) for line in history.of("effect")]
    marks += [Mark("begin", str(b["process"]), float(b["t"]), float(b["t"]),
                   f"begin {b['key']} (engine attempt {b.get('engine_attempt')})", "#90a4ae")
              for b in history.of("begin")]
    marks += [_fault(f) for f in history.of("fault") if f.get("status") == "fired"]
    marks += [Mark("launch", str(op["process"]), float(op["t"]), float(op["t"]),
                   f"{op['op']} {op.get('label')} as process {op['process']}", "#6a1b9a")
              for op in history.of("op")
              if op.get("op") in ("launch", "relaunch") and op.get("process") is not None]
    marks += [Mark("terminal", str(t["process"]), float(t["t"]), float(t["t"]),
                   f"seen {t['state']} (exit status {t.get('exit_status')})",
                   STATE_COLOURS.get(str(t["state"]), "#000"))
              for t in history.of("terminal")]
    offset = _event_offset(history)
    if offset is not None:
        marks += [Mark("event", str(e["process"]), float(e["at"]) - offset,
                       float(e["at"]) - offset, f"engine: {e['state']} ({e.get('worker')})",
                       "#00838f") for e in history.of("event") if e.get("at") is not None]
    return marks, offset is not None


def build_timeline(history: History) -> Timeline | None:
    """The timeline of one history; None when it has nothing timed."""
    marks, aligned = _marks(history)
    if not marks:
        return None
    names = {str(p["id"]): f"{p.get('path') or '?'} ({p.get('kind')}, {p.get('state')})"
             for p in history.of("process")}
    order: list[str] = []
    for mark in sorted(marks, key=lambda m: m.t0):
        if mark.lane is not None and mark.lane not in order:
            order.append(mark.lane)
    lanes = tuple((pid, names.get(pid, "")) for pid in order)
    start = min(m.t0 for m in marks)
    end = max(max(m.t1 for m in marks), start + 1e-3)
    times = [t for m in marks for t in (m.t0, m.t1)]
    return Timeline(lanes, tuple(marks), start, end, aligned, _gaps(times, start, end))


def fault_name(mark: Mark) -> str:
    """A fault's short visible name: ``kill`` for a worker SIGKILL, else its kind."""
    what = mark.label.removeprefix("fault ").split(",")[0].strip()
    return "kill" if "kill" in what else what or "fault"


def _x(timeline: Timeline, t: float) -> float:
    return LEFT + timeline.position(t) * (WIDTH - LEFT - 10)


def _shape(timeline: Timeline, mark: Mark, y: float, height: float) -> str:
    x0, x1 = _x(timeline, mark.t0), _x(timeline, mark.t1)
    ms = (mark.t0 - timeline.start) * 1000
    title = f"<title>{escape(mark.label)} at +{ms:.1f} ms</title>"
    if mark.kind == "effect":
        return (f'<rect class="effect" x="{x0:.1f}" y="{y + 4}" width="{max(3.0, x1 - x0):.1f}" '
                f'height="{LANE - 8}" fill="{mark.colour}">{title}</rect>')
    if mark.kind == "fault":  # named in plain sight under the axis, not only on hover
        return (f'<line class="fault" x1="{x0:.1f}" y1="{TOP - 6}" x2="{x0:.1f}" '
                f'y2="{TOP + height}" stroke="{mark.colour}" stroke-width="2">{title}</line>'
                f'<text class="faultlabel" x="{x0 + 2:.1f}" y="{TOP + height + 12}" '
                f'font-family="monospace" font-size="10" fill="{mark.colour}">'
                f"{escape(fault_name(mark))}{title}</text>")
    cy = y + LANE / 2
    if mark.kind == "launch":
        points = f"{x0:.1f},{cy - 6} {x0 + 6:.1f},{cy} {x0:.1f},{cy + 6} {x0 - 6:.1f},{cy}"
        return f'<polygon class="launch" points="{points}" fill="{mark.colour}">{title}</polygon>'
    radius, fill = {"begin": (2, mark.colour), "event": (3, mark.colour),
                    "terminal": (6, "none")}[mark.kind]
    return (f'<circle class="{mark.kind}" cx="{x0:.1f}" cy="{cy}" r="{radius}" fill="{fill}" '
            f'stroke="{mark.colour}" stroke-width="2">{title}</circle>')


def render_svg(timeline: Timeline) -> str:
    """The timeline as an inline SVG element (no scripts, no external resources)."""
    height = LANE * len(timeline.lanes)
    lane_y = {pid: TOP + i * LANE for i, (pid, _) in enumerate(timeline.lanes)}
    span_ms = (timeline.end - timeline.start) * 1000
    parts: list[Any] = [
        f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" '
        f'height="{TOP + height + 18}" viewBox="0 0 {WIDTH} {TOP + height + 18}">',
        f'<text x="{LEFT}" y="12" class="axis" font-family="monospace" font-size="11">0 ms'
        "</text>",
        f'<text x="{WIDTH - 10}" y="12" class="axis" text-anchor="end" font-family="monospace" '
        f'font-size="11">{span_ms:.0f} ms</text>']
    for pid, description in timeline.lanes:
        y = lane_y[pid]
        parts.append(f'<rect x="0" y="{y}" width="{WIDTH}" height="{LANE}" class="lane" '
                     'fill="none" stroke="#e0e0e0"/>')
        label = f"process {pid}: {description}"
        shown = label if len(label) <= LABEL_CHARS else label[:LABEL_CHARS - 1] + "\u2026"
        parts.append(f'<text x="4" y="{y + 15}" class="lanelabel" font-family="monospace" '
                     f'font-size="11" fill="#212121">{escape(shown)}'
                     f"<title>{escape(label)}</title></text>")
    for a, b in timeline.gaps:
        x = (_x(timeline, a) + _x(timeline, b)) / 2
        parts.append(f'<text x="{x:.1f}" y="{TOP - 8}" class="gap" text-anchor="middle" '
                     f'font-family="monospace" font-size="10" fill="#757575">'
                     f"//{(b - a) * 1000:.0f} ms</text>")
    for mark in sorted(timeline.marks, key=lambda m: (m.kind != "effect", m.t0)):
        y = lane_y.get(mark.lane or "", TOP)
        parts.append(_shape(timeline, mark, y, height))
    parts.append("</svg>")
    return "\n".join(parts)
