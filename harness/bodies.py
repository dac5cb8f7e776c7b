"""What every scenario body does inside an engine's worker, whatever the engine.

An adapter's workflow and calculation code calls ``BodyRuntime.current().run(...)``
around each body. The runtime:

1. appends a ``BeginEntry`` and derives the body's attempt from its position in the
   begins log (the n-th begin of this target across the scenario, as fault plans
   count; exact even with concurrent workers, because appends are totally ordered);
2. lets the adapter's hook arm engine-level crashpoints for this attempt;
3. executes kills planned before the effect (``after_claim``, ``before_effect``): the
   worker SIGKILLs itself, as a crashpoint would, before anything is committed;
4. computes the body, appends its ``EffectEntry`` to the journal;
5. when gated, waits until the nemesis has handled that entry (so a fault "at entry k"
   lands while the body is between its effect and its checkpoint, every run);
6. executes kills planned at ``after_effect_before_checkpoint``, then raises
   ``InjectedFault`` if a ``RaiseIn`` names this attempt (the effect counts as executed).

It never touches the engine: engine-specific work goes through the ``on_begin`` hook.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from harness.journal import AppendLog, BeginEntry, EffectEntry, read_records, record_lines
from harness.session import ENV_VAR, BodyPlan, Session
from scenarios.faults import RaiseIn

__all__ = ["GATE_TIMEOUT", "BeginHook", "BodyRuntime", "InjectedFault"]

T = TypeVar("T")
BeginHook = Callable[[str, int, BodyPlan], None]
GATE_TIMEOUT = 60.0
"""A gated body waits at most this long for the nemesis, so a dead harness hangs no one."""

_BEFORE_EFFECT = ("after_claim", "before_effect")
_AFTER_EFFECT = ("after_effect_before_checkpoint",)


class InjectedFault(RuntimeError):
    """Raised by a body on the attempt a ``RaiseIn`` fault names (a planned bug)."""


def _sigkill_self() -> None:
    os.kill(os.getpid(), signal.SIGKILL)
    while True:  # pragma: no cover - the signal is delivered before this line
        time.sleep(1)


class BodyRuntime:
    """The per-process body runtime of one session (see the module docstring)."""

    _current: tuple[str, int, BodyRuntime] | None = None
    _installed: BodyRuntime | None = None

    def __init__(self, session: Session, die: Callable[[], None] = _sigkill_self) -> None:
        self.session = session
        self.die = die
        self.journal: AppendLog = session.open_log(session.journal_path)
        self.begins: AppendLog = session.open_log(session.begins_path)
        self.faults: AppendLog = session.open_log(session.faults_path)
        self.raises = tuple((f.target, f.attempt) for f in session.scenario.faults
                            if isinstance(f, RaiseIn))
        self._plan = BodyPlan()
        self._plan_stamp: tuple[int, int] | None = None

    @classmethod
    def current(cls) -> BodyRuntime:
        """The runtime named by ``$WFCONFORM_SESSION``, built once per worker process."""
        if cls._installed is not None:
            return cls._installed
        path = os.environ.get(ENV_VAR)
        if not path:
            raise RuntimeError(
                f"{ENV_VAR} is not set in this worker; the adapter must pass "
                "Session.env() to the engine's workers"
            )
        cached = cls._current
        if cached is not None and cached[0] == path and cached[1] == os.getpid():
            return cached[2]
        runtime = cls(Session.load(path))
        cls._current = (path, os.getpid(), runtime)
        return runtime

    @classmethod
    def install(cls, runtime: BodyRuntime | None) -> None:
        """Make ``current()`` return ``runtime`` (None: back to ``$WFCONFORM_SESSION``).

        For in-process tiers (``sim``), whose bodies run in the harness's own process and
        whose runtime needs hooks (worker identity, kills) the environment cannot carry.
        """
        cls._installed = runtime

    def now(self) -> float:
        """The time stamped on journal lines; comparable with the runner's records."""
        return time.monotonic()

    def worker_id(self) -> int:
        """The worker running this body (a pid here; in-process tiers override it)."""
        return os.getpid()

    def plan(self) -> BodyPlan:
        """The kill plan, re-read whenever the adapter rewrote it (after arm or heal)."""
        try:
            stat = self.session.plan_path.stat()
        except FileNotFoundError:
            return self._plan
        stamp = (stat.st_ino, stat.st_mtime_ns)  # each rewrite is a new inode (os.replace)
        if stamp != self._plan_stamp:
            self._plan = self.session.read_plan()
            self._plan_stamp = stamp
        return self._plan

    def land_engine_kill(self, crashpoint: str, target: str, attempt: int,
                         key: str | None = None, process: str | None = None) -> bool:
        """Land a crashpoint the adapter emulates (``BodyPlan.engine_kills``), once only.

        For the places no body reaches (``after_checkpoint_before_ack``,
        ``while_waiting``): logs the kill in the fault log as the body crashpoints are
        logged, then SIGKILLs this worker. Once only per (crashpoint, target, attempt)
        across the scenario: a workflow that is re-walked or redelivered after the kill
        reaches the same place again, and would otherwise kill itself forever; the
        marker is a file made with ``O_EXCL`` in the session folder, so two workers
        racing there fire it once. Returns False (and lives) when it already fired.
        """
        marker = self.session.workdir / f"fired-{crashpoint}-{attempt}-{_safe(target)}"
        try:
            os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        except FileExistsError:
            return False
        record: dict[str, Any] = {"type": "fault", "source": "body",
                                  "fault": "kill_at_crashpoint", "status": "fired",
                                  "crashpoint": crashpoint, "target": target,
                                  "attempt": attempt, "worker": self.worker_id(),
                                  "t": self.now()}
        if key is not None:
            record["key"] = key
        if process is not None:
            record["process"] = process
        self.faults.append(record)
        self.die()
        return True  # only where die() does not end the process (in-process tiers)

    # ------------------------------------------------------------------ the protocol
    def run(self, *, key: str, target: str, process: str, step: str | None,
            engine_attempt: int | None, compute: Callable[[], T],
            on_begin: BeginHook | None = None) -> T:
        """Execute one body under the harness's rules; see the module docstring."""
        t0 = self.now()
        worker = self.worker_id()
        attempt = self._begin(BeginEntry(key, target, process, worker, engine_attempt, t0))
        plan = self.plan()
        if on_begin is not None:
            on_begin(target, attempt, plan)
        self._maybe_kill(plan, _BEFORE_EFFECT, target, attempt, key, process)
        result = compute()
        raised = any(t == target and (a is None or a == attempt) for t, a in self.raises)
        entry = EffectEntry(key, target, process, step, attempt, engine_attempt, worker, t0,
                            self.now(), raised)
        line = self.journal.append(entry.to_record())
        if self.session.gated:
            self._wait_gate(line)
        self._maybe_kill(plan, _AFTER_EFFECT, target, attempt, key, process)
        if raised:
            self._log_fault("raise_in", None, target, attempt, key, process)
            raise InjectedFault(f"injected fault: {target} raises on attempt {attempt}")
        return result

    def _begin(self, entry: BeginEntry) -> int:
        mine = self.begins.append(entry.to_record()).rstrip("\n").encode("utf-8")
        count = 0
        for line in record_lines(self.session.begins_path.read_bytes()):
            if json.loads(line)["target"] == entry.target:
                count += 1
            if line == mine:
                return count
        raise RuntimeError(f"begin record vanished from {self.session.begins_path}")

    def _wait_gate(self, line: str) -> None:
        index = self._journal_index(line)
        deadline = time.monotonic() + GATE_TIMEOUT
        while self.session.gate() < index and time.monotonic() < deadline:
            time.sleep(0.001)

    def _journal_index(self, line: str) -> int:
        mine = line.rstrip("\n").encode("utf-8")
        lines = record_lines(Path(self.session.journal_path).read_bytes())
        for index, raw in enumerate(lines, start=1):
            if raw == mine:
                return index
        raise RuntimeError(f"journal entry vanished from {self.session.journal_path}")

    def _maybe_kill(self, plan: BodyPlan, points: tuple[str, ...], target: str, attempt: int,
                    key: str, process: str) -> None:
        if not plan.active:
            return
        for crashpoint, kill_target, kill_attempt in plan.body_kills:
            if crashpoint in points and kill_target == target and kill_attempt == attempt:
                self._log_fault("kill_at_crashpoint", crashpoint, target, attempt, key, process)
                self.die()

    def _log_fault(self, kind: str, crashpoint: str | None, target: str, attempt: int,
                   key: str, process: str) -> None:
        record: dict[str, Any] = {"type": "fault", "source": "body", "fault": kind,
                                  "status": "fired", "target": target, "attempt": attempt,
                                  "key": key, "process": process, "worker": self.worker_id(),
                                  "t": self.now()}
        if crashpoint is not None:
            record["crashpoint"] = crashpoint
        self.faults.append(record)


def _safe(target: str) -> str:
    """A target (``calc:add``, ``Wf.step``) as a file name, distinct per target."""
    readable = "".join(c if c.isalnum() or c in "._-" else "_" for c in target)[:60]
    return f"{readable}-{hashlib.sha1(target.encode('utf-8')).hexdigest()[:10]}"


def journal_entries(session: Session) -> list[EffectEntry]:
    """Every effect of a session, in journal order."""
    return [EffectEntry.from_record(r) for r in read_records(session.journal_path)]
