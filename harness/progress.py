"""One progress line for every long phase: ``run``'s scenarios, ``fuzz``, shrinking.

On a terminal the line is redrawn in place at most ``interval`` seconds apart; in a log
(not a TTY) a full line is printed every ``log_interval`` seconds instead, so CI logs
show progress without thousands of carriage returns. ``quiet`` (``-q``) draws nothing
but still prints ``message`` lines (failures).

Hand-written rather than ``rich``: the output must read the same in a CI log as on a
terminal (no live regions, no markup to strip), the whole display is one line, and the
harness keeps its dependencies to what it checks engines with. See docs/design.md §6.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Progress", "rate_text"]


def rate_text(count: int, seconds: float, noun: str = "scenario") -> str:
    """``12.5 scenarios/s``, or ``8.2 s/scenario`` when slower than one a second (a slow
    engine's rate never prints as ``0.0/s``), or ``no scenario yet``."""
    if count <= 0 or seconds <= 0:
        return f"no {noun} yet"
    rate = count / seconds
    if rate >= 1:
        return f"{rate:.1f} {noun}s/s"
    return f"{seconds / count:.1f} s/{noun}"


class Progress:
    """Throttled progress output; ``show``/``update`` are cheap enough to call per run."""

    def __init__(self, total_seconds: float = 0.0, stream: TextIO | None = None,
                 interval: float = 0.25, log_interval: float = 10.0,
                 quiet: bool = False) -> None:
        self.stream = stream or sys.stdout
        self.total = total_seconds
        self.tty = self.stream.isatty()
        self.interval = interval if self.tty else log_interval
        self.quiet = quiet
        self._last = 0.0
        self._drawn = False

    def show(self, text: str, force: bool = False) -> None:
        """Draw ``text`` as the progress line (throttled unless ``force``)."""
        now = time.monotonic()
        if self.quiet or (not force and now - self._last < self.interval):
            return
        self._last = now
        if self.tty:
            self.stream.write("\r" + text[:119].ljust(79))
            self._drawn = True
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def update(self, elapsed: float, scenarios: int, rate: float, failing_clauses: int,
               not_applicable: int, force: bool = False) -> None:
        """The fuzz line: time box, scenarios, rate, n/a, failing clauses."""
        shown = rate_text(scenarios, elapsed) if rate or scenarios else "no scenario yet"
        self.show(f"fuzz [{elapsed:6.1f} / {self.total:.0f} s] {scenarios} scenarios "
                  f"({shown}), {not_applicable} n/a, {failing_clauses} failing clause(s)",
                  force)

    def message(self, text: str) -> None:
        """Print a full line (a failure) without garbling the progress line."""
        self.clear()
        self.stream.write(text + "\n")
        self.stream.flush()

    def clear(self) -> None:
        if self._drawn:
            self.stream.write("\r" + " " * 119 + "\r")
            self.stream.flush()
            self._drawn = False
