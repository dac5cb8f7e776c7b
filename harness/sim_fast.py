"""The in-memory run path: a whole scenario in one thread, no files, no sleeps.

Why a second path: the file-based one (``Session`` files, a nemesis thread polling the
journal, bodies sleeping at the gate) exists for engines whose workers are OS processes
that a SIGKILL may hit between any two instructions. An in-process tier (``sim``) runs
every body in the harness's own thread, so the same protocol can be kept in memory:

- ``MemorySession``: the session's files (plan, gate, journal, begins, faults,
  launches) are Python objects; ``open_log``/``read_log`` hand out ``MemoryLog``s.
- ``SyncNemesis``: no thread and no polling. The body that appends journal entry k
  calls the nemesis right there (``MemorySession.entry_written``), which handles the
  entry exactly as the polling thread would, then opens the gate: a fault "at entry k"
  lands while the body sits between its effect and its checkpoint, as on real engines.
  The adapter is told to defer every request meanwhile (``deferring``), so the order of
  the faults it applies is the order the threaded nemesis gives.
- waits take no wall time: the simulation's ``wait`` runs until no task is left, and a
  process that is not terminal then never will be (there is no other thread to move
  it), so the nemesis does not spin until the chaos timeout.

Same verdicts as the file path (``tests/harness/test_sim_fast.py`` compares both over
a thousand generated seeds); an adapter opts in with ``runs_in_memory = True`` and the
runner uses this path unless ``RunOptions.in_memory`` is False or the work directory
must be kept.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.adapter import Handle
from harness.nemesis import Nemesis
from harness.session import GATE_OPEN, BodyPlan, Session

__all__ = ["MemoryLog", "MemorySession", "SyncNemesis", "runs_in_memory"]

EntryHook = Callable[[Mapping[str, Any]], None]


def runs_in_memory(adapter: object) -> bool:
    """Whether ``adapter`` (or the one a ``CheckedAdapter`` wraps) runs in this thread."""
    inner = getattr(adapter, "inner", adapter)
    return bool(getattr(inner, "runs_in_memory", False))


class MemoryLog:
    """``AppendLog``'s interface over a list of records (one thread: no interleaving).

    ``append`` returns "" instead of the JSON line: nothing reads it on this path (the
    gate's entry index is the list's length), and encoding every record twice was a
    measurable share of a run.
    """

    def __init__(self, path: Path, records: list[dict[str, Any]]) -> None:
        self.path = path
        self.records = records

    def append(self, record: Mapping[str, Any]) -> str:
        self.records.append(dict(record))
        return ""

    def close(self) -> None:
        """Nothing to release; the records stay readable through the session."""

    def __enter__(self) -> MemoryLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class _Files:
    """What would be files of the work directory (mutable; the session itself is frozen)."""

    plan: BodyPlan = field(default_factory=BodyPlan)
    gate: int = 0
    logs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    on_entry: EntryHook | None = None


@dataclass(frozen=True)
class MemorySession(Session):
    """A ``Session`` whose files live in memory; ``workdir`` is a name, never created."""

    files: _Files = field(default_factory=_Files, compare=False, repr=False)

    def write(self) -> MemorySession:
        self.files.plan, self.files.gate = BodyPlan(), 0
        return self

    def write_plan(self, plan: BodyPlan) -> None:
        self.files.plan = plan

    def read_plan(self) -> BodyPlan:
        return self.files.plan

    def set_gate(self, handled: int) -> None:
        self.files.gate = handled

    def gate(self) -> int:
        return self.files.gate

    def open_log(self, path: str | Path) -> MemoryLog:  # type: ignore[override]  # same API
        name = Path(path).name
        return MemoryLog(Path(path), self.files.logs.setdefault(name, []))

    def read_log(self, path: str | Path) -> list[dict[str, Any]]:
        return list(self.files.logs.get(Path(path).name, ()))

    def entry_written(self, record: Mapping[str, Any]) -> None:
        """A gated body appended ``record`` to the journal: let the nemesis handle it now."""
        if self.files.on_entry is not None and self.files.gate != GATE_OPEN:
            self.files.on_entry(record)


class SyncNemesis(Nemesis):
    """The nemesis without its thread: called by the body at each journal entry."""

    def start(self) -> None:
        assert isinstance(self.session, MemorySession)
        self.session.files.on_entry = self._entry

    def stop(self) -> None:
        if isinstance(self.session, MemorySession):
            self.session.files.on_entry = None
        self.session.set_gate(GATE_OPEN)

    def tick(self) -> None:
        """Entries are handled as they are written; there is nothing to poll."""

    def _entry(self, record: Mapping[str, Any]) -> None:
        inner: Any = getattr(self.adapter, "inner", self.adapter)
        inner.deferring = True  # the threaded nemesis's requests are all deferred too
        try:
            self._index += 1
            try:
                self._on_entry(self._index, record)
            except Exception as error:  # as the thread: never die silently
                self.recorder.add("fault", source="nemesis", status="error",
                                  fault="nemesis", reason=f"{type(error).__name__}: {error}")
            self.session.set_gate(self._index)
        finally:
            inner.deferring = False

    def wait(self, handle: Handle, timeout: float) -> tuple[str | None, float]:
        """One ``adapter.wait``: it returns only when nothing can move any more."""
        return self.adapter.wait(handle, timeout), 0.0
