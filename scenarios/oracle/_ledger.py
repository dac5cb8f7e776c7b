"""Bookkeeping of the oracle: effect counts, attempt counters and timing-dependent faults.

Counts are intervals. A body that certainly runs adds [1, 1]; one that may run (an
orphan copy, a redo after a fault whose landing time is unknown, a step after a kill
request that may already have landed) adds [0, 1] or widens the upper end. Attempt
counters are intervals too: a body fault on attempt n is decided only while the
counter of its target is exact around n; otherwise the model gives up on the launch
(`Undecided`) rather than guess.

Faults that fire "when journal entry k appears" (external kill, broker/database
restart, dropped connection) are *pending* until entry k may exist, then *floating*:
each may make any effect in flight redo once, so every later effect of that launch may
run once more, until the launch ends with entry k certainly written.

A `KillOnEffect(k)` whose entry k is certainly written by a known body is exact: the
nemesis's gate makes it land while that body waits between its entry and its checkpoint
(before any raise). The interpreter then plays it as a certain kill of that body and
`land` settles it at once (*done*) instead of letting it float.

A possible extra execution (`maybe`) is a retry with the next attempt number: when a
`RaiseIn` names that attempt, whether the launch raises is timing (`Undecided`); when a
kill (or a refused commit, which the oracle models as one) names it, how many more
times the body runs is timing too (`Undecided`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from scenarios.faults import Fault, KillAtCrashpoint, KillOnEffect, RaiseIn


class Undecided(Exception):
    """Raised when the model cannot predict a launch without the engine's history."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class External:
    """A fault at journal entry `index`: pending, floating (may have landed) or done."""

    fault: Fault
    index: int
    state: str = "pending"
    launch: str | None = None


@dataclass
class Recorder:
    """Effects recorded while the children of one launching step run.

    `owner` is that step's (key, target). `redo` counts kills that may have hit before
    the owner's checkpoint was committed: each may re-run the owner and all its children.
    """

    owner: tuple[str, str]
    entries: list[tuple[str, str]] = field(default_factory=list)
    redo: int = 0


@dataclass
class LaunchState:
    """Per-launch counters the interpreter needs while walking one launch."""

    label: str
    kill_at: int | None
    count_min: int = 0
    count_max: int = 0
    kill_floating: bool = False
    worker_kills: int = 0
    children: bool = False
    maybe_not_entries: Counter[str] = field(default_factory=Counter)
    maybe_not_effects: int = 0


class Ledger:
    """Effect bounds, attempt intervals and external-fault timing for one scenario."""

    def __init__(self, faults: tuple[Fault, ...], externals: list[External]) -> None:
        self.bounds: dict[str, list[int]] = {}
        self.reasons: dict[str, list[str]] = {}
        self.att_lo: Counter[str] = Counter()
        self.att_hi: Counter[str] = Counter()
        self.trace_min = 0
        self.trace_max = 0
        self.body_faults: dict[str, list[RaiseIn | KillAtCrashpoint]] = {}
        for fault in faults:
            if isinstance(fault, (RaiseIn, KillAtCrashpoint)):
                self.body_faults.setdefault(fault.target, []).append(fault)
        self.externals = externals
        self.recorders: list[Recorder] = []
        self.launch = LaunchState("", None)
        self.on_floating: list[External] = []

    def note(self, key: str, reason: str) -> None:
        reasons = self.reasons.setdefault(key, [])
        if reason not in reasons:
            reasons.append(reason)

    # -- attempts ----------------------------------------------------------------------

    def enter(self, target: str) -> RaiseIn | KillAtCrashpoint | None:
        """A worker begins `target`; return the body fault that fires on this attempt."""
        self.att_lo[target] += 1
        self.att_hi[target] += 1
        if self.launch.kill_floating:
            self.launch.maybe_not_entries[target] += 1
        return self.decide(target, self.att_lo[target], self.att_hi[target])

    def decide(self, target: str, lo: int, hi: int) -> RaiseIn | KillAtCrashpoint | None:
        fired = None
        for fault in self.body_faults.get(target, ()):
            if fault.attempt is None or lo == hi == fault.attempt:
                fired = fault
            elif lo <= fault.attempt <= hi:
                raise Undecided(
                    f"whether the fault on {target} attempt {fault.attempt} fires depends on "
                    f"how often engine timing re-ran {target} (attempt is {lo}..{hi})"
                )
        return fired

    # -- effects -----------------------------------------------------------------------

    def effect(self, key: str, target: str, reason: str) -> None:
        """One execution of a body that happens whenever the launch gets this far."""
        launch = self.launch
        low = 0 if launch.kill_floating else 1
        if launch.kill_floating:
            launch.maybe_not_effects += 1
            self.note(key, "may not run: a kill request may have landed before")
        bound = self.bounds.setdefault(key, [0, 0])
        bound[0] += low
        bound[1] += 1
        self.trace_min += 1
        self.trace_max += 1
        launch.count_min += low
        launch.count_max += 1
        self.note(key, reason)
        for recorder in self.recorders:
            recorder.entries.append((key, target))
        self._externals(key, target)

    def maybe(self, key: str, target: str, reason: str, record: bool = True,
              externals: bool = False) -> None:
        """A possible extra execution (redo, orphan, in flight at a kill).

        It would begin the next attempt of `target`; if a `RaiseIn` names that attempt,
        the extra execution may raise, and if a kill names it, it may be cut and run yet
        again: either way the launch's outcome is timing (`Undecided`). With `externals`
        the execution is a body's own possible run (a lookup that may hit or execute):
        like an `effect`, it writes a journal entry that a `KillOnEffect` may land on,
        and every fault floating by then may cut it and make it run again.
        """
        bound = self.bounds.setdefault(key, [0, 0])
        bound[1] += 1
        self.att_hi[target] += 1
        for fault in self.body_faults.get(target, ()):
            if fault.attempt is not None \
                    and self.att_lo[target] < fault.attempt <= self.att_hi[target]:
                what = "raises" if isinstance(fault, RaiseIn) else (
                    f"is killed at {fault.crashpoint} (or its commit refused)")
                raise Undecided(
                    f"{key} may run again ({reason}); whether that retry is {target} "
                    f"attempt {fault.attempt}, which {what}, depends on engine timing"
                )
        self.trace_max += 1
        self.launch.count_max += 1
        self.note(key, reason)
        for recorder in self.recorders if record else ():
            recorder.entries.append((key, target))
        if externals:
            self._externals(key, target)

    def owners_may_redo(self, reason: str) -> None:
        """A worker died while children ran: each waiting parent step may run again.

        The parent's checkpoint after a launching step may not be committed when a child
        already runs (AiiDA submits children before checkpointing), so the step is then
        the effect in flight (C3) and its children may be launched again (orphans).
        """
        for recorder in self.recorders:
            self.maybe(*recorder.owner, reason, record=False)
            recorder.redo += 1

    def kills_at_next_entry(self) -> list[External]:
        """`KillOnEffect` faults certain to land at the next journal entry.

        Certain only when the entry's position is exact: every entry so far is certain
        (`trace_min == trace_max`: then no attempt counter is an interval either) and no
        armed kill request may have stopped the launch. The caller must also know that
        no other body can write an entry meanwhile (no concurrent siblings, no orphans).
        """
        if self.trace_min != self.trace_max or self.launch.kill_floating:
            return []
        return [ext for ext in self.externals if ext.state == "pending"
                and isinstance(ext.fault, KillOnEffect) and ext.index == self.trace_max + 1]

    def land(self, externals: list[External]) -> None:
        """These faults land exactly now: done, they widen nothing that follows."""
        for ext in externals:
            ext.state, ext.launch = "done", self.launch.label

    def may_land_since(self, first: int, pending: bool = False) -> list[External]:
        """Faults at entry `first` or later that may land now (`pending`: or later on)."""
        return [ext for ext in self.externals if ext.index >= first
                and (ext.state == "floating" or (pending and ext.state == "pending"))]

    def _externals(self, key: str, target: str) -> None:
        """After an execution of `key`: faults whose entry may now exist float, and each
        floating fault may make `key` redo once. A redo is an entry too, so a fault at the
        next entry may land on the redo itself and redo `key` again: repeat until no
        further fault is reached."""
        redone: set[int] = set()
        while True:
            self._float_reached(key)
            todo = [ext for ext in self.externals
                    if ext.state == "floating" and id(ext) not in redone]
            if not todo:
                return
            for ext in todo:
                redone.add(id(ext))
                self.maybe(key, target, f"may redo after {type(ext.fault).__name__} at "
                                        f"entry {ext.index}")

    def _float_reached(self, key: str) -> None:
        """Pending faults whose entry may exist now start floating (and may cut whatever
        else is in flight: the other entries of the innermost recorder, the owners)."""
        for ext in self.externals:
            if ext.state == "pending" and self.trace_max >= ext.index:
                ext.state = "floating"
                ext.launch = self.launch.label
                self.on_floating.append(ext)
                for recorder in self.recorders[-1:]:
                    for other_key, other_target in dict.fromkeys(recorder.entries):
                        if other_key != key:
                            self.maybe(other_key, other_target, "in flight at an external fault")
                self.owners_may_redo(f"parent step may redo after {type(ext.fault).__name__}")

    def end_launch(self) -> None:
        """Close the launch: settle kill uncertainty and faults that surely landed."""
        launch = self.launch
        if launch.kill_floating:
            for target, count in launch.maybe_not_entries.items():
                self.att_lo[target] -= count
            self.trace_min -= launch.maybe_not_effects
        for ext in self.externals:
            if ext.state == "floating" and self.trace_min >= ext.index:
                ext.state = "done"
