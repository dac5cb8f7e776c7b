"""The ``wfconform`` subcommands, as functions of parsed arguments returning an exit status.

Kept apart from ``harness.cli`` (argument parsing, error and signal handling) so each
command reads top to bottom: load the adapter, run, print, write. Every command that
generates scenarios prints its seed first.
"""

from __future__ import annotations

import argparse
import secrets
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from harness.adapters import load_adapter
from harness.conformance import EXIT_FAILED, EXIT_OK, EXIT_UNTRUSTED, run_conformance
from harness.errors import ScenarioFileError, UsageError
from harness.failures import Failure, FailureHandler
from harness.matrix import render_matrix, render_run_line, render_verdicts
from harness.output import junit_results, verbosity, write_junit
from harness.progress import Progress, rate_text
from harness.results import FailureRecord, ResultsDir, capabilities_to_dict, signature
from harness.run_errors import ErrorLog
from harness.runner import AdapterFactory, RunOptions, ScenarioRun, run_scenario
from scenarios.capabilities import Capabilities
from scenarios.errors import ScenarioError
from scenarios.scenario import Scenario

if TYPE_CHECKING:
    from harness.adapter import EngineAdapter
    from harness.fuzz import FuzzOptions, FuzzStats
    from harness.fuzz_campaign import Scale

__all__ = ["fuzz_command", "replay_command", "report_command", "run_command",
           "selftest_command"]

DEFAULT_FAILURES = "wfconform-failures"


def options_of(args: argparse.Namespace) -> RunOptions:
    return RunOptions(chaos_timeout=args.chaos_timeout, heal_timeout=args.heal_timeout)


def engine_timeouts(args: argparse.Namespace, caps: Capabilities) -> str:
    """Fill the timeouts not given on the command line: the command's default, or the
    engine's declared minimum when larger (`Capabilities.min_chaos_timeout`); return
    what to say about it ("" when the defaults stand)."""
    chaos, heal = getattr(args, "timeout_defaults",
                          (RunOptions.chaos_timeout, RunOptions.heal_timeout))
    raised = []
    for name, default, floor in (("chaos_timeout", chaos, caps.min_chaos_timeout),
                                 ("heal_timeout", heal, caps.min_heal_timeout)):
        if getattr(args, name, None) is None:
            setattr(args, name, max(default, floor))
            if floor > default:
                raised.append(f"{name.replace('_', ' ')} {floor:g} s")
    return f", {' and '.join(raised)} (the engine's declared minimum)" if raised else ""


# `run` is the conformance suite: the same command gives the same scenarios, so a CI
# verdict never depends on the draw; `fuzz` explores and draws a fresh seed each time.
RUN_SEED = 2026


def _seed(args: argparse.Namespace, default: int | None = None) -> int:
    if args.seed is not None:
        return int(args.seed)
    return default if default is not None else secrets.randbelow(2**31)


def _select(names: list[str], clauses: list[str]) -> tuple[Scenario, ...]:
    from scenarios.capabilities import ALL_CLAUSES
    from scenarios.catalog import CATALOG, by_name

    for clause in clauses:
        if clause not in ALL_CLAUSES:
            raise UsageError("--clause", clause, f"a clause id ({', '.join(ALL_CLAUSES)})")
    chosen = [by_name(name) for name in names]
    chosen += [s for s in CATALOG if s.clause in clauses and s not in chosen]
    return tuple(chosen) if names or clauses else CATALOG


def _failure_lines(failure: Failure) -> str:
    shrunk = f"; {failure.shrunk.describe()}" if failure.shrunk is not None else ""
    return (f"  wfconform replay {failure.path}\n"
            f"      {failure.clause}: {failure.sentence()[:150]}{shrunk}")


def run_command(args: argparse.Namespace) -> int:
    """The catalog (or a selection) plus ``--examples`` Hypothesis-drawn scenarios."""
    from harness.sources import draw_scenarios, knobs_for

    factory = load_adapter(args.engine, args.tier)
    probe = factory()
    caps = probe.capabilities()
    promised = frozenset(caps.promised - caps.expected_failures)
    catalog = _select(args.scenario, args.clause)
    examples = args.examples if args.examples is not None else (
        0 if args.scenario or args.clause else 3)
    if examples < 0:
        raise UsageError("--examples", examples, "0 or more")
    seed = _seed(args, RUN_SEED)
    drawn = draw_scenarios(examples, seed, knobs_for(probe, max_steps=6))
    timeouts = engine_timeouts(args, caps)
    print(f"wfconform run: engine {probe.name}, tier {probe.tier}, {len(catalog)} catalog "
          f"scenario(s) + {len(drawn)} drawn by Hypothesis, seed {seed}{timeouts}", flush=True)
    with junit_results(args.out, args.junitxml) as out:
        results = ResultsDir(out) if out else None
        try:
            if results is not None:
                results.start(command="run", engine=args.engine, adapter=probe.name,
                              tier=probe.tier, seed=seed, examples=examples,
                              capabilities=capabilities_to_dict(caps))
            code = _run_and_print(args, factory, promised, catalog, drawn, results)
        finally:
            if results is not None:
                results.close()
        if out and args.junitxml:
            print(f"wrote {write_junit(out, args.junitxml)}")
    return code


def _run_and_print(args: argparse.Namespace, factory: AdapterFactory,
                   promised: frozenset[str], catalog: tuple[Scenario, ...],
                   drawn: list[Scenario], results: ResultsDir | None) -> int:
    names = {s.name for s in catalog}
    errors = ErrorLog()
    level = verbosity(args)
    total = len(catalog) + len(drawn)
    progress = Progress(quiet=level < 0)
    done: list[ScenarioRun] = []

    def on_run(run: ScenarioRun) -> None:
        done.append(run)
        line = render_run_line(run, promised, errors.add(run))
        if level > 0 or run.status in ("error", "aborted") or run.failed(promised):
            progress.message(line)  # -v: every scenario; else only what went wrong
        bad = sum(1 for r in done if r.status == "error" or r.failed(promised))
        progress.show(f"run [{len(done)}/{total} scenarios] {bad} failing or errored, "
                      f"last: {run.scenario.name}")
        if results is not None:
            results.record(run, "catalog" if run.scenario.name in names else "hypothesis")

    result = run_conformance(factory, (*catalog, *drawn), options=options_of(args),
                             on_run=on_run, maxfail=args.maxfail)
    progress.clear()
    if result.stopped:
        print(f"stopped after {args.maxfail} failing scenario(s) (--maxfail/-x): "
              f"{result.stopped} scenario(s) not run")
    if level >= 0:
        print()
        print(render_matrix(result))
        print()
    ran = [r for r in result.runs if r.status in ("ran", "aborted")]
    applicable = len(ran) + len(result.errors)
    unknown = sum(1 for row in result.rows if row.verdict == "unknown")
    print(f"{len(ran)} scenario(s) ran, {len(result.errors)} errored, "
          f"{len(result.runs) - applicable} not applicable; {unknown} clause(s) unknown; "
          f"{result.seconds:.1f} s")
    failing = result.failing_runs()
    if failing:
        out = Path(args.out or DEFAULT_FAILURES)
        handler = FailureHandler(factory, options_of(args), promised, args.engine,
                                 result.tier, out, shrink_budget=args.shrink_time,
                                 on_shrink=_shrink_line(progress, args.shrink_time))
        print(f"failing scenarios written to {out}/; replay each with:", flush=True)
        for run in failing:
            shrink_it = args.shrink or run.scenario.name not in names
            failure = handler.handle(run, shrink_it=shrink_it)
            progress.clear()
            if failure is not None:
                print(_failure_lines(failure), flush=True)
    _report_untrusted(args, errors, len(result.runs), result.untrusted)
    if results is not None:
        results.finish(seconds=round(result.seconds, 3), passed=result.passed,
                       failed=result.failed, errored=len(result.errors),
                       untrusted=result.untrusted)
    print(_summary_line(result.passed, result.failed, errors.count, result.untrusted))
    return result.exit_code


def _shrink_line(progress: Progress, budget: float
                 ) -> Callable[[str, int, int, int, float], None]:
    """The progress line of a shrink: the clause kept failing, runs, size, time spent."""

    def show(clause: str, tries: int, steps: int, size: int, seconds: float) -> None:
        progress.show(f"shrinking a {clause} failure: {tries} run(s), {steps} edit(s) kept, "
                      f"size now {size}, {seconds:.1f} s (budget {budget:g} s)",
                      force=tries == 1)  # each shrink says it began, even in a quiet log

    return show


def _report_untrusted(args: argparse.Namespace, errors: ErrorLog, total: int,
                      why: str | None) -> None:
    """Each distinct error once (tracebacks with ``-v``, else in a file), and why the
    run cannot be trusted; to stderr, so the last stdout line stays the summary."""
    if errors.count:
        verbose = verbosity(args) > 0
        print(errors.summary(total, verbose=verbose), file=sys.stderr)
        if not verbose:
            out = getattr(args, "out", None) or DEFAULT_FAILURES
            path = errors.write(Path(out) / "errors.txt")
            print(f"  tracebacks: {path} (or rerun with -v)", file=sys.stderr)
    if why:
        print(f"wfconform: the run cannot be trusted: {why} (exit status {EXIT_UNTRUSTED})",
              file=sys.stderr, flush=True)


def _summary_line(passed: int, failed: int, errored: int, untrusted: str | None) -> str:
    """``N passed, M failed``, plus what keeps the run from meaning "all held"."""
    line = f"{passed} passed, {failed} failed"
    if errored:
        line += f", {errored} scenario(s) errored"
    elif untrusted:
        line += ": nothing was checked"
    return line


def _load_scenario(path: str) -> Scenario:
    file = Path(path)
    if file.is_dir():
        inside = sorted(p.name for p in file.glob("*.json")
                        if not p.name.endswith((".verdict.json", "run.json")))
        hint = (f" (it holds {len(inside)}: e.g. {file / inside[0]})" if inside
                else " (it holds no scenario file)")
        raise ScenarioFileError(path, f"is a directory; give one scenario file in it{hint}")
    if not file.is_file():
        raise ScenarioFileError(path, "no such file")
    try:
        return Scenario.from_json(file.read_text(encoding="utf-8"))
    except (ScenarioError, UnicodeDecodeError) as error:
        raise ScenarioFileError(path, f"not a valid scenario ({error})") from None


def replay_command(args: argparse.Namespace) -> int:
    """Rerun a scenario file ``--times`` times; compare with its failure record if any.

    Engine, tier and run options come from the record beside the file unless given on
    the command line; signatures are compared with engine ids and cache keys named
    (``signature``), so an engine that assigns new ids (UUIDs) or derives new cache keys
    on every run still reproduces.
    """
    scenario = _load_scenario(args.path)
    record = FailureRecord.for_scenario_file(args.path)
    engine, tier = args.engine, args.tier
    if engine is None:
        engine = record.engine if record is not None else "reference"
        tier = tier if tier is not None or record is None else record.tier
        if record is not None:
            print(f"replaying on {engine} (tier {tier}), as recorded beside {args.path}")
    if args.times < 1:
        raise UsageError("--times", args.times, "a positive count")
    options, said = _replay_options(args, record)
    print(f"run options: {said}", flush=True)
    factory = load_adapter(engine, tier)
    caps = factory().capabilities()
    promised = frozenset(caps.promised - caps.expected_failures)
    first: ScenarioRun | None = None
    same = 0
    errors = ErrorLog()
    for _ in range(args.times):
        run = run_scenario(factory, scenario, options)
        errors.add(run)
        if first is None:
            first = run
        if record is not None:
            expected = list(record.signature)
            got = record.rerun_signature(run, run.failed(promised))
        else:
            expected = signature(first.failed(promised), first.history)
            got = signature(run.failed(promised), run.history)
        same += got == expected
    assert first is not None
    print(render_verdicts(first, promised))
    failed = first.failed(promised)
    if record is not None:
        print(f"reproduced {same}/{args.times}: same failed clauses, sentences and witness "
              f"as recorded ({', '.join(record.clauses) or 'none'}; engine ids and cache keys "
              f"compared by what they name, not literally)")
    elif args.times > 1:
        print(f"consistent {same}/{args.times}: same verdict and witness as the first run")
    print(f"{len(first.results) - len(failed)} clause(s) without failure, {len(failed)} failed")
    if failed:
        return EXIT_FAILED
    why = f"{errors.count} of {args.times} rerun(s) errored" if errors.count else None
    _report_untrusted(args, errors, args.times, why)
    return EXIT_UNTRUSTED if why else EXIT_OK


_REPLAY_OPTIONS = (("chaos_timeout", "--chaos-timeout", "chaos timeout {:g} s"),
                   ("heal_timeout", "--heal-timeout", "heal timeout {:g} s"),
                   ("check_contract", None, "contract checks {}"))


def _replay_options(args: argparse.Namespace,
                    record: FailureRecord | None) -> tuple[RunOptions, str]:
    """The run options of a replay and where each came from: the command line when given
    there, else the failure record, else the default (records of format 1 have none)."""
    from harness.results import options_from_record

    recorded = dict(record.options) if record is not None and record.options else {}
    values: dict[str, object] = {}
    parts = []
    for name, flag, shown in _REPLAY_OPTIONS:
        given = getattr(args, name, None) if flag is not None else None
        if given is not None:
            values[name], source = given, flag
        elif name in recorded:
            values[name] = recorded[name]
            source = "recorded history" if record and record.format == 1 else "recorded"
        else:
            values[name], source = getattr(RunOptions(), name), "default"
        value = values[name]
        text = shown.format("on" if value is True else "off" if value is False else value)
        parts.append(f"{text} ({source})")
    if record is not None and not recorded:
        parts.append(f"the record (format {record.format}) has no options")
    return options_from_record(values), ", ".join(parts)


def fuzz_command(args: argparse.Namespace) -> int:
    """Time-boxed generated scenarios; shrunk failures written with replay commands."""
    from harness.fuzz import FuzzOptions, source_description

    if not args.max_time > 0:
        raise UsageError("--max-time", args.max_time, "a positive number of seconds")
    tier, note = _fuzz_tier(args)
    factory = load_adapter(args.engine, tier)
    probe = factory()
    caps = probe.capabilities()
    promised = frozenset(caps.promised - caps.expected_failures)
    seed = _seed(args)
    timeouts = engine_timeouts(args, caps)
    max_failures = args.max_failures if args.max_failures is not None else args.maxfail
    options = FuzzOptions(args.max_time, seed, args.generator, args.max_steps, args.shrink_time,
                          max_failures, options_of(args), max_examples=args.max_examples,
                          steer=not args.no_steer)
    source = source_description(options, probe)
    out = Path(args.out or DEFAULT_FAILURES)
    budget = f", at most {args.max_examples} scenarios" if args.max_examples else ""
    print(f"wfconform fuzz: engine {probe.name}, tier {probe.tier}{note}, seed {seed}, "
          f"generator {args.generator}, max time {args.max_time:g} s{budget}{timeouts} "
          f"(repeat with --seed {seed})\n  source: {source}", flush=True)
    progress = Progress(options.max_time, quiet=verbosity(args) < 0)
    handler = FailureHandler(factory, options.run, promised, args.engine, probe.tier, out,
                             shrink_budget=args.shrink_time,
                             on_shrink=_shrink_line(progress, args.shrink_time))
    with junit_results(args.out, args.junitxml) as results_dir:
        results = ResultsDir(results_dir) if results_dir else None
        try:
            if results is not None:
                results.start(command="fuzz", engine=args.engine, adapter=probe.name,
                              tier=probe.tier, seed=seed, generator=args.generator,
                              source=source, max_examples=args.max_examples,
                              capabilities=capabilities_to_dict(caps))
            stats = _fuzz_with_progress(factory, options, handler, results, progress,
                                            _scale(args, probe), args.engine, tier)
        finally:
            if results is not None:
                results.close()
        if results_dir and args.junitxml:
            print(f"wrote {write_junit(results_dir, args.junitxml)}")
    return _fuzz_summary(args, probe, stats, promised, out)


def _fuzz_summary(args: argparse.Namespace, probe: EngineAdapter, stats: FuzzStats,
                  promised: frozenset[str], out: Path) -> int:
    """Failures with their replay commands, coverage, the summary line; the exit status."""
    from harness.coverage import reports_coverage

    if stats.failures:
        print(f"failing scenarios written to {out}/ (one per failing clause); replay each "
              "with:")
        for failure in stats.failures:
            print(_failure_lines(failure))
    cells = ""
    if reports_coverage(probe):
        cells = (f"kill-point cells {stats.coverage.covered()}/"
                 f"{len(stats.coverage.grid())}, ")
        if args.coverage:
            print("kill-point coverage (crashpoint x step kind x fault kind):")
            print(stats.coverage.format())
    elif args.coverage:
        print(f"kill-point coverage: tier {probe.tier} does not report it (use --tier sim)")
    print(f"fuzz: {stats.scenarios} scenarios in {stats.seconds:.1f} s "
          f"({rate_text(stats.scenarios, stats.seconds)}), {cells}{stats.not_applicable} not "
          f"applicable, {stats.errors} error(s), {stats.failing_runs} failing run(s), "
          f"{len(stats.failures)} failing clause(s); seed {stats.seed}")
    if stats.interrupted:
        print("wfconform: interrupted; the run's processes and temporary files were removed",
              file=sys.stderr)
        return 130
    checked = stats.checked & promised
    why = None
    if stats.errors:
        why = f"{stats.errors} of {stats.scenarios} scenario(s) errored"
    elif not checked:
        why = "no promised clause was checked (every one is unknown or not applicable)"
    _report_untrusted(args, stats.error_log, stats.scenarios, why)
    if stats.failures:
        return EXIT_FAILED
    return EXIT_UNTRUSTED if why else EXIT_OK


def _scale(args: argparse.Namespace, probe: EngineAdapter) -> Scale:
    """``--workers``, ``--shard`` and ``--example-db`` (harness.fuzz_campaign).

    The default is all cores only for an in-memory engine: an engine with worker
    processes of its own already keeps the cores busy, and a second campaign beside it
    would stretch every launch towards its chaos timeout (false L1 failures)."""
    from harness.fuzz_campaign import Scale
    from harness.seeds import parse_shard
    from harness.sim_fast import runs_in_memory

    if args.workers is not None and args.workers < 1:
        raise UsageError("--workers", args.workers, "1 or more worker processes")
    workers = args.workers if args.workers is not None or runs_in_memory(probe) else 1
    return Scale(workers, parse_shard(args.shard), args.example_db)


def _fuzz_with_progress(factory: AdapterFactory, options: FuzzOptions, handler: FailureHandler,
                        results: ResultsDir | None, progress: Progress, scale: Scale,
                        engine: str, tier: str | None) -> FuzzStats:
    import time

    from harness.fuzz_campaign import run_campaign

    # shrinking ends with the time box (a failure found at the end still gets a few s)
    handler.deadline = time.monotonic() + options.max_time

    def on_run(s: FuzzStats, run: ScenarioRun) -> None:
        note = s.error_log.last_note if run.status == "error" else None
        if note is not None and " again " not in note:  # each distinct error once, as it comes
            progress.message(f"ERROR {run.scenario.name}\n{note}")
        progress.update(s.seconds, s.scenarios, s.rate, len(s.failures), s.not_applicable)

    def on_progress(s: FuzzStats) -> None:
        progress.update(s.seconds, s.scenarios, s.rate, len(s.failures), s.not_applicable)

    stats = run_campaign(factory, options, handler, results, scale, engine, tier, on_run,
                         on_progress, on_failure=lambda f: progress.message(
                             f"FAIL {f.original.scenario.name}: {f.clause}\n"
                             f"{_failure_lines(f)}"))
    progress.update(stats.seconds, stats.scenarios, stats.rate, len(stats.failures),
                    stats.not_applicable, force=True)
    progress.clear()
    if results is not None:
        results.finish(seconds=round(stats.seconds, 3), scenarios=stats.scenarios,
                       failing_clauses=[f.clause for f in stats.failures],
                       kill_point_cells=stats.coverage.covered(),
                       interrupted=stats.interrupted)
    return stats


def _fuzz_tier(args: argparse.Namespace) -> tuple[str | None, str]:
    """``sim`` for the reference engine when that tier exists, else the adapter's default;
    the note says why, for the header."""
    if args.tier is not None:
        return args.tier, ""  # the user's choice needs no reason
    if args.engine != "reference":
        return None, " (the adapter's default; --tier to choose)"
    from harness.adapters.reference import TIERS

    if "sim" in TIERS:
        return "sim", (" (fuzz's default for the reference engine: in-process and seeded, "
                       "the most scenarios per second; --tier embedded for worker processes)")
    return None, " (the sim tier is not available here: fuzzing on embedded)"


def report_command(args: argparse.Namespace) -> int:
    """The three reports; bad lines of ``verdicts.jsonl`` are said, never skipped silently,
    and a directory whose every line is bad is an error (exit 2), not "no runs"."""
    from harness.errors import ResultsDirError
    from harness.reports import load_report, write_reports

    directory = Path(args.directory)
    report = load_report(directory)
    if report.bad_lines:
        first = report.bad_lines[0]
        torn = " (the last line: a write torn by a kill)" if first.last else ""
        print(f"wfconform: warning: {len(report.bad_lines)} line(s) of "
              f"{directory / 'verdicts.jsonl'} are not verdict records, left out of the "
              f"report; first: line {first.number}{torn}: {first.reason}", file=sys.stderr)
        if not report.runs:
            raise ResultsDirError(str(directory), "verdicts.jsonl holds no readable verdict")
    written = write_reports(directory, Path(args.to) if args.to else None, report)
    for path in written:
        print(f"wrote {path}")
    return 0


def selftest_command(args: argparse.Namespace) -> int:
    """Every broken variant (or ``--variant``s) on its catalog scenario; a per-clause table;
    exit 1 when a variant escapes or is caught after its detection budget."""
    from harness.adapters.broken_reference import VARIANTS
    from harness.selftest import DEFAULT_DETECT_BUDGET, clause_table, selftest

    names = args.variant or list(VARIANTS)
    for name in names:
        if name not in VARIANTS:
            raise UsageError("--variant", name, f"one of {', '.join(VARIANTS)}")
    tier = args.tier or "embedded"
    budget = args.detect_budget if args.detect_budget is not None else DEFAULT_DETECT_BUDGET
    if not budget > 0:
        raise UsageError("--detect-budget", budget, "a positive number of seconds")
    print(f"wfconform selftest: {len(names)} deliberately broken variant(s) of the reference "
          f"engine, tier {tier}; each must be caught within {budget:g} s", flush=True)
    progress = Progress()
    outcomes = selftest(names, Path(args.out or DEFAULT_FAILURES), shrink_time=args.shrink_time,
                        on_outcome=lambda o: progress.message(o.line()), tier=tier,
                        detect_budget=budget,
                        on_shrink=_shrink_line(progress, args.shrink_time))
    progress.clear()
    counted = [o for o in outcomes if o.counted]
    caught = sum(o.caught for o in counted)
    print()
    print(f"per clause (tier {tier}): caught/total = variants aimed at the clause that its "
          "check failed on")
    print(clause_table(outcomes))
    skipped = len(outcomes) - len(counted)
    if skipped:
        print(f"{skipped} variant(s) not on tier {tier}: neither caught nor missed")
    slowest = max((o.detect_seconds for o in counted), default=0.0)
    longest = max((o.witness_lines for o in counted), default=0)
    print(f"slowest detection {slowest:.2f} s; longest witness {longest} history line(s)")
    print(f"{caught} of {len(counted)} variant(s) caught")
    if not counted:  # nothing ran here: a selftest that checked nothing never passes
        print(f"wfconform: the selftest checked nothing: no chosen variant exists on tier "
              f"{tier} (exit status {EXIT_UNTRUSTED})", file=sys.stderr)
        return EXIT_UNTRUSTED
    return EXIT_OK if caught == len(counted) else EXIT_FAILED
