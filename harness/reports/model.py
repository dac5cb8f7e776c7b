"""A results directory read back as one value: meta, runs, the matrix, histories on demand."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.conformance import ClauseRow, matrix
from harness.history import History
from harness.results import BadLine, RunRecord, capabilities_from_dict, load_results
from scenarios.capabilities import Capabilities

__all__ = ["Report", "load_report", "xml_safe"]


@dataclass(frozen=True)
class Report:
    """Everything a renderer needs; ``rows`` is the matrix recomputed from the verdicts."""

    root: Path
    meta: dict[str, Any]
    capabilities: Capabilities
    runs: tuple[RunRecord, ...]
    rows: tuple[ClauseRow, ...]
    bad_lines: tuple[BadLine, ...] = ()

    @property
    def promised(self) -> frozenset[str]:
        return frozenset(self.capabilities.promised - self.capabilities.expected_failures)

    @property
    def title(self) -> str:
        return (f"wfconform {self.meta.get('command', 'run')}: "
                f"{self.meta.get('adapter', self.meta.get('engine', '?'))} on tier "
                f"{self.meta.get('tier', '?')}")

    def summary(self) -> str:
        started = self.meta.get("started")
        when = (datetime.datetime.fromtimestamp(started, datetime.UTC)
                .strftime("%Y-%m-%d %H:%M:%S UTC") if started else "unknown time")
        counts: dict[str, int] = {}
        for run in self.runs:
            counts[run.status] = counts.get(run.status, 0) + 1
        statuses = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no runs"
        failed = sum(1 for row in self.rows if row.is_failure)
        passed = sum(1 for row in self.rows if row.verdict == "pass" and not row.is_failure)
        finished = "" if self.meta.get("finished") else " (interrupted: partial results)"
        return (f"started {when}, seed {self.meta.get('seed')}, engine "
                f"{self.meta.get('engine')}; {len(self.runs)} scenario run(s): {statuses}; "
                f"{passed} passed, {failed} failed{finished}")

    def history(self, run: RunRecord) -> History | None:
        if run.history is None or not (self.root / run.history).is_file():
            return None
        return History.load(self.root / run.history)

    def scenario_file(self, run: RunRecord) -> Path | None:
        """The replayable file written for a failing run, if there is one."""
        name = run.name.removesuffix(".shrunk")
        path = self.root / f"{name}.json"
        if path.is_file():
            return path
        # fuzz writes a run that failed several clauses once per clause: NAME-CLAUSE.json
        return next((p for p in sorted(self.root.glob(f"{name}-*.json"))
                     if not p.name.endswith(".verdict.json")), None)


def load_report(directory: Path) -> Report:
    meta, runs, bad = load_results(directory)
    caps = capabilities_from_dict(meta["capabilities"])
    return Report(directory, meta, caps, runs, matrix(caps, runs), bad)


_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str) -> str:
    """``text`` with the characters XML 1.0 forbids shown as ``\\uXXXX`` escapes."""
    return _XML_BAD.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
