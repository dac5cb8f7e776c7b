"""A results directory: what ``run``/``fuzz --out DIR`` write and ``report`` reads.

Layout (everything JSON, so a report never needs the engine or a re-run)::

    DIR/run.json                   engine, tier, seed, capabilities, command, timing
    DIR/verdicts.jsonl             one line per scenario run: status, reasons, clause results
    DIR/histories/<name>.history.jsonl   the run's history (every run of ``run``;
                                   failures, original and shrunk, of ``fuzz``)
    DIR/<name>.json                a failing scenario, for ``wfconform replay``
    DIR/<name>.verdict.json        what that failure was: engine, tier, clauses, signature
    DIR/<name>.history.jsonl       its history

Verdict lines are appended as runs finish, so an interrupted run leaves a readable
directory. ``verdicts.jsonl`` is plain JSON Lines (one record per line, no blank lines:
line-by-line readers work); only this process writes it, so unlike the journal it needs
no leading newline against torn writes: a line torn by a kill is ended on reopening, and
the reader counts and reports lines that do not parse instead of skipping them silently.
``FailureRecord`` is the replay contract: ``signature`` is the failure with
everything a rerun may change legitimately (times, worker pids, the engine's process
ids: see ``harness.engine_ids``) taken out, so "same verdict and same witness" is a
string comparison; and ``options`` are the run options the failure was found with, so a
replay reruns it under the same bounds.

Failure record formats: 1 (ids literal in the signature, no options; still read: the
signature is named on reading, and the timeouts taken from the ``heal`` and ``wait``
lines, of the history file beside it when present), 2 (ids named, ``ids_from`` says
from what, ``options`` recorded; cache keys literal: still read, its keys are named on
reading, from the history beside it when its ids were named from a history and the file
is there, else from its witness lines), 3 (ids and cache keys named, both from
``ids_from``).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from harness.checks import ClauseResult
from harness.engine_ids import IdNames, json_objects
from harness.errors import ResultsDirError, ScenarioFileError
from harness.history import History
from harness.journal import dump_line
from harness.runner import RunOptions, ScenarioRun
from scenarios.capabilities import Capabilities
from scenarios.values import JSON_KINDS

__all__ = [
    "BadLine",
    "FailureRecord",
    "ResultsDir",
    "RunRecord",
    "capabilities_from_dict",
    "capabilities_to_dict",
    "literal_signature",
    "load_results",
    "load_runs",
    "name_ids",
    "options_from_record",
    "options_to_record",
    "signature",
]

FORMAT = 1
"""Of a results directory's ``run.json``."""
RECORD_FORMAT = 3
"""Of a failure record (``<name>.verdict.json``); see the module docstring."""
VERDICT_OPTIONS = ("chaos_timeout", "heal_timeout", "check_contract")
"""The ``RunOptions`` fields that can change a verdict (the rest is housekeeping)."""
VOLATILE = frozenset({"t", "t0", "t1", "worker", "killed_pid", "at", "wall_clock", "id"})
"""History fields a faithful rerun may change: times, worker pids and event row ids."""


def _stable(line: str) -> str:
    try:
        data = json.loads(line)
    except ValueError:
        return line
    if not isinstance(data, dict):
        return line
    kept = {k: v for k, v in data.items() if k not in VOLATILE or data.get("type") == "process"}
    return json.dumps(kept, sort_keys=True, separators=(",", ":"))


_PIDS = ((re.compile(r"\bworker \d+"), "worker <pid>"),
         (re.compile(r"\bworkers: \[[\d, ]*\]"), "workers: [<pids>]"))


def _scrub(text: str) -> str:
    """Worker pids quoted in prose (sentences, diagnoses) differ on every run."""
    for pattern, replacement in _PIDS:
        text = pattern.sub(replacement, text)
    return text


def signature(results: Iterable[ClauseResult], history: History | None = None, *,
              keys: str = "same") -> list[dict[str, Any]]:
    """The failed clauses with their sentences and witnesses, volatile fields removed and
    engine ids and cache keys named (from ``history``, the run's, when given; else from
    the witness lines alone: a replay must name them from the same source as the record
    did; ``keys``: as ``name_ids``)."""
    return name_ids(literal_signature(results), history, keys=keys)


def literal_signature(results: Iterable[ClauseResult]) -> list[dict[str, Any]]:
    """``signature`` with the engine ids as the engine wrote them (format 1 records)."""
    return [{"clause": r.clause, "sentence": _scrub(r.sentence),
             "witness": [_scrub(_stable(line)) for line in r.witness]}
            for r in results if r.verdict == "fail"]


_KEY_SOURCES = ("same", "witness", "none")


def name_ids(entries: Iterable[Mapping[str, Any]], history: History | None = None, *,
             ids: bool = True, keys: str = "same") -> list[dict[str, Any]]:
    """Signature entries with engine ids and cache keys named (``harness.engine_ids``), in
    order, from ``history`` when given, else from the entries' witness lines.

    ``keys``: ``"same"`` names the keys from that same source, ``"witness"`` from the
    witness lines whatever ``history``, ``"none"`` leaves them literal (as format 2
    wrote them). ``ids=False`` leaves the ids as they are (named already: format 2)."""
    if keys not in _KEY_SOURCES:
        raise ValueError(f"keys={keys!r}: expected one of {', '.join(_KEY_SOURCES)}")
    entries = list(entries)
    witness = json_objects(line for e in entries for line in e["witness"])
    lines = witness if history is None else [line.data for line in history.lines]
    key_lines = {"same": None, "witness": witness, "none": ()}[keys]
    names = IdNames(lines, key_lines, ids=ids)
    return [{"clause": e["clause"], "sentence": names.prose(e["sentence"]),
             "witness": [names.line(line) for line in e["witness"]]} for e in entries]


def options_to_record(options: RunOptions) -> dict[str, Any]:
    """The verdict-changing run options, for a failure record."""
    return {name: getattr(options, name) for name in VERDICT_OPTIONS}


def options_from_record(recorded: Mapping[str, Any] | None,
                        base: RunOptions | None = None) -> RunOptions:
    """``base`` (default ``RunOptions()``) with the recorded options put in."""
    base = base or RunOptions()
    known = {k: v for k, v in (recorded or {}).items() if k in VERDICT_OPTIONS}
    return replace(base, **known)


_RULE_DEFAULTS: dict[str, Any] = {
    "child_failure": "parent_finishes_failed", "caching_config_applies": "at_lookup",
    "invalidation_scope": "per_node", "min_chaos_timeout": 0.0, "min_heal_timeout": 0.0}
"""The declared rules and timings and their defaults (a results file states only others)."""


def capabilities_to_dict(caps: Capabilities) -> dict[str, Any]:
    data = {"promised": sorted(caps.promised), "failed_source_policy": caps.failed_source_policy,
            "hash_normalisations": sorted(caps.hash_normalisations),
            "crashpoints": sorted(caps.crashpoints), "tiers": sorted(caps.tiers),
            "expected_failures": sorted(caps.expected_failures),
            "isolated_kills": caps.isolated_kills, "value_kinds": sorted(caps.value_kinds)}
    for name, default in _RULE_DEFAULTS.items():  # defaults are left out: old files
        if getattr(caps, name) != default:
            data[name] = getattr(caps, name)
    return data


def capabilities_from_dict(data: Mapping[str, Any]) -> Capabilities:
    return Capabilities(
        frozenset(data["promised"]), data["failed_source_policy"],
        frozenset(data["hash_normalisations"]), frozenset(data["crashpoints"]),
        frozenset(data["tiers"]), frozenset(data.get("expected_failures", ())),
        isolated_kills=bool(data.get("isolated_kills", False)),
        value_kinds=frozenset(data.get("value_kinds", JSON_KINDS)),
        **{name: data.get(name, default) for name, default in _RULE_DEFAULTS.items()})


@dataclass(frozen=True)
class FailureRecord:
    """What a written failure was, so ``replay`` can say whether it reproduced.

    ``signature`` has its engine ids and cache keys named from ``ids_from``
    (``history``: the run's whole history; ``witness``: the witness lines alone), its keys
    from ``keys_from`` instead when that is set (a format 2 record whose history file is
    gone: ``witness``), and ``replay`` names those of its reruns the same way
    (``rerun_signature``). ``options``: the verdict-changing run options
    (``VERDICT_OPTIONS``) the failure was found with; for format 1, the timeouts its
    history states, or None.
    ``format`` is the format the record was read from (``RECORD_FORMAT`` when made here).
    """

    engine: str
    tier: str
    clauses: tuple[str, ...]
    signature: tuple[dict[str, Any], ...]
    seed: int | None = None
    shrink: str = ""
    options: Mapping[str, Any] | None = None
    ids_from: str = "witness"
    format: int = RECORD_FORMAT
    keys_from: str | None = None

    def to_json(self) -> str:
        data = {"format": RECORD_FORMAT, "engine": self.engine, "tier": self.tier,
                "clauses": list(self.clauses), "signature": list(self.signature),
                "ids_from": self.ids_from, "options": self.options,
                "seed": self.seed, "shrink": self.shrink}
        if self.keys_from not in (None, self.ids_from):
            data["keys_from"] = self.keys_from
        return json.dumps(data, indent=2)

    @classmethod
    def of_run(cls, engine: str, tier: str, run: ScenarioRun,
               failed: Iterable[ClauseResult], options: RunOptions, seed: int | None = None,
               shrink: str = "") -> FailureRecord:
        """The record of ``run``'s ``failed`` clauses, found with ``options``."""
        failed = tuple(failed)
        return cls(engine, tier, tuple(r.clause for r in failed),
                   tuple(signature(failed, run.history)), seed, shrink,
                   options_to_record(options),
                   "history" if run.history is not None else "witness")

    def names_from(self, run: ScenarioRun) -> History | None:
        """What to name ``run``'s ids from so its signature compares with this record's."""
        return run.history if self.ids_from == "history" else None

    def rerun_signature(self, run: ScenarioRun,
                        failed: Iterable[ClauseResult]) -> list[dict[str, Any]]:
        """The signature of ``failed`` (clauses of ``run``, a rerun of this record's
        scenario), its ids and keys named from what this record's were named from."""
        keys = "witness" if self.keys_from == "witness" else "same"
        return signature(failed, self.names_from(run), keys=keys)

    @classmethod
    def for_scenario_file(cls, path: str | Path) -> FailureRecord | None:
        """The record beside scenario file ``X.json`` (``X.verdict.json``), if any.

        A format 1 record's literal signature is named here, from the history beside it
        (``X.history.jsonl``, the same run's) when present, else from its witness lines.
        """
        sidecar = Path(path).with_suffix(".verdict.json")
        if not sidecar.is_file():
            return None
        try:
            data = json.loads(sidecar.read_text(encoding="utf-8"))
            version = int(data.get("format", 1))
        except (ValueError, AttributeError) as error:
            raise ScenarioFileError(str(sidecar), f"not a failure record ({error})") from None
        if version > RECORD_FORMAT:
            raise ScenarioFileError(
                str(sidecar), f"failure record format {version} is newer than this wfconform "
                f"reads (1 to {RECORD_FORMAT}); upgrade wfconform, or move the .verdict.json "
                "away to replay the scenario without comparing")
        try:
            entries = tuple(data["signature"])
            ids_from = str(data.get("ids_from", "witness"))
            options = data.get("options")
            keys_from = data.get("keys_from")
            if version == 1:
                entries, ids_from, options = _read_format_1(Path(path), entries)
            elif version == 2:
                entries, keys_from = _read_format_2(Path(path), entries, ids_from)
            return cls(str(data["engine"]), str(data["tier"]), tuple(data["clauses"]),
                       entries, data.get("seed"), str(data.get("shrink", "")),
                       dict(options) if options is not None else None, ids_from, version,
                       None if keys_from is None else str(keys_from))
        except (ValueError, KeyError, TypeError) as error:
            raise ScenarioFileError(str(sidecar), f"not a failure record ({error})") from None


def _read_format_1(path: Path, entries: tuple[dict[str, Any], ...]
                   ) -> tuple[tuple[dict[str, Any], ...], str, dict[str, Any] | None]:
    """A format 1 record's literal signature, named, and its options, from the history
    file beside scenario ``path`` (the same run's) when there is one."""
    history_file = path.with_suffix(".history.jsonl")
    if not history_file.is_file():
        return tuple(name_ids(entries)), "witness", None
    history = History.load(history_file)
    return tuple(name_ids(entries, history)), "history", _options_in_history(history)


def _read_format_2(path: Path, entries: tuple[dict[str, Any], ...], ids_from: str
                   ) -> tuple[tuple[dict[str, Any], ...], str]:
    """A format 2 record's signature (ids named, cache keys literal) with its keys named,
    and what from: the history beside scenario ``path`` when the ids were named from a
    history and the file is there (the same run's), else the witness lines."""
    history_file = path.with_suffix(".history.jsonl")
    if ids_from == "history" and history_file.is_file():
        history = History.load(history_file)
        return tuple(name_ids(entries, history, ids=False)), "history"
    return tuple(name_ids(entries, ids=False)), "witness"


def _options_in_history(history: History) -> dict[str, Any] | None:
    """The timeouts a run used, as its history states them (the ``heal`` op's bound, a
    ``wait`` op's): how a format 1 record, which has no options, still replays right."""
    found: dict[str, Any] = {}
    for line in history.of("op"):
        name = {"heal": "heal_timeout", "wait": "chaos_timeout"}.get(str(line.get("op")))
        if name is not None and isinstance(line.get("timeout"), (int, float)):
            found.setdefault(name, float(line["timeout"]))
    return found or None


@dataclass(frozen=True)
class RunRecord:
    """One verdict line, read back: enough for the matrix and the reports."""

    name: str
    status: str
    reasons: tuple[str, ...]
    seconds: float
    results: tuple[ClauseResult, ...]
    source: str
    history: str | None
    scenario: Mapping[str, Any] | None

    def failed(self, promised: frozenset[str] | None = None) -> tuple[ClauseResult, ...]:
        return tuple(r for r in self.results if r.verdict == "fail"
                     and (promised is None or r.clause in promised))


class ResultsDir:
    """Writes one results directory (see the module docstring); safe to reopen."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "histories").mkdir(exist_ok=True)
        self._verdicts = _LineWriter(self.root / "verdicts.jsonl")
        self._meta: dict[str, Any] = {}

    def close(self) -> None:
        self._verdicts.close()

    def start(self, **meta: Any) -> None:
        self._meta = {"format": FORMAT, "started": time.time(), "finished": False, **meta}
        self._write_meta()

    def finish(self, **summary: Any) -> None:
        self._meta.update(finished=True, **summary)
        self._write_meta()

    def _write_meta(self) -> None:
        (self.root / "run.json").write_text(json.dumps(self._meta, indent=2) + "\n",
                                            encoding="utf-8")

    def record(self, run: ScenarioRun, source: str, *, history: bool = True,
               scenario: bool = True, name: str | None = None) -> None:
        """Append ``run``'s verdict line (and write its history when asked)."""
        name = name or run.scenario.name
        path = None
        if history and run.history is not None:
            path = f"histories/{name}.history.jsonl"
            run.history.write(self.root / path)
        self._verdicts.append({
            "scenario": name, "status": run.status, "reasons": list(run.reasons),
            "seconds": round(run.seconds, 3), "source": source, "history": path,
            "results": [r.to_dict() for r in run.results],
            "scenario_data": run.scenario.to_dict() if scenario else None})

    def write_failure(self, run: ScenarioRun, record: FailureRecord,
                      name: str | None = None) -> Path:
        """Write a failing scenario, its history and its failure record; the scenario path."""
        return write_failure(self.root, run, record, name)


class _LineWriter:
    """Appends one JSON line per record to a file only this process writes."""

    def __init__(self, path: Path) -> None:
        self._file = open(path, "a+", encoding="utf-8")  # noqa: SIM115 (closed by close())
        if self._file.tell() > 0:
            self._file.seek(self._file.tell() - 1)
            if self._file.read(1) != "\n":  # a line torn by a kill: end it
                self._file.write("\n")

    def append(self, record: dict[str, Any]) -> None:
        self._file.write(dump_line(record))
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def write_failure(root: Path, run: ScenarioRun, record: FailureRecord,
                  name: str | None = None) -> Path:
    """``<root>/<name>.json`` (+ ``.history.jsonl``, ``.verdict.json``) for a failure."""
    root.mkdir(parents=True, exist_ok=True)
    name = name or run.scenario.name
    path = root / f"{name}.json"
    path.write_text(run.scenario.to_json(indent=2) + "\n", encoding="utf-8")
    if run.history is not None:
        run.history.write(root / f"{name}.history.jsonl")
    path.with_suffix(".verdict.json").write_text(record.to_json() + "\n", encoding="utf-8")
    return path


@dataclass(frozen=True)
class BadLine:
    """A line of ``verdicts.jsonl`` that is not a verdict record: where and why."""

    number: int
    reason: str
    last: bool  # the file's last line: a write torn by a kill of the writer


def load_runs(root: str | Path) -> tuple[dict[str, Any], tuple[RunRecord, ...]]:
    """``run.json`` and every verdict line of a results directory (bad lines dropped;
    ``load_results`` also says which lines were bad)."""
    meta, runs, _ = load_results(root)
    return meta, runs


def load_results(root: str | Path
                 ) -> tuple[dict[str, Any], tuple[RunRecord, ...], tuple[BadLine, ...]]:
    """``run.json``, every verdict record, and the lines that are not verdict records.

    Raises ``ResultsDirError`` when ``root`` is not a results directory at all."""
    base = Path(root)
    if not base.exists():
        raise ResultsDirError(str(base), "no such directory")
    if not base.is_dir():
        raise ResultsDirError(str(base), "not a directory")
    meta_path = base / "run.json"
    if not meta_path.is_file():
        raise ResultsDirError(str(base), "not a results directory (no run.json)")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        capabilities_from_dict(meta["capabilities"])
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as error:
        raise ResultsDirError(str(base), f"run.json is not a wfconform run record "
                              f"({type(error).__name__}: {error})") from None
    verdicts = base / "verdicts.jsonl"
    text = verdicts.read_text(encoding="utf-8", errors="replace") if verdicts.exists() else ""
    lines = text.splitlines()
    runs, bad = [], []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue  # the older format put a blank line before every record
        try:
            runs.append(_run_record(json.loads(line)))
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            last = number == len(lines)
            bad.append(BadLine(number, f"{type(error).__name__}: {error}"[:120], last))
    return meta, tuple(runs), tuple(bad)


def _run_record(data: dict[str, Any]) -> RunRecord:
    results = tuple(ClauseResult(r["clause"], r["verdict"], tuple(r["witness"]),
                                 r["sentence"], r["exercised"], r["scenario"],
                                 int(r.get("loose", 0)))
                    for r in data["results"])
    return RunRecord(data["scenario"], data["status"], tuple(data["reasons"]),
                     float(data["seconds"]), results, data.get("source", ""),
                     data.get("history"), data.get("scenario_data"))
