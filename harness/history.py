"""The history of one scenario run: every fact the checks may use, as JSON lines.

A history merges, in time order (``time.monotonic()``, shared by all processes on the
machine): the plan operations the runner performed (``op``), every fault armed or
landed (``fault``), attempt begins (``begin``) and effects (``effect``) from the
journal, and the first time each process was seen terminal (``terminal``). After them
come the engine's own events when the adapter offers them (``event``), its own record
of claims and commits when it offers one (``ownership``, in the engine's order; the
meta line's ``ownership`` says whether it was offered) and its final view of every
process (``process``), then how the run ended (``outcome``).

Why lines: a check's witness is a few of these lines, quoted verbatim, so a failure
reads as evidence and the file can be loaded again (``History.load``) to re-check or
report without re-running anything. Values (outputs) use the scenario language's tagged
JSON encoding, so ``1``/``1.0``/``True``/NaN/``-0.0`` survive the round trip.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.adapter import Observation, Ownership, ProcessView
from harness.journal import dump_line, read_records
from scenarios.scenario import Scenario
from scenarios.values import decode_value, encode_value

__all__ = ["KINDS", "History", "HistoryRecorder", "Line", "ownership_record", "process_record"]

KINDS = ("meta", "op", "fault", "begin", "effect", "terminal", "event", "ownership", "process",
         "outcome")
_VALUE_FIELDS = ("outputs", "inputs")
_TIMED = frozenset({"op", "fault", "begin", "effect", "terminal"})


class _Record(dict[str, Any]):
    """A recorded line whose typed values were encoded (``_encode_values``); ``typed``
    keeps each one as it was recorded, so building the history (``Line.of_record``)
    takes it back instead of decoding the encoding just made (``decode_value`` gives
    back the value ``encode_value`` was given: the codec round-trips exactly)."""

    typed: dict[str, Any]


def _encode_values(record: dict[str, Any]) -> dict[str, Any]:
    typed: dict[str, Any] = {}
    for name in _VALUE_FIELDS:
        value = record.get(name)
        if value is not None and not _json_exact(value):
            typed[name] = value
            record[name] = encode_value(value)
    if not typed:
        return record
    kept = _Record(record)
    kept.typed = typed
    return kept


def _json_exact(value: Any) -> bool:
    """Whether ``value`` is its own tagged encoding and decoding: only str, bool, None,
    ints within +-2**53, finite floats other than -0.0, lists, and dicts whose keys are
    str not starting with ``$``. Such a value (most outputs) is kept as it is instead
    of being copied twice, by ``encode_value`` when recorded and ``decode_value`` when
    read; the history holds an equal value either way."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return -_SAFE_INT < value < _SAFE_INT  # type: ignore[no-any-return]
    if kind is float:
        return math.isfinite(value) and (value != 0.0 or math.copysign(1.0, value) > 0)
    # Loops rather than ``all`` over a generator, and strings tested inline: every
    # output of every record is asked, and the generator frames were most of the cost.
    if kind is list:
        for item in value:  # noqa: SIM110  # a loop, not all(): see above
            if type(item) is not str and not _json_exact(item):
                return False
        return True
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or key.startswith("$") or (
                    type(item) is not str and not _json_exact(item)):
                return False
        return True
    return False


_SAFE_INT = 2**53  # encode_value writes larger ints as {"$int": ...}


@dataclass(frozen=True)
class Line:
    """One history line: its kind, its decoded fields and its exact text (the witness).

    ``text`` is made on first use for lines built from in-memory records: a run's
    checks quote a handful of its lines, and encoding all of them was the largest
    single cost of a sim run (``from_records``)."""

    kind: str
    data: Mapping[str, Any]
    _text: str | None = field(default=None, compare=False, repr=False)
    _raw: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)

    @property
    def text(self) -> str:
        if self._text is None:
            text = (self.data.line().text if isinstance(self.data, _LazyRecord)
                    else dump_line(self._raw or {}).rstrip("\n"))
            object.__setattr__(self, "_text", text)
        return self._text  # type: ignore[return-value]  # set just above

    @classmethod
    def parse(cls, text: str) -> Line:
        raw = json.loads(text)
        data = dict(raw)
        for name in _VALUE_FIELDS:
            if data.get(name) is not None:
                data[name] = decode_value(data[name], name)
        return cls(str(raw.get("type", "")), data, text)

    @classmethod
    def of_record(cls, record: Mapping[str, Any]) -> Line:
        """``parse(dump_line(record))`` without the round trip when it would change
        nothing (only strings, finite numbers, booleans, None, lists and string-keyed
        dicts); the text is then made on demand."""
        data = dict(record)
        if not _plain(data):
            return cls.parse(dump_line(record).rstrip("\n"))
        typed = record.typed if type(record) is _Record else {}
        for name in _VALUE_FIELDS:
            value = data.get(name)
            if value is not None and not _json_exact(value):
                data[name] = typed[name] if name in typed else decode_value(value, name)
        return cls(str(record.get("type", "")), data, None, record)

    def __getitem__(self, name: str) -> Any:
        return self.data[name]

    def get(self, name: str, default: Any = None) -> Any:
        return self.data.get(name, default)


class _LazyRecord(Mapping[str, Any]):
    """The meta line's fields with ``scenario`` (the whole scenario as data) made on
    first use: only a history written to a file or replayed reads it, and making and
    walking it was about a tenth of a sim run, for every passing run. The other fields
    are read as they are when plain JSON (``_plain``), as ``Line.of_record`` would."""

    def __init__(self, head: Mapping[str, Any], scenario: Scenario) -> None:
        self._head, self._scenario = head, scenario
        self._cheap = _plain({k: v for k, v in head.items() if k != "scenario"})
        self._line: Line | None = None

    def line(self) -> Line:
        if self._line is None:
            self._line = Line.of_record({**self._head, "scenario": self._scenario.to_dict()})
        return self._line

    def __getitem__(self, name: str) -> Any:
        if self._line is None and self._cheap and name != "scenario":
            return self._head[name]
        return self.line().data[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._head)

    def __len__(self) -> int:
        return len(self._head)


def _plain(value: Any) -> bool:
    """Whether JSON gives ``value`` back unchanged (tuples, int keys, NaN: it does not).

    Every record of every run is asked, so the common leaves are tested inline rather
    than with a call each (a call per leaf was most of building a sim run's history)."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return True
    if kind is float:
        return math.isfinite(value)
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str:
                return False
            sub = type(item)
            if not (sub is str or sub is int or sub is bool or item is None
                    or _plain(item)):
                return False
        return True
    if kind is list:
        for item in value:
            sub = type(item)
            if not (sub is str or sub is int or sub is bool or item is None
                    or _plain(item)):
                return False
        return True
    return False


@dataclass(frozen=True)
class History:
    """A run's lines, in order, with typed views for the checks."""

    lines: tuple[Line, ...]
    _index: dict[str, tuple[Line, ...]] = field(default_factory=dict, init=False, repr=False,
                                                compare=False)

    def __post_init__(self) -> None:
        grouped: dict[str, list[Line]] = {}
        for line in self.lines:
            grouped.setdefault(line.kind, []).append(line)
        self._index.update((k, tuple(v)) for k, v in grouped.items())

    def of(self, kind: str) -> tuple[Line, ...]:
        """Lines of one kind, in history order."""
        return self._index.get(kind, ())

    @property
    def meta(self) -> Mapping[str, Any]:
        lines = self.of("meta")
        return lines[0].data if lines else {}

    def scenario(self) -> Scenario | None:
        data = self.meta.get("scenario")
        return None if data is None else Scenario.from_dict(data, validate=False)

    def observation(self) -> Observation:
        """The engine's final view, rebuilt from the ``process`` lines."""
        return Observation(tuple(
            ProcessView(id=p["id"], path=p.get("path"), kind=p["kind"], name=p["name"],
                        state=p["state"], exit_status=p.get("exit_status"),
                        outputs=p.get("outputs"), parent=p.get("parent"),
                        children=tuple(p.get("children", ())),
                        restart_of=p.get("restart_of"), cached_from=p.get("cached_from"),
                        cache_key=p.get("cache_key"), cached_from_key=p.get("cached_from_key"),
                        aliases=tuple(p.get("aliases", ())), attempt_of=p.get("attempt_of"))
            for p in self.of("process")))

    def process_line(self, process_id: str | None) -> Line | None:
        for line in self.of("process"):
            if line["id"] == process_id:
                return line
        return None

    def to_jsonl(self) -> str:
        return "".join(line.text + "\n" for line in self.lines)

    def write(self, path: str | Path) -> Path:
        target = Path(path)
        target.write_text(self.to_jsonl(), encoding="utf-8")
        return target

    @classmethod
    def from_records(cls, records: Iterable[Mapping[str, Any]]) -> History:
        return cls(tuple(Line.of_record(r) for r in records))

    @classmethod
    def load(cls, path: str | Path) -> History:
        text = Path(path).read_text(encoding="utf-8")
        return cls(tuple(Line.parse(t) for t in text.splitlines() if t.strip()))


def ownership_record(entry: Ownership) -> dict[str, Any]:
    """An ``ownership`` history line: one claim or commit as the engine recorded it."""
    record: dict[str, Any] = {"type": "ownership", "process": entry.process,
                              "action": entry.action, "owner": entry.owner,
                              "version": entry.version}
    if entry.action == "commit":
        record["accepted"] = entry.accepted
    if entry.detail:
        record["detail"] = entry.detail
    return record


def process_record(view: ProcessView) -> dict[str, Any]:
    """A ``process`` history line. The optional fields (cache keys, aliases, attempt_of)
    are written only when set, so the histories of adapters without them are unchanged."""
    record = {
        "type": "process", "id": view.id, "path": view.path, "kind": view.kind,
        "name": view.name, "state": view.state, "exit_status": view.exit_status,
        "outputs": view.outputs, "parent": view.parent, "children": list(view.children),
        "restart_of": view.restart_of, "cached_from": view.cached_from,
    }
    optional = {"cache_key": view.cache_key, "cached_from_key": view.cached_from_key,
                "aliases": list(view.aliases), "attempt_of": view.attempt_of}
    record.update((name, value) for name, value in optional.items() if value)
    return _encode_values(record)


class HistoryRecorder:
    """Collects the harness-side records of a run (thread-safe: the nemesis adds too)."""

    def __init__(self) -> None:
        self._records: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._terminal_seen: set[str] = set()

    def add(self, kind: str, **fields: Any) -> dict[str, Any]:
        record = _encode_values({"type": kind, **fields})
        record.setdefault("t", time.monotonic())
        with self._lock:
            self._records.append(record)
        return record

    def sight(self, observation: Observation, after_op: int) -> None:
        """Record each process the first time it is seen terminal (N1, N2 need this)."""
        now = time.monotonic()
        for view in observation.processes:
            if view.terminal and view.id not in self._terminal_seen:
                self._terminal_seen.add(view.id)
                self.add("terminal", process=view.id, path=view.path, state=view.state,
                         exit_status=view.exit_status, outputs=view.outputs,
                         after_op=after_op, t=now)

    def build(self, meta: Mapping[str, Any], logs: Iterable[Path],
              observation: Observation | None, events: Iterable[Mapping[str, Any]],
              outcome: Mapping[str, Any],
              ownership: Iterable[Ownership] | None = None,
              read: Callable[[Path], list[dict[str, Any]]] = read_records) -> History:
        """Merge harness records and the run's logs into one time-ordered history.

        ``meta["scenario"]`` may be the ``Scenario`` itself: its data (``to_dict``) is
        then made only when the meta line is read.

        ``ownership``: the engine's record of claims and commits, or None when the
        adapter offers none (then ``meta`` says ``ownership: false``)."""
        with self._lock:
            timed = list(self._records)
        for path in logs:
            timed.extend(read(path))
        timed.sort(key=lambda r: (r.get("t", 0.0), KINDS.index(r["type"])))
        head = {"type": "meta", **meta, "ownership": ownership is not None}
        records: list[Mapping[str, Any]] = [head, *timed]
        records += [{"type": "event", **e} for e in events]
        records += [ownership_record(o) for o in ownership or ()]
        if observation is not None:
            records += [process_record(view) for view in observation.processes]
        records.append({"type": "outcome", **outcome})
        scenario = head.get("scenario")
        if not isinstance(scenario, Scenario):
            return History.from_records(records)
        # the scenario's data is made when the meta line is read (a file, a replay)
        return History((Line("meta", _LazyRecord(head, scenario)),
                        *(Line.of_record(r) for r in records[1:])))
