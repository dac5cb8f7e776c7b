"""Checks of liveness and provenance: L1 (termination), L2 (one launch, one process), P1."""

from __future__ import annotations

from collections import defaultdict

from harness.checks._facts import Facts, Verdict
from harness.checks.result import ClauseResult
from harness.history import History, Line
from scenarios.oracle.expectation import Expectation
from scenarios.scenario import Scenario

__all__ = ["check_l1", "check_l2", "check_p1"]


def _heal_line(f: Facts, process: str) -> Line | None:
    for line in reversed(f.history.of("op")):
        if line.get("op") == "heal_wait" and str(line.get("process")) == process:
            return line
    return None


def check_l1(scenario: Scenario, expectation: Expectation, history: History) -> ClauseResult:
    """L1: after faults stop, every launched process terminates within the heal bound."""
    f = Facts(scenario, expectation, history)
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
    f = Facts(scenario, expectation, history)
    v = Verdict("L2", f)
    tops: dict[str | None, list[str]] = defaultdict(list)
    for view in f.observation.processes:
        if view.parent is None:
            tops[view.path].append(view.id)
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
    """P1: parent/child links agree both ways; no active child of a terminated parent."""
    f = Facts(scenario, expectation, history)
    v = Verdict("P1", f)
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
    return v.result(f"links of {v.checked} process(es) are consistent")
