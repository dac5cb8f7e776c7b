"""Checks of the new-instance clauses N1..N4: terminated processes and relaunches."""

from __future__ import annotations

from harness.adapter import TERMINAL_STATES
from harness.checks._facts import Facts, Verdict, same_outputs
from harness.checks._order import ADVANCES, EngineOrder, descendants
from harness.checks.result import ClauseResult
from harness.history import History, Line
from scenarios.effects import is_calc_key
from scenarios.oracle.expectation import Expectation
from scenarios.scenario import Scenario

__all__ = ["check_n1", "check_n2", "check_n3", "check_n4"]


def _waited_terminal(f: Facts) -> dict[str, Line]:
    """Per process, the first ``wait``/``heal_wait`` op that returned a terminal state,
    for processes with no ``terminal`` sighting.

    Why: the sighting is taken by an ``observe()`` after the wait returned; an engine
    that flips a sealed process back to active in between (AiiDA with two executors,
    campaign seed 1717) leaves no sighting, and N1 would judge nothing although the
    engine itself told the harness the process had terminated. Such a line carries only
    the state, so only the state (and the process's existence) is compared later.
    """
    waited: dict[str, Line] = {}
    for line in f.history.of("op"):
        if line.get("op") not in ("wait", "heal_wait") or line.get("process") is None:
            continue
        pid = str(line["process"])
        if line.get("state") in TERMINAL_STATES and pid not in f.terminal \
                and pid not in waited:
            waited[pid] = line
    return waited


def _changed(f: Facts, terminal: Line) -> str | None:
    """How a process changed after it was first seen terminal, or None (a sighting from
    a wait line holds the state only: exit status and outputs are not compared)."""
    view = f.observation.get(str(terminal["process"]))
    if view is None:
        return "it disappeared from the engine"
    if view.state != terminal["state"]:
        return f"it became {view.state}"
    if terminal.kind != "terminal":
        return None
    if view.exit_status != terminal.get("exit_status"):
        return f"its exit status changed to {view.exit_status}"
    if not same_outputs(view.outputs, terminal.get("outputs")):
        return f"its outputs changed to {dict(view.outputs or {})!r}"
    return None


def check_n1(scenario: Scenario, expectation: Expectation, history: History) -> ClauseResult:
    """N1: a terminated (excepted, killed) process never runs again.

    Judged from two ordered streams (``harness.checks._order``): the engine's events,
    where offered (after a process's first terminal event, no active state and no other
    terminal state of it; a bare claim is a delivery, not a run), and the journal
    against the harness's first terminal sighting (no body begun after it, no change of
    state or outputs since); a wait that returned a terminal state counts as a
    sighting when no observation caught it (``_waited_terminal``). Without
    events, a re-run before the first sighting is invisible: the sentence says how many
    processes were judged from sightings only. Unknown when neither stream shows any
    terminated process.
    """
    f = Facts.of(scenario, expectation, history)
    v = Verdict("N1", f)
    order = EngineOrder.of(history)
    from_events = 0
    for pid in sorted(order.by_process):
        first = order.first_terminal(pid)
        if first is None:
            continue
        from_events += 1
        v.saw()
        again = [c for c in order.after(pid, first.index)
                 if c.state in ADVANCES and c.state != first.state]
        if again:
            view = f.observation.get(pid)
            v.fail(f"process {pid} ({view.path if view else '?'}) was {first.state}, then the "
                   f"engine made it {again[0].state} (worker {again[0].line.get('worker')})",
                   first.line, again[0].line)
    sightings_only = 0
    sightings = {**_waited_terminal(f), **f.terminal}
    for pid, terminal in sorted(sightings.items()):
        if order.first_terminal(pid) is None:
            sightings_only += 1
            v.saw()
        state, where = terminal["state"], terminal.get("path") or terminal.get("label")
        later = [line for line in f.by_process.get(pid, [])
                 if float(line["t0"]) > float(terminal["t"])]
        if later:
            v.fail(f"process {pid} ({where}) was {state}, then ran "
                   f"{later[0]['key']} in worker {later[0]['worker']}", terminal, later[0])
        change = _changed(f, terminal)
        if change is not None:
            v.fail(f"process {pid} ({where}) was {state}, then {change}",
                   terminal, f.process_line(pid))
    evidence = (f"{from_events} from the engine's ordered events"
                + (f", {sightings_only} from first terminal sightings only (a re-run before "
                   "the sighting would be invisible)" if sightings_only else ""))
    terminated = set(sightings) | {p for p in order.by_process if order.first_terminal(p)}
    return v.result(f"{len(terminated)} terminated process(es) never ran or changed again "
                    f"({evidence})", "no process was seen terminal and the engine logged no "
                    "terminal event: nothing to judge N1 from")


def check_n2(scenario: Scenario, expectation: Expectation, history: History) -> ClauseResult:
    """N2: a relaunch makes a new id; the old process is left as it was."""
    f = Facts.of(scenario, expectation, history)
    v = Verdict("N2", f)
    for label, origin in sorted(f.relaunch_of.items()):
        new, old = f.launch_ids.get(label), f.launch_ids.get(origin)
        if new is None or old is None:
            continue
        v.saw()
        op, old_op = f.launch_lines[label], f.launch_lines[origin]
        if new == old:
            v.fail(f"relaunch {label} of {origin} reused process id {old} instead of making a "
                   "new instance", old_op, op)
            continue
        view = f.observation.get(new)
        if view is not None and view.restart_of not in (None, old):
            v.fail(f"relaunch {label} (process {new}) names restart_of {view.restart_of}, "
                   f"not {old}", op, f.process_line(new))
        terminal = f.terminal.get(old)
        change = _changed(f, terminal) if terminal is not None else None
        if terminal is not None and change is not None:
            v.fail(f"relaunching {origin} as {label} touched the old process {old}: {change}",
                   terminal, op, f.process_line(old))
    return v.result(f"{v.checked} relaunch(es) made a new id and left the old process as "
                    "it was")


def check_n3(scenario: Scenario, expectation: Expectation, history: History) -> ClauseResult:
    """N3: a new instance starts from the first step (every effect runs again uncached)."""
    f = Facts.of(scenario, expectation, history)
    v = Verdict("N3", f)
    for label in sorted(f.relaunch_of):
        new = f.launch_ids.get(label)
        if new is None or not f.decided(label):
            continue
        v.saw()
        family = descendants(f.observation, new)
        for key, lines in f.by_key.items():
            foreign = [line for line in lines if f.launch_of(key) == label
                       and str(line["process"]) not in family]
            if foreign:
                v.fail(f"effect {key} of new instance {label} ran in process "
                       f"{foreign[0]['process']}, which is not process {new} or its children",
                       f.launch_lines[label], foreign[0])
    for issue in f.count_issues():
        if not issue.over and f.launch_of(issue.key) in f.relaunch_of \
                and not f.cached_away(issue.key):
            v.fail(f"{issue.describe()}: new instance {f.launch_of(issue.key)} must start from "
                   "the first step and run every effect again",
                   f.launch_lines.get(f.launch_of(issue.key)), *issue.lines[:2])
    return v.result(f"{v.checked} new instance(s) started from the first step")


def check_n4(scenario: Scenario, expectation: Expectation, history: History) -> ClauseResult:
    """N4: with caching on, a new instance's equal calculations hit; its steps still run."""
    f = Facts.of(scenario, expectation, history)
    v = Verdict("N4", f)
    for path, cache in sorted(expectation.cache.items()):
        views = f.views_at(path)
        if f.launch_of(path) not in f.relaunch_of or cache.hit is not True or not views:
            continue
        v.saw()
        if not any(view.is_hit for view in views):
            v.fail(f"{path} in new instance {f.launch_of(path)} executed (process "
                   f"{views[0].id}) instead of hitting {', '.join(cache.sources)}",
                   f.process_line(views[0].id), *f.executed(views[0])[:1])
    for issue in f.count_issues():
        config = f.config.get(f.launch_of(issue.key))
        caching = config is not None and (config.default or bool(config.enabled))
        if caching and not issue.over and not is_calc_key(issue.key) \
                and f.launch_of(issue.key) in f.relaunch_of:
            v.fail(f"{issue.describe()}: workflow steps of a new instance run even when "
                   "its calculations are cache hits", f.launch_lines.get(f.launch_of(issue.key)))
    return v.result(f"{v.checked} calculation(s) of new instances hit the cache as expected",
                    "no new instance had a calculation that must hit")
