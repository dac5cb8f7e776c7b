"""Checks of the continue clauses C1..C6: an active process whose worker dies."""

from __future__ import annotations

from collections import defaultdict

from harness.checks._facts import Facts, Verdict, same_outputs
from harness.checks.result import ClauseResult
from harness.history import History, Line
from scenarios.effects import is_calc_key
from scenarios.oracle.expectation import Expectation
from scenarios.scenario import Scenario

__all__ = ["check_c1", "check_c2", "check_c3", "check_c4", "check_c5", "check_c6"]


def check_c1(scenario: Scenario, expectation: Expectation, history: History) -> ClauseResult:
    """C1: a continued process keeps its id and reaches a terminal state."""
    f = Facts.of(scenario, expectation, history)
    v = Verdict("C1", f)
    continuing = {r.a for r in expectation.ids if r.same and r.a == r.b}
    for label, launch in expectation.launches.items():
        pid = f.launch_ids.get(label)
        if pid is None or not (launch.worker_kills or label in continuing):
            continue
        op, view = f.launch_lines[label], f.observation.get(pid)
        v.saw()
        if view is None:
            v.fail(f"process {pid} of launch {label} is gone from the engine after a kill", op)
            continue
        if not view.terminal:
            v.fail(f"process {pid} of launch {label} is still {view.state} after its worker "
                   "died and workers ran again", op, f.process_line(pid))
        others = [p for p in f.views_at(label) if p.id != pid and p.parent is None]
        if others:
            v.fail(f"launch {label} continued as a new process {others[0].id} instead of "
                   f"keeping id {pid}", op, f.process_line(others[0].id))
    for path in sorted(continuing - set(expectation.launches)):
        views = f.views_at(path)
        if not views or f.launch_of(path) not in f.launch_ids:
            continue
        v.saw()
        # an engine with a new id per attempt names the earlier attempt (``attempt_of``):
        # the attempts of one process are one identity, and its latest attempt must end
        identities = dict.fromkeys(f.observation.identity(p) for p in views)
        superseded = {p.attempt_of for p in views}
        latest = [p for p in views if p.id not in superseded]
        if len(identities) > 1:
            v.fail(f"{path} continued as {len(identities)} processes "
                   f"({', '.join(identities)}), not one", *map(
                       f.process_line, [p.id for p in views]))
        elif not all(p.terminal for p in latest):
            stuck = next(p for p in latest if not p.terminal)
            v.fail(f"{path} (process {stuck.id}) is still {stuck.state} after a kill",
                   f.process_line(stuck.id))
    return v.result(f"{v.checked} process(es) continued after worker kills kept their id "
                    "and terminated")


def _hit_expected(expectation: Expectation, key: str) -> bool:
    cache = expectation.cache.get(key)
    return cache is not None and cache.hit is True


def check_c2(scenario: Scenario, expectation: Expectation, history: History) -> ClauseResult:
    """C2: an effect completed before the last checkpoint is not executed again."""
    f = Facts.of(scenario, expectation, history)
    v = Verdict("C2", f)
    v.saw(sum(1 for key in expectation.effects if f.launch_of(key) in f.launch_ids))
    for issue in f.count_issues():
        if not issue.over or _hit_expected(expectation, issue.key):
            continue
        if not f.interruptions(issue.key):
            v.fail(f"{issue.describe()}: it was executed again although no kill interrupted "
                   "it", *issue.lines[:4])
        elif f.loose(issue.key):
            v.excused_loosely(issue.key)
    _check_step_order(f, v)
    return v.result(f"no effect ran again after completing ({v.checked} effect keys), and "
                    "no step ran again once its process began the next one")


def _check_step_order(f: Facts, v: Verdict) -> None:
    """C2's order half: once a process began step k+1, step k never runs again.

    Evidence: the journal's begins per process, in time order (one clock). A later step
    begins only after the checkpoint of the earlier one is committed, so an earlier key
    that begins again after it ran from an older checkpoint, whatever the counts say.
    Loop iterations and branches have keys of their own, so only a true re-run matches.
    Excused (on a loose bound) only for the very run a service fault could have
    redelivered to a second worker from a stale checkpoint (``Facts.service_runs``).
    """
    for pid, runs in sorted(f.runs.items()):
        first: dict[str, tuple[float, Line]] = {}
        for index, (t, key, line) in enumerate(runs):
            if is_calc_key(key):
                continue
            if key not in first:
                first[key] = (t, line)
                continue
            began = [(k, at_line) for k, (at, at_line) in first.items()
                     if k != key and first[key][0] < at < t]
            if not began:
                continue
            if (pid, index) in f.service_runs:
                v.excused_loosely(key)
                continue
            later, later_line = began[0]
            v.fail(f"step {key} ran again in process {pid} (worker {line.get('worker')}) "
                   f"after the process had begun the next step {later}: it resumed from an "
                   "older checkpoint", first[key][1], later_line, line)


def check_c3(scenario: Scenario, expectation: Expectation, history: History) -> ClauseResult:
    """C3: the effect in flight at a kill executes at most (kills during it + 1) times."""
    f = Facts.of(scenario, expectation, history)
    v = Verdict("C3", f)
    keys = set(f.kills_by_key) | set(f.service_by_key)
    for key in sorted(keys):
        cuts, lines = f.interruptions(key), f.by_key.get(key, [])
        v.saw()
        if len(lines) > len(cuts) + 1:
            v.fail(f"{key} ran {len(lines)} times with {len(cuts)} kill(s) or service "
                   f"fault(s) during it; at most {len(cuts) + 1} allowed", *cuts[:2],
                   *lines[:3])
        elif len(lines) > len(f.kills_by_key.get(key, ())) + 1:
            v.excused_loosely(key)
    for issue in f.count_issues():
        slack = len(f.service_by_key.get(issue.key, ()))
        if issue.over and f.interruptions(issue.key) and \
                issue.count > (issue.bound.max or 0) + slack:
            v.fail(f"{issue.describe()}, with {len(f.interruptions(issue.key))} kill(s) or "
                   "service fault(s) during it", *f.interruptions(issue.key)[:2],
                   *issue.lines[:3])
        elif issue.over and slack and issue.count > (issue.bound.max or 0):
            v.excused_loosely(issue.key)
    between = len(f.engine_crashes)
    v.saw(between)  # a kill between effects: nothing in flight, no effect may repeat
    return v.result(f"every effect in flight at a kill ran at most kills + 1 times "
                    f"({v.checked - between} kill(s) during an effect, {between} between "
                    "effects)", "no kill landed")


def check_c4(scenario: Scenario, expectation: Expectation, history: History) -> ClauseResult:
    """C4: final states and outputs equal those of the fault-free run."""
    f = Facts.of(scenario, expectation, history)
    v = Verdict("C4", f)
    for label, launch in expectation.launches.items():
        view = f.observation.get(f.launch_ids.get(label))
        if not f.decided(label) or view is None or not view.terminal or label in f.reused_by:
            continue
        line, why = f.process_line(view.id), f" ({launch.reason})" if launch.reason else ""
        v.saw()
        if view.state not in launch.states:
            v.fail(f"launch {label} (process {view.id}) ended {view.state}; the model "
                   f"allows {', '.join(sorted(launch.states))}{why}", line)
        elif view.state == "finished" and launch.exit_status is not None \
                and view.exit_status != launch.exit_status:
            v.fail(f"launch {label} (process {view.id}) finished with exit status "
                   f"{view.exit_status}, expected {launch.exit_status}{why}", line)
        elif view.state == "finished" and launch.outputs is not None \
                and not same_outputs(view.outputs, launch.outputs):
            v.fail(f"launch {label} (process {view.id}) returned {dict(view.outputs or {})!r}"
                   f", the fault-free run returns {dict(launch.outputs)!r}", line)
    for issue in f.count_issues():
        if not issue.over and f.launch_of(issue.key) not in f.relaunch_of \
                and not f.cached_away(issue.key):
            v.fail(f"{issue.describe()}: an effect of the fault-free run is missing",
                   f.launch_lines.get(f.launch_of(issue.key)))
    return v.result(f"{v.checked} launch(es) ended with the fault-free run's state and "
                    "outputs", "no launch's outcome was predictable")


def check_c5(scenario: Scenario, expectation: Expectation, history: History) -> ClauseResult:
    """C5: no two workers run one process at once.

    Judged from two kinds of evidence: overlapping effects in the journal, and, when the
    adapter offers it, the engine's own record of claims and commits (``ownership``
    lines). The record is what catches a stale commit: a worker whose task was taken
    over (its lease ran out, or its task was delivered twice) commits after the new
    holder claimed, and nothing overlaps in the journal.
    """
    f = Facts.of(scenario, expectation, history)
    v = Verdict("C5", f)
    for pid, lines in sorted(f.by_process.items()):
        v.saw()
        ordered = sorted(lines, key=lambda line: float(line["t0"]))
        latest = ordered[0]
        for line in ordered[1:]:
            if float(line["t0"]) < float(latest["t1"]) and line["worker"] != latest["worker"]:
                overlap = float(latest["t1"]) - float(line["t0"])
                v.fail(f"process {pid} ran {latest['key']} in worker {latest['worker']} and "
                       f"{line['key']} in worker {line['worker']} at the same time "
                       f"({overlap * 1000:.1f} ms overlap)", latest, line)
            if float(line["t1"]) > float(latest["t1"]):
                latest = line
    journal = f"no overlapping effects in {len(f.by_process)} process(es)"
    if not history.meta.get("ownership"):
        return v.result(f"{journal}; judged from the journal only: the engine offers no "
                        "record of claims and commits, so a stale commit is not seen")
    claims, commits = _judge_ownership(history, v)
    return v.result(f"{journal}, and the engine's record shows every one of {commits} "
                    f"accepted commit(s) coming from the latest of {claims} claim(s)")


def _judge_ownership(history: History, v: Verdict) -> tuple[int, int]:
    """C5 from the engine's record: an accepted commit must come from the latest claim
    of its process (same owner, and same version where the engine keeps versions), and
    one claim advances the process at most once. Returns (claims, accepted commits)."""
    by_process: dict[str, list[Line]] = defaultdict(list)
    for line in history.of("ownership"):
        by_process[str(line["process"])].append(line)
    claims = commits = 0
    for pid, lines in sorted(by_process.items()):
        latest: Line | None = None
        own: dict[str, Line] = {}  # owner -> its latest claim
        used: dict[int, Line] = {}  # id(claim line) -> the commit it already made
        for line in lines:
            if line["action"] == "claim":
                claims += 1
                latest = own[str(line["owner"])] = line
                continue
            if not line.get("accepted") or latest is None:
                continue
            commits += 1
            v.saw()
            owner, version = str(line["owner"]), line.get("version")
            stale = latest["owner"] != owner or (
                version is not None and latest.get("version") is not None
                and latest["version"] != version)
            if stale:
                taker = f"{latest['owner']} claimed it{_at(latest.get('version'))}"
                v.fail(f"process {pid}: the engine accepted {owner}'s commit{_at(version)} "
                       f"after {taker}: a worker whose task was taken over advanced it",
                       own.get(owner), latest, line)
            elif id(latest) in used:
                v.fail(f"process {pid}: {owner} advanced it twice from one claim"
                       f"{_at(version)}", latest, used[id(latest)], line)
            else:
                used[id(latest)] = line
    return claims, commits


def _at(version: object) -> str:
    return "" if version is None else f" at version {version}"


def check_c6(scenario: Scenario, expectation: Expectation, history: History) -> ClauseResult:
    """C6: children launched before the last checkpoint are awaited, not launched again."""
    f = Facts.of(scenario, expectation, history)
    v = Verdict("C6", f)
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for view in f.observation.processes:  # attempts of one process count once (attempt_of)
        identity = f.observation.identity(view)
        if view.parent is not None and view.path is not None \
                and identity not in groups[(view.parent, view.path)]:
            groups[(view.parent, view.path)].append(identity)
    for (parent, path), ids in sorted(groups.items()):
        step = path.rpartition("/")[0] if is_calc_key(path) else path
        bound = expectation.bound(step)
        if bound is None:
            continue
        v.saw()
        allowed = max(1, bound.max) if bound.max is not None else len(ids)
        if len(ids) > allowed:
            v.fail(f"process {parent} launched {path} {len(ids)} times (processes "
                   f"{', '.join(ids)}); its step {step} ran at most {allowed} time(s), so "
                   "children were launched again instead of awaited",
                   *[f.process_line(i) for i in ids[:4]])
    return v.result(f"every child was launched once per step execution ({v.checked} "
                    "child place(s))")
