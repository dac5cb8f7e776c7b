"""A one-line progress display for ``fuzz``: scenarios, scenarios/s, failures, time left.

On a terminal the line is redrawn in place at most ``interval`` seconds apart; in a log
(not a TTY) a full line is printed every ``log_interval`` seconds instead, so CI logs
show progress without thousands of carriage returns.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Progress"]


class Progress:
    """Throttled progress output; ``update`` is cheap enough to call per scenario."""

    def __init__(self, total_seconds: float, stream: TextIO | None = None,
                 interval: float = 0.25, log_interval: float = 10.0) -> None:
        self.stream = stream or sys.stdout
        self.total = total_seconds
        self.tty = self.stream.isatty()
        self.interval = interval if self.tty else log_interval
        self._last = 0.0
        self._drawn = False

    def update(self, elapsed: float, scenarios: int, rate: float, failing_clauses: int,
               not_applicable: int, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < self.interval:
            return
        self._last = now
        text = (f"fuzz [{elapsed:6.1f} / {self.total:.0f} s] {scenarios} scenarios "
                f"({rate:.1f}/s), {not_applicable} n/a, {failing_clauses} failing clause(s)")
        if self.tty:
            self.stream.write("\r" + text.ljust(79))
            self._drawn = True
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def message(self, text: str) -> None:
        """Print a full line (a failure) without garbling the progress line."""
        self.clear()
        self.stream.write(text + "\n")
        self.stream.flush()

    def clear(self) -> None:
        if self._drawn:
            self.stream.write("\r" + " " * 79 + "\r")
            self._drawn = False
