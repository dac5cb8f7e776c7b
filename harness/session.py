"""A run's shared files: what the harness process and the engine's workers both read.

Why files named by one environment variable: the bodies run inside the engine's worker
processes, which the harness does not start itself, and nothing the harness needs there
(journal path, fault plan, gate) may travel as a process input, or it would change the
cache hash. The adapter passes ``WFCONFORM_SESSION=<workdir>/session.json`` to its
workers; everything else is found from there.

Files in the work directory:

| file | written by | content |
| --- | --- | --- |
| ``session.json`` | runner, once | scenario, gate on/off |
| ``plan.json`` | adapter (``arm_crashpoint``, ``disarm_all``) | kills the bodies execute |
| ``journal.jsonl`` | bodies | one ``EffectEntry`` per executed body |
| ``begins.jsonl`` | bodies | one ``BeginEntry`` per attempt, to count attempts |
| ``faults.jsonl`` | bodies and nemesis | every fault, when and where it landed |
| ``gate`` | nemesis | how many journal entries it has handled |
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.journal import AppendLog, read_records
from scenarios.scenario import Scenario

__all__ = ["BODY_CRASHPOINTS", "ENV_VAR", "GATE_OPEN", "BodyPlan", "Session", "write_atomic"]

ENV_VAR = "WFCONFORM_SESSION"
GATE_OPEN = 1 << 62
"""Written to the gate when the nemesis stops, so no body ever waits again."""

Kill = tuple[str, str, int]  # (crashpoint, target, attempt)
BODY_CRASHPOINTS: tuple[str, ...] = ("after_claim", "before_effect",
                                     "after_effect_before_checkpoint")
"""The crashpoints a body lands itself (``BodyRuntime`` SIGKILLs its own worker there);
every other kill is the adapter's to land (``BodyPlan.engine_kills``)."""


def write_atomic(path: Path, text: str) -> None:
    """Write ``path`` whole or not at all: a reader (another process) never sees half of
    it (a temporary file of this process, then a rename)."""
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


@dataclass(frozen=True)
class BodyPlan:
    """Kills that land inside or around bodies, as the adapter split them.

    ``body_kills`` are executed by the bodies themselves (a SIGKILL of their own worker
    at ``after_claim``/``before_effect``, i.e. before the body's effect, or at
    ``after_effect_before_checkpoint``). ``engine_kills`` are handed to the adapter's
    worker-side hook, which arms the engine's own crashpoints (and fault points such as
    a refused commit, ``fail_commit``) just in time. ``active``
    is False once the harness heals: bodies then inject no kills (exceptions from
    ``RaiseIn`` are scenario behaviour and stay).
    """

    body_kills: tuple[Kill, ...] = ()
    engine_kills: tuple[Kill, ...] = ()
    active: bool = True

    def with_kill(self, kill: Kill) -> BodyPlan:
        """This plan with ``kill`` placed by its crashpoint: a body crashpoint
        (``BODY_CRASHPOINTS``) among ``body_kills``, which the body lands, anything else
        (an engine crashpoint, a refused commit) among ``engine_kills``, which the
        adapter's worker-side hook lands. Which kills an engine can land at all stays the
        adapter's to decide (``Unsupported``) before it calls this."""
        if kill[0] in BODY_CRASHPOINTS:
            return BodyPlan((*self.body_kills, kill), self.engine_kills, self.active)
        return BodyPlan(self.body_kills, (*self.engine_kills, kill), self.active)

    def to_json(self) -> str:
        return json.dumps({"body_kills": [list(k) for k in self.body_kills],
                           "engine_kills": [list(k) for k in self.engine_kills],
                           "active": self.active})

    @classmethod
    def from_json(cls, text: str) -> BodyPlan:
        data = json.loads(text)
        return cls(tuple((str(c), str(t), int(a)) for c, t, a in data["body_kills"]),
                   tuple((str(c), str(t), int(a)) for c, t, a in data["engine_kills"]),
                   bool(data["active"]))


@dataclass(frozen=True)
class Session:
    """One scenario run's work directory and the scenario itself.

    ``gated`` makes every body wait, after appending its journal entry, until the
    nemesis has handled that entry: faults "at journal entry k" then land exactly while
    the body that wrote entry k is between its effect and its checkpoint, every run.
    """

    workdir: Path
    scenario: Scenario
    gated: bool = False
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def path(self) -> Path:
        return self.workdir / "session.json"

    @property
    def plan_path(self) -> Path:
        return self.workdir / "plan.json"

    @property
    def journal_path(self) -> Path:
        return self.workdir / "journal.jsonl"

    @property
    def begins_path(self) -> Path:
        return self.workdir / "begins.jsonl"

    @property
    def faults_path(self) -> Path:
        return self.workdir / "faults.jsonl"

    @property
    def gate_path(self) -> Path:
        return self.workdir / "gate"

    def env(self) -> dict[str, str]:
        """What the adapter must add to its workers' environment."""
        return {ENV_VAR: str(self.path)}

    def write(self) -> Session:
        """Create the shared files (session, empty plan, closed gate); return self."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        data = {"format": 1, "workdir": str(self.workdir), "gated": self.gated,
                "scenario": self.scenario.to_dict(), "extra": self.extra}
        write_atomic(self.path, json.dumps(data))
        self.write_plan(BodyPlan())
        self.set_gate(0)
        return self

    def write_plan(self, plan: BodyPlan) -> None:
        write_atomic(self.plan_path, plan.to_json())

    def read_plan(self) -> BodyPlan:
        return BodyPlan.from_json(self.plan_path.read_text(encoding="utf-8"))

    def set_gate(self, handled: int) -> None:
        write_atomic(self.gate_path, str(handled))

    def gate(self) -> int:
        try:
            return int(self.gate_path.read_text(encoding="utf-8") or 0)
        except (FileNotFoundError, ValueError):
            return 0

    def open_log(self, path: str | os.PathLike[str]) -> AppendLog:
        """An append-only log of this run (a file here; in memory for ``MemorySession``)."""
        return AppendLog(path)

    def read_log(self, path: str | os.PathLike[str]) -> list[dict[str, Any]]:
        """Every complete record of a log opened with ``open_log``, in append order."""
        return read_records(path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Session:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(Path(data["workdir"]), Scenario.from_dict(data["scenario"], validate=False),
                   bool(data["gated"]), dict(data.get("extra", {})))
