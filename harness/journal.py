"""The journal: effects appended by the scenario's own bodies, outside the engine's storage.

Why a file of JSON lines written with one ``os.write`` on an ``O_APPEND`` descriptor: a
SIGKILL can land between any two instructions of a worker, and the journal must still
say exactly which effects happened. Appends to a regular file opened with ``O_APPEND``
are placed at the end under the inode lock, so concurrent writers never interleave.
One caveat, measured here: a SIGKILL *during* a ``write(2)`` whose bytes cross a page
boundary can leave a torn prefix (Linux checks for fatal signals between page copies).
So every record is written as ``"\n" + json + "\n"``: it always starts on a fresh line,
a torn fragment stays alone on its line, and readers skip lines that do not parse
(a prefix of a JSON object never parses). Readers also stop at the last newline, so a
record still being written is read on the next poll, not half now.

The same primitive writes the other append-only logs of a run (attempt begins, the
fault log); ``JournalTail`` reads any of them incrementally for the nemesis.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "AppendLog",
    "BeginEntry",
    "EffectEntry",
    "JournalTail",
    "dump_line",
    "parse_lines",
    "read_records",
    "record_lines",
]


def dump_line(record: Mapping[str, Any]) -> str:
    """One record as one line of compact JSON, newline included (no NaN: strict JSON)."""
    return json.dumps(record, separators=(",", ":"), allow_nan=False, ensure_ascii=False) + "\n"


class AppendLog:
    """An append-only JSONL file shared by many processes; each append is one write(2).

    Open once per process and keep it: the descriptor survives forks and costs nothing
    when idle. ``append`` returns the exact line written, which lets a writer find its
    own position later (lines carry a pid and a monotonic time, so they are unique).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def append(self, record: Mapping[str, Any]) -> str:
        line = dump_line(record)
        data = b"\n" + line.encode("utf-8")
        written = os.write(self._fd, data)
        if written != len(data):  # only on a full disk; say so instead of tearing lines
            raise OSError(f"short write to {self.path}: {written} of {len(data)} bytes")
        return line

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> AppendLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def parse_lines(data: bytes) -> list[dict[str, Any]]:
    """Records in ``data`` up to its last newline; blank and torn lines are skipped."""
    records = []
    for line in data[: data.rfind(b"\n") + 1].splitlines():
        if line.strip():
            try:
                records.append(json.loads(line))
            except ValueError:
                continue  # a fragment left by a writer killed mid-write
    return records


def record_lines(data: bytes) -> list[bytes]:
    """The complete, parseable lines of ``data`` (as bytes), in order."""
    lines = []
    for line in data[: data.rfind(b"\n") + 1].splitlines():
        if line.strip():
            try:
                json.loads(line)
            except ValueError:
                continue
            lines.append(line)
    return lines


def read_records(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every complete record of a log, in append order; [] if the file does not exist."""
    try:
        return parse_lines(Path(path).read_bytes())
    except FileNotFoundError:
        return []


class JournalTail:
    """Reads the records appended since the last call (the nemesis polls with it)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._offset = 0
        self.count = 0

    def poll(self) -> list[dict[str, Any]]:
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self._offset)
                data = handle.read()
        except FileNotFoundError:
            return []
        self._offset += data.rfind(b"\n") + 1
        records = parse_lines(data)
        self.count += len(records)
        return records


@dataclass(frozen=True)
class EffectEntry:
    """One execution of a step or calculation body, as its own code recorded it.

    ``key`` is the scenario's effect key (``scenarios.effects``), ``target`` the fault
    target of the body (``Workflow.step`` or ``calc:Name``), ``attempt`` the body's
    1-based attempt counted across the scenario (as fault plans count), and
    ``engine_attempt`` the engine's own delivery count. ``t0``/``t1`` are
    ``time.monotonic()`` (system-wide on Linux, so comparable across workers) at the
    start and end of the body; ``raised`` is True when an injected fault made it raise.
    """

    key: str
    target: str
    process: str
    step: str | None
    attempt: int
    engine_attempt: int | None
    worker: int
    t0: float
    t1: float
    raised: bool = False

    def to_record(self) -> dict[str, Any]:
        return {"type": "effect", **vars(self)}  # flat fields: no deep asdict copy

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> EffectEntry:
        return cls(**{k: v for k, v in record.items() if k != "type"})


@dataclass(frozen=True)
class BeginEntry:
    """A worker began a body (before any fault could land in it): counts attempts."""

    key: str
    target: str
    process: str
    worker: int
    engine_attempt: int | None
    t: float

    def to_record(self) -> dict[str, Any]:
        return {"type": "begin", **vars(self)}

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> BeginEntry:
        return cls(**{k: v for k, v in record.items() if k != "type"})
