"""Facts the checks share, derived once from (scenario, expectation, history).

Everything here is a pure function of its inputs; ``Verdict`` turns a check's findings
into a ``ClauseResult`` by the common rules (a violation fails, exercised-and-checked
passes, exercised-but-undecidable is unknown, not exercised carries no weight).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from harness.adapter import ProcessView
from harness.checks.result import FAIL, PASS, UNKNOWN, ClauseResult
from harness.history import History, Line
from scenarios.effects import is_calc_key
from scenarios.oracle.expectation import EffectBound, Expectation
from scenarios.plan import Launch, Relaunch, SetCaching
from scenarios.scenario import Scenario
from scenarios.values import values_equal

__all__ = ["BROKER_TIMEOUT_FAULTS", "CountIssue", "Facts", "Verdict", "same_outputs"]

KILL_FAULTS = frozenset({"kill_at_crashpoint", "kill_on_effect"})
# A lease expiry or duplicate delivery at entry k hands that body's task to another
# worker while it lives: like a kill during it, its effect may run once more.
REDELIVERY_FAULTS = frozenset({"expire_lease", "duplicate_delivery"})
# A broker or database restart, or a cut connection, interrupts all work in flight at
# once (its lease or delivery may be given to another worker), not one effect key.
# A pause or partition of a service spans its whole outage (t0 to t) the same way.
# A consumer timeout the broker fired (RabbitMQ closed a channel whose delivery stayed
# unacked too long; the adapter logs each one it finds in the broker's log): the tasks on
# that channel go to another worker while the first runs on, so from then on a process
# may have two executors. Only fired ones count: a configured timeout that never fires
# excuses nothing.
BROKER_TIMEOUT_FAULTS = frozenset({"consumer_timeout"})
SERVICE_FAULTS = frozenset({"restart_broker", "restart_database", "drop_connection",
                            "pause_service", "partition_service"}) | BROKER_TIMEOUT_FAULTS
MAX_WITNESS = 6


def same_outputs(left: Any, right: Any) -> bool:
    """Typed equality of two output maps (``1 != 1.0``, NaN equals NaN, order-free).

    One object is equal to itself without a walk: an adapter hands out the same view
    (and outputs) until the process changes, so in a correct run nearly every pair the
    checks compare is one object, and two canonical texts of it cost a quarter of the
    checks."""
    if left is right:
        return True
    if left is None or right is None:
        return False
    return values_equal(dict(left), dict(right))


@dataclass(frozen=True)
class CountIssue:
    """An effect key executed outside its expected bound."""

    key: str
    count: int
    bound: EffectBound
    lines: tuple[Line, ...]

    @property
    def over(self) -> bool:
        return self.bound.max is not None and self.count > self.bound.max

    def describe(self) -> str:
        kind = "calculation" if is_calc_key(self.key) else "step"
        allowed = (f"exactly {self.bound.min}" if self.bound.exact else
                   f"{self.bound.min}..{'any' if self.bound.max is None else self.bound.max}")
        why = f" ({self.bound.reason})" if self.bound.reason else ""
        processes = sorted({str(line["process"]) for line in self.lines})
        where = f" in process {', '.join(processes)}" if processes else ""
        return f"{kind} {self.key} ran {self.count} times{where}; allowed {allowed}{why}"


def _refused_commits(history: History) -> list[tuple[str, Line]]:
    """The executions whose checkpoint commit an armed ``FailCommit`` refused, as
    interruptions of their key (the oracle's model: a kill after the effect, before the
    checkpoint). The fault log holds only the armed line, since the refusal happens inside
    the engine's commit; the execution it cut is the effect of that target's attempt. Each
    is given that effect's worker and end time, so checks that ask "which attempt did the
    cut end" (K1) read it like a fired kill."""
    armed = [line for line in history.of("fault")
             if line.get("fault") == "fail_commit" and line.get("status") == "armed"]
    cuts = []
    for fault in armed:
        for effect in history.of("effect"):
            if effect.get("target") == fault.get("target") \
                    and effect.get("attempt") == fault.get("attempt"):
                data = {**fault.data, "status": "fired", "key": effect["key"],
                        "worker": effect.get("worker"), "t": effect.get("t1")}
                cuts.append((str(effect["key"]), Line("fault", data, fault.text)))
    return cuts


class Facts:
    """Indexes over one history, in the terms the clauses speak.

    Built once per run: ``Facts.of`` hands every check of one ``run_checks`` the same
    instance (the checks only read it). Building it per check was a third of a sim run.
    """

    _last: tuple[Scenario, Expectation, History, Facts] | None = None

    @classmethod
    def of(cls, scenario: Scenario, expectation: Expectation, history: History) -> Facts:
        """The facts of these three objects, reused while the same three are asked for."""
        last = cls._last
        if (last is not None and last[0] is scenario and last[1] is expectation
                and last[2] is history):
            return last[3]
        facts = cls(scenario, expectation, history)
        cls._last = (scenario, expectation, history, facts)
        return facts

    def __init__(self, scenario: Scenario, expectation: Expectation, history: History):
        self.scenario = scenario
        self.expectation = expectation
        self.history = history
        self.observation = history.observation()
        self.by_key: dict[str, list[Line]] = defaultdict(list)
        self.by_process: dict[str, list[Line]] = defaultdict(list)
        for line in history.of("effect"):
            self.by_key[line["key"]].append(line)
            self.by_process[str(line["process"])].append(line)
        self.kills_by_key: dict[str, list[Line]] = defaultdict(list)
        for line in history.of("fault"):
            if line.get("fault") in KILL_FAULTS | REDELIVERY_FAULTS \
                    and line.get("status") == "fired" \
                    and line.get("key"):
                self.kills_by_key[line["key"]].append(line)
        for key, cut in _refused_commits(history):
            self.kills_by_key[key].append(cut)
        self.service_faults = _distinct_timeouts(
            [line for line in history.of("fault")
             if line.get("fault") in SERVICE_FAULTS and line.get("status") == "fired"])
        self.engine_crashes = [line for line in history.of("event")
                               if str(line.get("state", "")).startswith("crash:")]
        self.launch_lines = {line["label"]: line for line in history.of("op")
                             if line.get("op") in ("launch", "relaunch")}
        self.launch_ids = {label: str(line["process"]) for label, line in
                           self.launch_lines.items() if line.get("process") is not None}
        self.terminal = {str(line["process"]): line for line in history.of("terminal")}
        # a launch whose process a later launch took over (an engine that relaunches by
        # retrying the same run, so one id has two labels): its final view is the later
        # launch's; N2 reports the reuse once, the others do not judge the earlier label
        labels = list(self.launch_ids.items())
        self.reused_by = {label: later for i, (label, pid) in enumerate(labels)
                          for later, other in labels[i + 1:] if other == pid}
        self.revived = {self.launch_ids[label] for label in self.reused_by}
        self.relaunch_of = {op.label: op.of for op in scenario.launches
                            if isinstance(op, Relaunch)}
        self.config: dict[str, SetCaching | None] = {}
        current: SetCaching | None = None
        for op in scenario.launches:
            if isinstance(op, SetCaching):
                current = op
            elif isinstance(op, (Launch, Relaunch)):
                self.config[op.label] = current
        self.runs = _runs_by_process(history)
        self.service_runs: set[tuple[str, int]] = set()  # (process, index in its runs)
        self.service_by_key = self._service_touches()
        self._count_issues: tuple[CountIssue, ...] | None = None

    # ------------------------------------------------------------------ lookups
    def interruptions(self, key: str) -> list[Line]:
        """Faults that may have cut an execution of ``key``: kills that landed on it, and
        the fired service faults that could have touched it (``_service_touches``)."""
        return [*self.kills_by_key.get(key, []), *self.service_by_key.get(key, [])]

    def _service_touches(self) -> dict[str, list[Line]]:
        """Per effect key, the fired service faults that could have cut or repeated it.

        Why scoped: a broker or database restart, or a cut connection, makes the engine
        redeliver the tasks held at that moment, not every task of the scenario. A fault
        spans from the end of the journal entry that triggered it (its ``key``; the
        gate holds the body there) to its ``fired`` line (written when the restart
        returned). For each process not yet seen terminal at the start, it may touch: the
        last body begun before the start (in flight, or done but not yet checkpointed),
        every body begun during the fault, and the first body begun after it (the
        redelivered task). Anything else ran under checkpoints the fault could not undo.
        A fired consumer timeout (``BROKER_TIMEOUT_FAULTS``) has no triggering entry and
        leaves two executors that both run on, the stale one from memory and the new one
        from the checkpoint: every body such a process begins after it may be a repeat.
        """
        touched: dict[str, list[Line]] = defaultdict(list)
        for fault in self.service_faults:
            end = float(fault["t"])
            ends = [float(line["t1"]) for line in self.by_key.get(str(fault.get("key")), ())
                    if float(line["t1"]) <= end]
            start = max(ends, default=end)
            for pid, runs in self.runs.items():
                seen = self.terminal.get(pid)
                if seen is not None and float(seen["t"]) < start:
                    continue
                before = [i for i, (t, _, _) in enumerate(runs) if t <= start][-1:]
                during = [i for i, (t, _, _) in enumerate(runs) if start < t <= end]
                after = [i for i, (t, _, _) in enumerate(runs) if t > end]
                if fault.get("fault") in BROKER_TIMEOUT_FAULTS:
                    if not self._launched_by(runs[0][1], end):
                        continue  # its task was delivered after the channel closed
                else:
                    after = after[:1]
                indexes = [*before, *during, *after]
                self.service_runs.update((pid, i) for i in indexes)
                for key in dict.fromkeys(runs[i][1] for i in indexes):
                    touched[key].append(fault)
        return touched

    def _launched_by(self, key: str, t: float) -> bool:
        """Whether the launch that ``key`` belongs to was performed at or before ``t``.

        A consumer timeout takes back the deliveries its channel held when it fired; the
        processes of a launch made later were delivered afterwards and are not its."""
        line = self.launch_lines.get(self.launch_of(key))
        return line is None or float(line.get("t", 0.0)) <= t

    def loose(self, key: str) -> bool:
        """Whether an extra execution of ``key`` is excused only by a service fault (the
        oracle's bound does not hold exactly there: a verdict on a loose bound)."""
        return not self.kills_by_key.get(key) and bool(self.service_by_key.get(key))

    def process_line(self, process_id: str | None) -> Line | None:
        return self.history.process_line(process_id)

    def views_at(self, path: str) -> tuple[ProcessView, ...]:
        return self.observation.at_path(path)

    def launch_of(self, path: str) -> str:
        return path.partition("/")[0]

    def decided(self, label: str) -> bool:
        launch = self.expectation.launches.get(label)
        return launch is not None and launch.decided and label in self.launch_ids

    def executed(self, view: ProcessView) -> list[Line]:
        return self.by_process.get(view.id, [])

    def count_issues(self) -> list[CountIssue]:
        """Every effect key whose journal count breaks the oracle's bound.

        Seven checks ask; the answer depends on the facts only, so it is found once."""
        if self._count_issues is None:
            self._count_issues = tuple(self._find_count_issues())
        return list(self._count_issues)

    def _find_count_issues(self) -> list[CountIssue]:
        issues = []
        keys = dict.fromkeys([*self.expectation.effects, *self.by_key])
        for key in keys:
            if self.launch_of(key) not in self.launch_ids:
                continue  # the plan stopped before this launch: nothing to compare
            bound = self.expectation.bound(key)
            lines = tuple(self.by_key.get(key, ()))
            if bound is None or bound.allows(len(lines)):
                continue
            issue = CountIssue(key, len(lines), bound, lines)
            if issue.over or self.terminated(self.launch_of(key)):
                issues.append(issue)  # a launch that never ended is L1's to report
        return issues

    def terminated(self, label: str) -> bool:
        view = self.observation.get(self.launch_ids.get(label))
        return view is not None and view.terminal

    def cached_away(self, key: str) -> bool:
        """True when every node at this calculation key is a cache hit (the K checks own it)."""
        views = self.views_at(key)
        return is_calc_key(key) and bool(views) and all(v.is_hit for v in views)


_CHANNEL = re.compile(r"on channel (\d+)")


def _distinct_timeouts(faults: list[Line]) -> list[Line]:
    """The fired faults with each stuck channel's consumer timeout counted once.

    Why: a channel whose worker cannot answer (SIGSTOPped) stays open, and RabbitMQ logs
    its timeout again on every tick (every 0.5 s here): one takeover, dozens of lines.
    Counted each, they would each excuse one more run (C3's slack). A line repeats the
    previous one of its connection (``peer_port``) and channel when it comes within the
    timeout itself: no delivery on a fresh channel can have timed out by then.
    """
    last: dict[tuple[Any, str], float] = {}
    kept = []
    for line in faults:
        if line.get("fault") in BROKER_TIMEOUT_FAULTS:
            match = _CHANNEL.search(str(line.get("detail", "")))
            key = (line.get("peer_port"), match.group(1) if match else "")
            t, window = float(line["t"]), float(line.get("timeout_ms") or 0) / 1000
            previous, last[key] = last.get(key), t
            if previous is not None and t - previous < window:
                continue
        kept.append(line)
    return kept


def _runs_by_process(history: History) -> dict[str, list[tuple[float, str, Line]]]:
    """Per process, ``(time, key, line)`` of every body it began, in time order.

    From the journal's ``begin`` lines (they include attempts killed before their
    effect); a history without them (hand-made, or an old file) falls back to effects'
    ``t0``.
    """
    lines = history.of("begin") or history.of("effect")
    runs: dict[str, list[tuple[float, str, Line]]] = defaultdict(list)
    for line in lines:
        t = line.get("t") if line.kind == "begin" else line.get("t0")
        runs[str(line["process"])].append((float(t), str(line["key"]), line))
    for items in runs.values():
        items.sort(key=lambda run: run[0])
    return runs


class Verdict:
    """Collects one check's violations and evidence, then applies the common rules."""

    def __init__(self, clause: str, facts: Facts) -> None:
        self.clause = clause
        self.facts = facts
        self.violations: list[tuple[str, tuple[Line, ...]]] = []
        self.checked = 0
        self.loose_keys: set[str] = set()

    def excused_loosely(self, key: str) -> None:
        """Note a key whose extra executions passed only on a service fault's loose bound."""
        self.loose_keys.add(key)

    def fail(self, sentence: str, *lines: Line | None) -> None:
        self.violations.append((sentence, tuple(line for line in lines if line is not None)))

    def saw(self, count: int = 1) -> None:
        self.checked += count

    def result(self, passed: str, undecided: str = "nothing this scenario does could be "
               "checked for this clause") -> ClauseResult:
        name = self.facts.scenario.name
        if self.violations:
            sentence, lines = self.violations[0]
            more = len(self.violations) - 1
            if more:
                sentence += f" (and {more} more violation{'s' if more > 1 else ''})"
            witness = tuple(dict.fromkeys(line.text for line in lines))[:MAX_WITNESS]
            return ClauseResult(self.clause, FAIL, witness, sentence, True, name)
        if self.clause not in self.facts.expectation.exercises:
            return ClauseResult(self.clause, UNKNOWN, (), "not exercised by this scenario",
                                False, name)
        if not self.checked:
            return ClauseResult(self.clause, UNKNOWN, (), undecided, True, name)
        if self.loose_keys:
            keys = sorted(self.loose_keys)
            passed += (f"; {len(keys)} verdict(s) rest on a loose bound: extra runs of "
                       f"{', '.join(keys[:3])}{' ...' if len(keys) > 3 else ''} excused by a "
                       "broker or database fault in flight")
        return ClauseResult(self.clause, PASS, (), passed, True, name, len(self.loose_keys))
