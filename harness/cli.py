"""``wfconform``: the command line, a thin shell over ``run_conformance`` and ``run_scenario``.

    wfconform run [--engine reference] [--tier embedded] [--scenario NAME ...] [--out DIR]
    wfconform replay PATH [--engine ...] [--tier ...]

Exit status: 0 all promised clauses hold, 1 a promised clause failed (or a declared
expected failure passed), 2 bad input (one line on stderr, no traceback), 130 Ctrl-C
(after everything the run started has been stopped and removed).
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from harness.adapters import load_adapter
from harness.conformance import run_conformance
from harness.errors import HarnessError, ScenarioFileError
from harness.matrix import render_matrix, render_run_line, render_verdicts
from harness.runner import RunOptions, run_scenario
from scenarios.errors import ScenarioError
from scenarios.scenario import Scenario

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wfconform", description="Conformance harness for workflow engines with "
        "checkpointed processes and caching.")
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--engine", default="reference",
                        help="'reference', 'aiida' or 'package.module:Adapter' (default: "
                             "reference)")
    common.add_argument("--tier", default=None,
                        help="engine tier (default: the adapter's own; embedded for reference)")
    common.add_argument("--chaos-timeout", type=float, default=30.0, metavar="S",
                        help="how long one launch may take under faults (default 30)")
    common.add_argument("--heal-timeout", type=float, default=10.0, metavar="S",
                        help="how long processes get to terminate after faults stop (L1)")
    run = sub.add_parser("run", parents=[common], help="run the catalog, print the matrix")
    run.add_argument("--scenario", action="append", default=[], metavar="NAME",
                     help="run only this catalog scenario (repeatable)")
    run.add_argument("--out", default="wfconform-failures", metavar="DIR",
                     help="where failing scenarios are written (default: %(default)s)")
    replay = sub.add_parser("replay", parents=[common], help="rerun one scenario file")
    replay.add_argument("path", metavar="PATH", help="a scenario JSON file")
    return parser


def _options(args: argparse.Namespace) -> RunOptions:
    return RunOptions(chaos_timeout=args.chaos_timeout, heal_timeout=args.heal_timeout)


def _select(names: Sequence[str]) -> tuple[Scenario, ...]:
    from scenarios.catalog import CATALOG, by_name

    return tuple(by_name(name) for name in names) if names else CATALOG


def _run(args: argparse.Namespace) -> int:
    factory = load_adapter(args.engine, args.tier)
    scenarios = _select(args.scenario)
    probe = factory()
    promised = probe.capabilities().promised - probe.capabilities().expected_failures
    print(f"wfconform run: engine {probe.name}, tier {probe.tier}, "
          f"{len(scenarios)} scenario(s)", flush=True)
    result = run_conformance(factory, scenarios, options=_options(args),
                             on_run=lambda r: print(render_run_line(r, promised), flush=True))
    print()
    print(render_matrix(result))
    print()
    ran = [r for r in result.runs if r.status != "not_applicable"]
    unknown = sum(1 for row in result.rows if row.verdict == "unknown")
    print(f"{len(ran)} scenario(s) ran, {len(result.runs) - len(ran)} not applicable; "
          f"{unknown} clause(s) unknown; {result.seconds:.1f} s")
    failing = result.failing_runs()
    if failing:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        print(f"failing scenarios written to {out}/; replay each with:")
        for run in failing:
            path = out / f"{run.scenario.name}.json"
            path.write_text(run.scenario.to_json(indent=2) + "\n", encoding="utf-8")
            if run.history is not None:
                run.history.write(out / f"{run.scenario.name}.history.jsonl")
            print(f"  wfconform replay {path}")
    print(f"{result.passed} passed, {result.failed} failed")
    return 1 if result.failed else 0


def _load_scenario(path: str) -> Scenario:
    file = Path(path)
    if not file.is_file():
        raise ScenarioFileError(path, "no such file")
    try:
        return Scenario.from_json(file.read_text(encoding="utf-8"))
    except (ScenarioError, UnicodeDecodeError) as error:
        raise ScenarioFileError(path, f"not a valid scenario ({error})") from None


def _replay(args: argparse.Namespace) -> int:
    scenario = _load_scenario(args.path)
    factory = load_adapter(args.engine, args.tier)
    capabilities = factory().capabilities()
    promised = capabilities.promised - capabilities.expected_failures
    run = run_scenario(factory, scenario, _options(args))
    print(render_verdicts(run, promised))
    failed = run.failed(frozenset(promised))
    print(f"{len(run.results) - len(failed)} clause(s) without failure, {len(failed)} failed")
    return 1 if failed else 0


def _sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # unwind through every finally: stop daemons, remove temp dirs


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    previous = signal.signal(signal.SIGTERM, _sigterm)
    try:
        return _run(args) if args.command == "run" else _replay(args)
    except (HarnessError, ScenarioError) as error:
        print(f"wfconform: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("wfconform: interrupted; the run's processes and temporary files were removed",
              file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
