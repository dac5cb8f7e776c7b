"""Sibling calls of one calculation type: which of them takes which attempt is timing.

Fault plans count a target's attempts in the order workers *begin* its bodies (the
harness's begins log). The calls of one `LaunchCalcs` step run concurrently, so when two
or more of them may run the same calculation type, which one begins first is engine
timing (sim's seeded scheduler, worker races on embedded and real), not call order. A
body fault that names one of the attempts such a group consumes may land on any of its
calls. The interpreter walks the calls in call order (so the *set* of attempt numbers
the group consumes, and the faults that fire, are right); this module then widens what
depends on which call took which attempt:

- Whether the group is affected: two or more calls of the type may run, and a body fault
  with a fixed attempt names one of the attempts the group consumed. A group with a
  possible cache hit among its calls is undecided: whether that call consumes an
  attempt at all, and which, is timing twice over.
- A `RaiseIn` that fires makes *some* call of the group excepted: the parent's outcome
  (a failed child) is decided, but each call's final state is not, so every call of the
  group becomes a possible (never a certain) cache source.
- A crashpoint kill lands on *some* call: a kill before the effect or after the
  checkpoint changes no call's count (each still writes one entry), but an
  `after_effect_before_checkpoint` kill makes its call run once more, and with retries
  interleaved one call may take several of them. A call's own kills no longer shield it
  from "in flight in a killed worker" (`settle_children` widens each call of the group
  by every kill of the group, at most +1 per kill, which also covers the redo of the
  call the kill lands on; with isolated kills there is no such widening, and each call
  may take every redo kill instead). So each call's bound becomes [the least any call runs without
  its redo kills, the most any call may run without its redo kills]. This loses that the
  redo kills add up to exactly their number over the group (an `EffectBound` is per
  key): a correct engine meets every bound, an engine that runs a call too often still
  fails the upper bound, but one that skips the redo of a killed call is only caught
  where the lower bound stays above 1 (C4 then compares the outputs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scenarios.faults import KillAtCrashpoint, RaiseIn
from scenarios.oracle._ledger import Ledger, Undecided

_REDO = "after_effect_before_checkpoint"


@dataclass
class SiblingGroup:
    """The calls of one step that may run calculation type `target` (two or more).

    `first` is the target's attempt counter before the group began (exact, else a fault
    in the group's range is already undecided by the ledger); `start` holds each call's
    bound before it ran.
    """

    target: str
    paths: list[str]
    maybe_hit: bool
    first: int
    start: dict[str, tuple[int, int]] = field(default_factory=dict)
    faults: list[RaiseIn | KillAtCrashpoint] = field(default_factory=list)

    def describe(self) -> str:
        names = ", ".join(f"{type(f).__name__} on attempt {f.attempt}" for f in self.faults)
        return (f"which of the {len(self.paths)} calls of {self.target} in this step begins "
                f"first is engine timing, so {names} may land on any of them")


def sibling_groups(calls: list[Any], ledger: Ledger) -> list[SiblingGroup]:
    """Groups of two or more calls (`(index, calc, values, path, look)`) of one type that
    may run (not certain hits), with each call's bound before the group runs."""
    by_target: dict[str, list[tuple[str, bool]]] = {}
    for _, calc, _, path, look in calls:
        hit = look.expectation.hit
        if hit is not True:
            by_target.setdefault(f"calc:{calc.name}", []).append((path, hit is None))
    groups = []
    for target, members in by_target.items():
        if len(members) < 2:
            continue
        paths = [path for path, _ in members]
        start = {p: tuple(ledger.bounds.get(p, (0, 0))) for p in paths}
        groups.append(SiblingGroup(target, paths, any(m for _, m in members),
                                   ledger.att_lo[target],
                                   {p: (lo, hi) for p, (lo, hi) in start.items()}))
    return groups


def affected(group: SiblingGroup, ledger: Ledger) -> bool:
    """Whether a body fault with a fixed attempt names an attempt the group consumed.

    Raises `Undecided` when the group also holds a possible cache hit (see above).
    """
    last = ledger.att_hi[group.target]
    group.faults = [f for f in ledger.body_faults.get(group.target, ())
                    if f.attempt is not None and group.first < f.attempt <= last]
    if group.faults and group.maybe_hit:
        raise Undecided(group.describe() + "; one of them may also be a cache hit that "
                        "consumes no attempt")
    return bool(group.faults)


def spread(group: SiblingGroup, ledger: Ledger, crashes: dict[str, list[str]],
           widened: bool = True) -> None:
    """Give every call of an affected group the union of the bounds any order allows.

    `crashes[path]` lists the crashpoints the call-order walk gave that call. When
    `widened`, `settle_children` already widened each call by every kill of the group
    (+1 each), which covers the redo of the call a kill lands on, so a call's count
    without its own redo kills bounds every call in any order. With isolated kills
    (`Capabilities.isolated_kills`) nothing was widened: any call may take every redo.
    """
    runs = []
    redo_kills = 0
    for path in group.paths:
        redo = crashes[path].count(_REDO)
        redo_kills += redo
        lo0, hi0 = group.start[path]
        lo, hi = ledger.bounds[path]
        runs.append((lo - lo0 - redo, hi - hi0 - redo))
    lo = max(0, min(r[0] for r in runs))
    hi = max(r[1] for r in runs) + (0 if widened else redo_kills)
    reason = group.describe()
    for path in group.paths:
        lo0, hi0 = group.start[path]
        ledger.bounds[path] = [lo0 + lo, hi0 + hi]
        ledger.note(path, reason)
