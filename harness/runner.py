"""Run one scenario against one engine: isolate, chaos, heal, observe, check, clean up.

Each run gets a fresh work directory (journal, engine database, shared files) and a
fresh adapter. The chaos phase performs the launch plan with the nemesis landing
faults; each launch must terminate within ``chaos_timeout`` before the next operation
(the plan's own rule). The heal phase stops all faults and gives every process
``heal_timeout`` seconds to terminate (clause L1). Then the engine's view is observed,
the history built and every clause checked. The adapter is closed and the directory
removed in ``finally``: also on failures and Ctrl-C, nothing the run started survives.
"""

from __future__ import annotations

import dataclasses
import shutil
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.adapter import EngineAdapter, Handle, offers
from harness.checks import ClauseResult, run_checks
from harness.checks.result import FAIL, UNKNOWN
from harness.contract import CheckedAdapter
from harness.errors import Unsupported
from harness.history import History, HistoryRecorder
from harness.nemesis import Nemesis, needs_gate
from harness.session import Session
from harness.sim_fast import MemorySession, SyncNemesis, runs_in_memory
from harness.workdirs import make_workdir, reclaim_once, unmark
from scenarios.capabilities import ALL_CLAUSES
from scenarios.faults import Fault, fault_kind
from scenarios.oracle import Expectation, expect
from scenarios.plan import Invalidate, KillProcess, Launch, LaunchOp, Relaunch, SetCaching
from scenarios.scenario import Scenario

__all__ = ["AdapterFactory", "RunOptions", "ScenarioRun", "applicability", "run_scenario",
           "unoffered_faults", "without_faults"]

AdapterFactory = Callable[[], EngineAdapter]
_OP_KINDS = {Launch: "launch", Relaunch: "relaunch", SetCaching: "set_caching",
             Invalidate: "invalidate", KillProcess: "kill_process"}


@dataclass(frozen=True)
class RunOptions:
    """Bounds (seconds) and housekeeping of a run; ``check_contract`` wraps the adapter
    in ``CheckedAdapter`` so protocol breaches are named where they happen."""

    chaos_timeout: float = 30.0
    heal_timeout: float = 10.0
    keep_workdir: bool = False
    workdir_root: str | None = None
    check_contract: bool = True
    in_memory: bool = True  # adapters that offer it run in memory (harness.sim_fast)


@dataclass(frozen=True)
class ScenarioRun:
    """The outcome of one scenario: status, history and per-clause results.

    ``status`` is ``ran``, ``not_applicable`` (the engine lacks something the scenario
    needs; no verdicts), ``aborted`` (an operation turned out unsupported mid-run;
    the verdicts of what ran are kept, but not trusted for passes) or ``error`` (the
    adapter or engine raised; every clause is unknown, with the error as the reason,
    and ``traceback`` keeps where it was raised: a run holding an error never passes).
    """

    scenario: Scenario
    status: str
    reasons: tuple[str, ...] = ()
    expectation: Expectation | None = None
    history: History | None = None
    results: tuple[ClauseResult, ...] = ()
    seconds: float = 0.0
    workdir: str | None = field(default=None, compare=False)
    traceback: str | None = field(default=None, compare=False)

    def failed(self, promised: frozenset[str] | None = None) -> tuple[ClauseResult, ...]:
        return tuple(r for r in self.results if r.verdict == FAIL
                     and (promised is None or r.clause in promised))


def applicability(scenario: Scenario, adapter: EngineAdapter,
                  expectation: Expectation) -> tuple[str, ...]:
    """Why this adapter cannot run this scenario (empty when it can).

    Only the plan's operations count here: a fault the adapter cannot do is left out of
    the run instead (``unoffered_faults``), so that one missing fault does not cost the
    scenario's other faults and launches."""
    reasons = list(expectation.not_applicable)
    needed = {_OP_KINDS[type(op)] for op in scenario.launches}
    for operation in sorted(needed):
        if not offers(adapter, operation):
            reasons.append(f"{adapter.name}/{adapter.tier} cannot {operation.replace('_', ' ')}")
    return tuple(reasons)


def unoffered_faults(scenario: Scenario, adapter: EngineAdapter) -> list[tuple[Fault, str]]:
    """The scenario's faults the adapter says it cannot do, each with the reason."""
    return [(fault, f"{adapter.name}/{adapter.tier} cannot "
                    f"{fault_kind(fault).replace('_', ' ')}")
            for fault in scenario.faults if not offers(adapter, fault_kind(fault))]


def without_faults(scenario: Scenario, skipped: list[tuple[Fault, str]]) -> Scenario:
    """``scenario`` without the ``skipped`` faults (the run an engine that cannot do them
    makes, and the one it is judged against)."""
    gone = [fault for fault, _ in skipped]
    kept = tuple(f for f in scenario.faults if not any(f is g for g in gone))
    return dataclasses.replace(scenario, faults=kept)


def skipped_reasons(skipped: list[tuple[Fault, str]]) -> list[str]:
    return [f"fault {_fault_text(fault)} skipped: {why}" for fault, why in skipped]


def _fault_text(fault: Fault) -> str:
    fields = ", ".join(f"{k}={v!r}" for k, v in vars(fault).items())
    return f"{fault_kind(fault)}({fields})"


def _own_clause_unjudged(scenario: Scenario, results: tuple[ClauseResult, ...],
                         skipped: list[tuple[Fault, str]]) -> tuple[ClauseResult, ...]:
    """The clause the scenario was written for is not credited when every fault of the
    scenario was skipped: the fault-free run says little about it (a C5 scenario without
    its broker restart passes C5 trivially). With a fault left (N1's scenario keeps its
    ``RaiseIn`` without the unrelated broker restart), it is judged as usual. A failure
    stays a failure; the other clauses keep the verdicts of the run that happened."""
    own = scenario.clause
    if len(skipped) < len(scenario.faults):
        return results
    kinds = ", ".join(dict.fromkeys(fault_kind(fault) for fault, _ in skipped))
    return tuple(
        ClauseResult(r.clause, UNKNOWN, (), f"not judged here: this scenario was written "
                     f"for {own} with {kinds}, which the engine cannot do; the run went on "
                     "without it", False, r.scenario)
        if r.clause == own and r.verdict != FAIL else r
        for r in results)


def run_scenario(factory: AdapterFactory, scenario: Scenario,
                 options: RunOptions | None = None) -> ScenarioRun:
    """Run ``scenario`` on a fresh adapter from ``factory`` and check every clause.

    Whatever the adapter raises, from its constructor to ``close``, ends as an ``error``
    run (or ``not_applicable`` for a declared ``Unsupported`` before anything ran):
    one bad adapter call never takes the whole suite down, and never reads as a pass.
    """
    options = options or RunOptions()
    started = time.monotonic()
    try:
        adapter: EngineAdapter = factory()
        if options.check_contract:
            adapter = CheckedAdapter(adapter)
        capabilities = adapter.capabilities()
        skipped = unoffered_faults(scenario, adapter)
        judged = without_faults(scenario, skipped) if skipped else scenario
        expectation = expect(judged, capabilities)
        reasons = applicability(judged, adapter, expectation)
    except Unsupported as error:
        return ScenarioRun(scenario, "not_applicable", (str(error),),
                           seconds=time.monotonic() - started)
    except Exception as error:
        return _errored(scenario, None, "the adapter could not be prepared", error, started)
    if reasons:
        return ScenarioRun(scenario, "not_applicable", reasons, expectation,
                           seconds=time.monotonic() - started)
    memory = options.in_memory and not options.keep_workdir and runs_in_memory(adapter)
    if memory:
        reclaim_once(options.workdir_root)  # dead runs' folders, though this run makes none
        workdir = Path(f"<memory:{scenario.name}>")
    else:
        workdir = make_workdir(scenario.name, options.workdir_root)  # reclaims dead runs
    try:
        history, unsupported, late = _execute(adapter, judged, workdir, options, memory,
                                              skipped_reasons(skipped))
    except Unsupported as error:  # open() or observe() declared what the tier cannot do
        _close(adapter, workdir, options)
        return ScenarioRun(scenario, "not_applicable", (str(error),), expectation,
                           seconds=time.monotonic() - started)
    except Exception as error:  # an adapter or engine crash: every verdict is unknown
        _close(adapter, workdir, options)
        return _errored(scenario, expectation, "the run crashed", error, started)
    except BaseException:  # Ctrl-C: clean up, then let it unwind
        _close(adapter, workdir, options, quiet=True)
        raise
    closing = _close(adapter, workdir, options)
    if closing is not None:  # a close that fails may leave the engine running: say so
        return _errored(scenario, expectation, "the adapter's close() failed", closing,
                        started)
    if late:  # faults that raised Unsupported when landed: they did nothing
        judged = without_faults(judged, late)
        expectation = expect(judged, capabilities)
        skipped += late
    results = run_checks(judged, expectation, history)
    if skipped:
        results = _own_clause_unjudged(scenario, results, skipped)
    status = "aborted" if unsupported else "ran"
    return ScenarioRun(scenario, status, (*skipped_reasons(skipped), *unsupported),
                       expectation, history, results, time.monotonic() - started,
                       str(workdir) if options.keep_workdir else None)


def _close(adapter: EngineAdapter, workdir: Path, options: RunOptions,
           quiet: bool = False) -> Exception | None:
    """Close the adapter and remove the work directory; return what ``close`` raised."""
    try:
        adapter.close()
    except Exception as error:
        return None if quiet else error
    finally:
        if str(workdir).startswith("<memory:"):
            pass  # an in-memory run made no folder
        elif not options.keep_workdir:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            unmark(workdir)
    return None


def _errored(scenario: Scenario, expectation: Expectation | None, what: str,
             error: BaseException, started: float) -> ScenarioRun:
    """An ``error`` run: every clause unknown, the reason in one line, the traceback kept."""
    reason = f"{what}: {type(error).__name__}: {error}"
    results = tuple(ClauseResult(c, UNKNOWN, (), reason, True, scenario.name)
                    for c in ALL_CLAUSES)
    trace = "".join(traceback.format_exception(error))
    return ScenarioRun(scenario, "error", (reason,), expectation, None, results,
                       time.monotonic() - started, traceback=trace)


def _execute(adapter: EngineAdapter, scenario: Scenario, workdir: Path,
             options: RunOptions, memory: bool = False, skipped: list[str] | None = None,
             ) -> tuple[History, list[str], list[tuple[Fault, str]]]:
    """Chaos, heal and observe; returns the history, the plan operations that turned out
    unsupported (the run stopped there) and the faults that did (the run went on)."""
    kind, nemesis_kind = (MemorySession, SyncNemesis) if memory else (Session, Nemesis)
    session = kind(workdir, scenario, gated=needs_gate(scenario)).write()
    recorder = HistoryRecorder()
    handles: dict[str, Handle] = {}
    adapter.open(session)
    nemesis = nemesis_kind(adapter, session, recorder, handles)
    stopped: list[str] = []
    unsupported: list[str] = []
    try:
        nemesis.arm()
        nemesis.start()
        for index, op in enumerate(scenario.launches):
            if nemesis.unsupported:
                break
            try:
                stopped += _perform(adapter, op, index, recorder, handles, options, nemesis)
            except Unsupported as error:
                unsupported.append(str(error))
                recorder.add("op", i=index, op=_OP_KINDS[type(op)], status="unsupported",
                             reason=str(error))
            if stopped or unsupported:
                break
        nemesis.stop()
        _heal(adapter, recorder, handles, options)
        observation = adapter.observe()
        recorder.sight(observation, len(scenario.launches))
        events = adapter.events() if adapter.supports("events") else ()
        ownership = (adapter.ownership()  # type: ignore[attr-defined]  # offered: optional
                     if offers(adapter, "ownership") else None)
    finally:
        nemesis.stop()
    unsupported += nemesis.unsupported
    meta = {"scenario_name": scenario.name, "engine": adapter.name, "tier": adapter.tier,
            "wall_clock": time.time(), "scenario": scenario}  # data made when read
    outcome: dict[str, Any] = {"status": "aborted" if unsupported else "ran",
                               "stopped": stopped, "unsupported": unsupported}
    skipped_faults = [*(skipped or ()), *skipped_reasons(nemesis.skipped)]
    if skipped_faults:  # only then: the histories of runs that skipped nothing are unchanged
        outcome["skipped_faults"] = skipped_faults
    logs = (session.begins_path, session.journal_path, session.faults_path)
    return recorder.build(meta, logs, observation, events, outcome, ownership,
                          read=session.read_log), unsupported, list(nemesis.skipped)


def _perform(adapter: EngineAdapter, op: LaunchOp, index: int, recorder: HistoryRecorder,
             handles: dict[str, Handle], options: RunOptions, nemesis: Nemesis) -> list[str]:
    """Do one plan operation; return why the plan must stop (a launch that hangs).

    A launch gets ``chaos_timeout`` s plus the service outages meanwhile (``Nemesis.wait``):
    a broker restart's own duration is not the engine's delay.
    """
    t = time.monotonic()
    if isinstance(op, (Launch, Relaunch)):
        if isinstance(op, Launch):
            handle = adapter.launch(op.label, op.workflow, op.inputs)
            fields: dict[str, Any] = {"workflow": op.workflow}
        else:
            handle = adapter.relaunch(op.label, handles[op.of])
            fields = {"of": op.of, "of_process": handles[op.of].id}
        handles[op.label] = handle
        recorder.add("op", i=index, op=_OP_KINDS[type(op)], label=op.label, process=handle.id,
                     t=t, **fields)
        state, excused = nemesis.wait(handle, options.chaos_timeout)
        outage = {"excused": round(excused, 3)} if excused else {}
        recorder.add("op", i=index, op="wait", label=op.label, process=handle.id,
                     state=state or "timeout", timeout=options.chaos_timeout, **outage)
        recorder.sight(adapter.observe(), index)
        if state is None:
            extra = f" (+{excused:.1f} s of service outage excused)" if excused else ""
            return [f"launch {op.label} (process {handle.id}) did not terminate within "
                    f"{options.chaos_timeout} s of chaos{extra}"]
    elif isinstance(op, SetCaching):
        adapter.set_caching(op.default, tuple(op.enabled), tuple(op.disabled))
        recorder.add("op", i=index, op="set_caching", default=op.default,
                     enabled=list(op.enabled), disabled=list(op.disabled), t=t)
    elif isinstance(op, Invalidate):
        adapter.invalidate(handles[op.launch], op.calc_path)
        recorder.add("op", i=index, op="invalidate", label=op.launch,
                     path=f"{op.launch}/{op.calc_path}", t=t)
    elif op.at_effect is None:
        adapter.kill_process(handles[op.launch])
        recorder.add("op", i=index, op="kill_process", label=op.launch,
                     process=handles[op.launch].id, t=t)
        recorder.sight(adapter.observe(), index)
    return []


def _heal(adapter: EngineAdapter, recorder: HistoryRecorder, handles: dict[str, Handle],
          options: RunOptions) -> None:
    """No more faults; every process gets ``heal_timeout`` s to terminate (L1)."""
    adapter.disarm_all()
    recorder.add("op", op="heal", timeout=options.heal_timeout)
    deadline = time.monotonic() + options.heal_timeout
    for view in adapter.observe().processes:
        if view.terminal:
            continue
        handle = Handle(view.path or view.id, view.id)
        state = adapter.wait(handle, max(0.0, deadline - time.monotonic()))
        fields = {} if state else {"reason": adapter.diagnose(handle)}
        recorder.add("op", op="heal_wait", process=view.id, path=view.path,
                     state=state or "stuck", timeout=options.heal_timeout, **fields)
