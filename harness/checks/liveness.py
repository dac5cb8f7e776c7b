"""Checks of liveness and provenance: L1 (termination), L2 (one launch, one process), P1
(parent/child links, at every point of the history) and P2 (no invisible executions)."""

from __future__ import annotations

from collections import defaultdict

from harness.checks._facts import Facts, Verdict
from harness.checks._order import EngineOrder, descendants
from harness.checks.result import UNKNOWN, ClauseResult
from harness.history import History, Line
from scenarios.oracle.expectation import Expectation
from scenarios.scenario import Scenario

__all__ = ["check_l1", "check_l2", "check_p1", "check_p2"]


def _heal_line(f: Facts, process: str) -> Line | None:
    for line in reversed(f.history.of("op")):
        if line.get("op") == "heal_wait" and str(line.get("process")) == process:
            return line
    return None


def check_l1(scenario: Scenario, expectation: Expectation, history: History) -> ClauseResult:
    """L1: after faults stop, every launched process terminates within the heal bound."""
    f = Facts.of(scenario, expectation, history)
    v = Verdict("L1", f)
    outcome = history.of("outcome")
    for view in f.observation.processes:
        v.saw()
        if view.terminal:
            continue
        heal = _heal_line(f, view.id)
        reason = heal.get("reason") if heal is not None else None
        bound = heal.get("timeout") if heal is not None else None
        after = f" {bound} s after faults stopped" if bound is not None else " at the end"
        v.fail(f"process {view.id} ({view.path}) is still {view.state}{after}"
               + (f": {reason}" if reason else ""), heal, f.process_line(view.id))
    for line in outcome:
        for reason in line.get("stopped", ()):
            v.fail(f"the plan stopped early: {reason}", line)
    return v.result(f"all {v.checked} process(es) reached a terminal state",
                    "the engine reported no processes")


def check_l2(scenario: Scenario, expectation: Expectation, history: History) -> ClauseResult:
    """L2: one launch makes exactly one top-level process, with its own id."""
    f = Facts.of(scenario, expectation, history)
    v = Verdict("L2", f)
    tops: dict[str | None, list[str]] = defaultdict(list)
    for view in f.observation.processes:
        if view.parent is None:
            for path in view.paths or (None,):  # aliases: one process, several labels
                tops[path].append(view.id)
    for label, pid in f.launch_ids.items():
        v.saw()
        made = tops.get(label, [])
        if made != [pid]:
            v.fail(f"launch {label} returned process {pid} but the engine shows top-level "
                   f"process(es) {made or 'none'} for it", f.launch_lines[label],
                   *[f.process_line(i) for i in made[:3]])
    for path, ids in tops.items():
        if path not in f.launch_ids:
            v.fail(f"top-level process(es) {', '.join(ids)} ({path}) were made by no launch",
                   *[f.process_line(i) for i in ids[:3]])
    for relation in expectation.ids:
        a, b = f.launch_ids.get(relation.a), f.launch_ids.get(relation.b)
        if relation.same or a is None or b is None or relation.b in f.relaunch_of:
            continue
        if a == b:
            v.fail(f"launches {relation.a} and {relation.b} got the same process id {a}; "
                   f"{relation.reason}", f.launch_lines[relation.a], f.launch_lines[relation.b])
    return v.result(f"{v.checked} launch(es) made one process each")


def check_p1(scenario: Scenario, expectation: Expectation, history: History) -> ClauseResult:
    """P1: parent/child links agree both ways; no active child of a terminated parent,
    in the final view and at any earlier point (``_check_p1_order``)."""
    f = Facts.of(scenario, expectation, history)
    v = Verdict("P1", f)
    ordered = _check_p1_order(f, v)
    for view in f.observation.processes:
        v.saw()
        line = f.process_line(view.id)
        parent = f.observation.get(view.parent)
        if view.parent is not None and (parent is None or view.id not in parent.children):
            v.fail(f"process {view.id} ({view.path}) names parent {view.parent}, which does "
                   "not list it as a child", line, f.process_line(view.parent))
        for child_id in view.children:
            child = f.observation.get(child_id)
            if child is None or child.parent != view.id:
                v.fail(f"process {view.id} lists child {child_id}, which names parent "
                       f"{child.parent if child else 'nothing (it does not exist)'}",
                       line, f.process_line(child_id))
            elif view.terminal and not child.terminal:
                v.fail(f"process {view.id} ({view.path}) is {view.state} but its child "
                       f"{child.id} ({child.path}) is still {child.state}",
                       line, f.process_line(child.id))
    return v.result(f"links of {v.checked} process(es) are consistent; {ordered}")


def _check_p1_order(f: Facts, v: Verdict) -> str:
    """No descendant of a terminated process runs on, judged from ordered evidence.

    Engine events (where offered): once a process has its first terminal event, no
    descendant that was not yet terminal may afterwards be created, become running or
    waiting, or finish; it may only be killed or excepted (a bare claim is a delivery).
    Journal against sightings: no descendant begins a body after its ancestor was first
    seen terminal (unless the descendant itself was seen terminal first: N1 reports
    that). Without events, only the second applies; the returned phrase names the
    evidence used. A process a later launch revived (its id reused: ``Facts.revived``)
    is no terminated ancestor here: its children run for the later launch, and N1 and N2
    report the revival itself.
    """
    order = EngineOrder.of(f.history)
    judged = 0
    for pid in sorted(order.by_process):
        first = order.first_terminal(pid)
        if first is None or pid in f.revived:
            continue
        for child in sorted(descendants(f.observation, pid) - {pid}):
            own = order.first_terminal(child)
            if own is not None and own.index < first.index:
                continue
            judged += 1
            moved = [c for c in order.after(child, first.index) if c.runs]
            if moved:
                view, top = f.observation.get(child), f.observation.get(pid)
                v.fail(f"process {child} ({view.path if view else '?'}) kept running after "
                       f"its ancestor {pid} ({top.path if top else '?'}) was {first.state}: "
                       f"the engine then made it {moved[0].state}", first.line, moved[0].line)
    for pid, seen in sorted(f.terminal.items()):
        if pid in f.revived:
            continue
        for child in sorted(descendants(f.observation, pid) - {pid}):
            own = f.terminal.get(child)
            if own is not None and float(own["t"]) <= float(seen["t"]):
                continue
            later = [line for t, _, line in f.runs.get(child, ()) if t > float(seen["t"])]
            if later:
                v.fail(f"process {child} began {later[0]['key']} after its ancestor {pid} "
                       f"({seen.get('path')}) was seen {seen['state']}", seen, later[0])
    if not order.offered:
        return "descendants judged from the journal after first terminal sightings only"
    return f"{judged} descendant(s) of terminated processes judged from the engine's events"


def check_p2(scenario: Scenario, expectation: Expectation, history: History) -> ClauseResult:
    """P2: every process that executed a body (journal) is a process the engine reports.

    Evidence: the journal's ``begin``/``effect`` lines name the process a body ran in;
    the final view (``process`` lines) must hold each of them. Where the engine's events
    log claims, each process also needs as many claims as distinct (worker, engine
    attempt) pairs among its begins: an attempt the engine has no record of is an
    invisible execution too. Without a final view the clause is unknown.
    """
    f = Facts.of(scenario, expectation, history)
    v = Verdict("P2", f)
    executed: dict[str, list[Line]] = defaultdict(list)
    for line in (*history.of("begin"), *history.of("effect")):
        executed[str(line["process"])].append(line)
    if executed and not history.of("process"):
        return ClauseResult("P2", UNKNOWN, (), "the engine's final view is missing: the "
                            "journal's processes cannot be accounted for", True, scenario.name)
    order = EngineOrder.of(history)
    for pid, lines in sorted(executed.items()):
        v.saw()
        if f.observation.get(pid) is None:
            v.fail(f"{lines[0]['key']} ran in process {pid} (worker {lines[0].get('worker')}),"
                   " which the engine does not report", *lines[:2])
            continue
        attempts = {(line.get("worker"), line.get("engine_attempt")) for line in lines
                    if line.kind == "begin"}
        if order.claims_offered and len(attempts) > order.claims(pid):
            v.fail(f"process {pid} began bodies in {len(attempts)} attempt(s) (distinct "
                   f"worker and engine attempt) but the engine's events record "
                   f"{order.claims(pid)} claim(s) of it", *lines[:3])
    claims = "; attempts matched against the engine's claims" if order.claims_offered else ""
    return v.result(f"all {v.checked} process(es) that executed bodies are in the engine's "
                    f"view{claims}", "no body was executed")
