"""The ordered evidence the order-sensitive checks (C2, N1, P1, P2) read, and its limits.

Two streams, each ordered by its own clock, never merged by time with the other:

- the **engine's events** (``event`` lines, from ``adapter.events()`` when the adapter
  offers them): its own log of state changes and claims, in the order it wrote them
  (``id`` when numeric, else line order). Their ``at`` is the engine's clock (wall time,
  or the simulation's virtual time), not comparable with the journal's, so only their
  order is used. This is what sees a process that ran again *before* the harness first
  saw it terminal (the sim tier's ``wait`` runs to quiescence, so that sighting is late).
- the **journal and the harness's sightings** (``begin``/``effect`` lines and
  ``terminal`` lines): one clock (``time.monotonic()``), so a body begun after a
  process was first seen terminal is ordered against that sighting.

Where an adapter offers no events, the engine-order rules have no evidence and say so
(the journal rules still apply, from the first sighting on).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from harness.adapter import ACTIVE_STATES, TERMINAL_STATES, Observation
from harness.history import History, Line

__all__ = ["ADVANCES", "RUN_STATES", "EngineOrder", "StateChange", "descendants"]

RUN_STATES = frozenset({"claimed", *ACTIVE_STATES})
"""Event states of a live process: a delivery (``claimed``) or an active state."""
ADVANCES = frozenset({*ACTIVE_STATES, *TERMINAL_STATES})
"""Event states that mean the engine wrote a new state of the process. A ``claimed``
alone is a delivery, not a run: an engine may deliver a terminated process's stale task
and drop it (the reference executor's N1 path), so the rules never fail on a claim."""


@dataclass(frozen=True)
class StateChange:
    """One engine event of one process: its place in the engine's order and its line."""

    index: int
    state: str
    line: Line

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL_STATES

    @property
    def runs(self) -> bool:
        """The engine created, resumed, suspended or finished the process here."""
        return self.state in ACTIVE_STATES or self.state == "finished"


class EngineOrder:
    """The engine's events as per-process ordered state changes (module docstring).

    ``EngineOrder.of`` builds it once per history (the checks only read it)."""

    _last: tuple[History, EngineOrder] | None = None

    @classmethod
    def of(cls, history: History) -> EngineOrder:
        last = cls._last
        if last is not None and last[0] is history:
            return last[1]
        order = cls(history)
        cls._last = (history, order)
        return order

    def __init__(self, history: History) -> None:
        lines = [line for line in history.of("event") if line.get("process") is not None
                 and isinstance(line.get("state"), str)]
        if all(isinstance(line.get("id"), int) for line in lines):
            lines.sort(key=lambda line: int(line["id"]))
        # a log of claims alone (an engine that counts dispatches, as DBOS does) orders
        # no state change: the state-order rules then have no evidence, and say so
        self.offered = any(line["state"] != "claimed" for line in lines)
        self.claims_offered = any(line["state"] == "claimed" for line in lines)
        self.by_process: dict[str, list[StateChange]] = defaultdict(list)
        self._first_terminal: dict[str, StateChange | None] = {}
        for index, line in enumerate(lines):
            state = str(line["state"])
            if state in RUN_STATES or state in TERMINAL_STATES:  # not crashes or notes
                self.by_process[str(line["process"])].append(StateChange(index, state, line))

    def first_terminal(self, process: str) -> StateChange | None:
        """The process's first terminal state change (found once per process: N1 and P1
        ask for every process, some more than once)."""
        if process not in self._first_terminal:
            self._first_terminal[process] = next(
                (c for c in self.by_process.get(process, ()) if c.terminal), None)
        return self._first_terminal[process]

    def after(self, process: str, index: int) -> list[StateChange]:
        return [c for c in self.by_process.get(process, ()) if c.index > index]

    def active_at(self, process: str, index: int) -> bool:
        """Whether ``process`` existed and was not terminal just before ``index``."""
        before = [c for c in self.by_process.get(process, ()) if c.index < index]
        return bool(before) and not any(c.terminal for c in before)

    def claims(self, process: str) -> int:
        return sum(1 for c in self.by_process.get(process, ()) if c.state == "claimed")


def descendants(observation: Observation, root: str) -> set[str]:
    """``root`` and every process below it, by the engine's final parent/child links."""
    seen, frontier = {root}, [root]
    while frontier:
        view = observation.get(frontier.pop())
        for child in view.children if view else ():
            if child not in seen:
                seen.add(child)
                frontier.append(child)
    return seen
