"""``wfconform``: the command line, a thin shell over ``run_conformance`` and friends.

    wfconform run      [--engine E] [--tier T] [--services S] [--scenario NAME ...] [--clause C ...]
                       [--examples N] [--seed N] [--shrink] [--out DIR]
                       [-v|-q] [-x|--maxfail N] [--junitxml PATH]
    wfconform fuzz     --max-time S [--max-examples N] [--seed N] [--engine E] [--tier T]
                       [--generator seeded|hypothesis] [--no-steer] [--coverage] [--out DIR]
                       [--workers N] [--shard I/N] [--example-db DIR|URL]
                       [-v|-q] [-x|--maxfail N] [--junitxml PATH]
    wfconform replay   PATH [--times N] [--engine E] [--tier T] [--chaos-timeout S]
                       [--heal-timeout S]   (default: engine, tier and timeouts as recorded)
    wfconform report   DIR [--to DIR]
    wfconform selftest [--variant NAME ...] [--tier embedded|sim] [--detect-budget S]

Exit status: 0 all promised clauses hold, 1 a promised clause failed (or a declared
expected failure passed; for ``selftest``: a broken variant was not caught), 2 bad input
(one line on stderr, no traceback), 3 the run cannot be trusted: a scenario errored (the
adapter or engine raised something other than a declared ``Unsupported``; each distinct
error is printed once, tracebacks with ``-v`` or in ``errors.txt``) or no promised
clause was checked at all, 130 Ctrl-C (after everything the run started has been
stopped and removed). The commands themselves are in ``harness.commands``.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from types import FrameType

from harness.command_scope import command_scope
from harness.commands import (
    fuzz_command,
    replay_command,
    report_command,
    run_command,
    selftest_command,
)
from harness.errors import HarnessError
from harness.output import add_output_options, hypothesis_home, quiet_third_party_logs, verbosity
from harness.services.providers import SERVICE_CHOICES, SERVICES_ENV
from scenarios.errors import ScenarioError

__all__ = ["main"]


EXIT_STATUS = """exit status (run, fuzz, replay, selftest):
  0    every promised clause held (selftest: every broken variant was caught)
  1    a promised clause failed, or a declared expected failure passed
       (selftest: a broken variant escaped or was caught too late)
  2    bad input: one line on stderr naming the option, its value and the fix
  3    the run cannot be trusted: a scenario errored (the adapter or engine raised
       something other than a declared Unsupported), or nothing promised was checked
  130  interrupted (Ctrl-C or SIGTERM), after everything the run started was removed"""


def _version() -> str:
    try:
        return version("wfconform")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def _common(timeouts: tuple[float, float], recorded: bool = False,
            tier_default: str = "the adapter's own; embedded for reference"
            ) -> argparse.ArgumentParser:
    """Engine, tier and timeouts; ``recorded``: replay's, whose defaults are the record's."""
    said = "the failure record's beside PATH, else " if recorded else ""
    chaos, heal = (f"{said}{t:g} s" if recorded else f"{t:g} s" for t in timeouts)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--engine", default="reference",
                        help="'reference', 'aiida', 'prefect', 'celery', 'dbos', 'temporal' or "
                             f"'package.module:Adapter' (default: {said}reference)")
    common.add_argument("--tier", default=None,
                        help=f"engine tier (default: {said}{tier_default})")
    common.add_argument("--services", default=None, choices=SERVICE_CHOICES,
                        help="where the real tier gets PostgreSQL and RabbitMQ: 'urls' "
                             "(WFCONFORM_*_URL), 'local' (throwaway servers), 'containers' "
                             "(Docker; adds pause and partition faults) or 'auto', the first "
                             f"that works (default: ${SERVICES_ENV}, else auto)")
    floor = "" if recorded else ", or the engine's declared minimum when larger"
    common.add_argument("--chaos-timeout", type=float, default=None, metavar="S",
                        help=f"how long one launch may take under faults (default "
                             f"{chaos}{floor})")
    common.add_argument("--heal-timeout", type=float, default=None, metavar="S",
                        help="how long processes get to terminate after faults stop (L1; "
                             f"default {heal}{floor})")
    if not recorded:
        common.set_defaults(timeout_defaults=timeouts)
    return common


def _generating(parser: argparse.ArgumentParser, shrink_time: float,
                seed_default: str = "random, printed") -> None:
    parser.add_argument("--seed", type=int, default=None, metavar="N",
                        help=f"seed of the generated scenarios (default: {seed_default})")
    parser.add_argument("--out", default=None, metavar="DIR",
                        help="write results (verdicts, histories) and failing scenarios here, "
                             "for `wfconform report DIR` (default: failing scenarios only, "
                             "in ./wfconform-failures)")
    parser.add_argument("--shrink-time", type=float, default=shrink_time, metavar="S",
                        help="seconds, over all failures, spent shrinking; while any is "
                             "left a failure may take 12 reruns of its scenario, so a slow "
                             "engine still shrinks (default %(default)s)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wfconform", description="Conformance harness for workflow engines with "
        "checkpointed processes and caching.", epilog=EXIT_STATUS,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"wfconform {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", parents=[_common((30.0, 10.0))], epilog=EXIT_STATUS,
                         formatter_class=argparse.RawDescriptionHelpFormatter,
                         help="run the catalog (plus Hypothesis examples), print the matrix")
    add_output_options(run)
    run.add_argument("--scenario", action="append", default=[], metavar="NAME",
                     help="run only this catalog scenario (repeatable)")
    run.add_argument("--clause", action="append", default=[], metavar="C",
                     help="run only the catalog scenarios written for clause C (repeatable)")
    run.add_argument("--examples", type=int, default=None, metavar="N",
                     help="scenarios drawn by Hypothesis on top of the catalog (default 3; "
                          "0 with --scenario or --clause)")
    run.add_argument("--shrink", action="store_true",
                     help="shrink failing catalog scenarios too (drawn ones always are)")
    _generating(run, 60.0, "2026, so a run is reproducible")
    fuzz = sub.add_parser("fuzz", parents=[_common(
        (10.0, 5.0), tier_default="sim for the reference engine (in-process, fastest), else "
        "the adapter's own")], epilog=EXIT_STATUS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        help="run generated scenarios for a time box, shrink failures")
    add_output_options(fuzz)
    fuzz.add_argument("--max-time", type=float, required=True, metavar="S",
                      help="the time box: no scenario starts after S seconds, and shrinking "
                           "ends by then too (a failure found at the end gets 5 s or two "
                           "reruns)")
    fuzz.add_argument("--max-examples", type=int, default=0, metavar="N",
                      help="also stop after N scenarios (default: only the time box)")
    fuzz.add_argument("--generator", choices=("seeded", "hypothesis"), default="seeded",
                      help="scenarios.generate(scenario_seed(seed, i)), or Hypothesis "
                           "(deep profile, short rounds) steered by hypothesis.target() "
                           "toward uncovered kill-point cells on tiers that report them "
                           "(sim) (default: seeded)")
    fuzz.add_argument("--no-steer", action="store_true",
                      help="with --generator hypothesis: generate only, no hypothesis.target "
                           "(to compare coverage with and without steering)")
    fuzz.add_argument("--max-steps", type=int, default=8, metavar="N",
                      help="steps per generated scenario, at most (default 8)")
    fuzz.add_argument("--max-failures", type=int, default=None, metavar="N",
                      help="the same as --maxfail: stop after N distinct failing clauses, "
                           "each shrunk and written (default: never)")
    fuzz.add_argument("--coverage", action="store_true",
                      help="print the kill-point coverage table (crashpoint x step kind x "
                           "fault kind) at the end; filled by tiers that report it (sim)")
    fuzz.add_argument("--workers", type=int, default=None, metavar="N",
                      help="worker processes (default: all cores on the in-memory sim "
                           "tier, 1 on tiers whose engines run OS processes of their own); "
                           "failures are deduplicated by clause across them")
    fuzz.add_argument("--shard", default="1/1", metavar="I/N",
                      help="run shard I of N of the campaign's seed stream (disjoint "
                           "shards, e.g. one per CI matrix job; default 1/1)")
    fuzz.add_argument("--example-db", default=None, metavar="DIR|URL",
                      help="Hypothesis example database shared by shards: failing "
                           "scenarios saved there are replayed first (a directory, or "
                           "redis://HOST:PORT with hypothesis[redis]; default: "
                           "<failures dir>/examples)")
    _generating(fuzz, 60.0)
    replay = sub.add_parser("replay", parents=[_common((30.0, 10.0), recorded=True)],
                            help="rerun one scenario file")
    add_output_options(replay, stop=False, junit=False)
    # None tells "not given": the failure record's engine, tier and options are used then
    replay.set_defaults(engine=None, chaos_timeout=None, heal_timeout=None)
    replay.add_argument("path", metavar="PATH", help="a scenario JSON file")
    replay.add_argument("--times", type=int, default=1, metavar="N",
                        help="rerun N times and count how often the failure reproduced")
    report = sub.add_parser("report", help="Markdown, JUnit XML and HTML from a results DIR")
    report.add_argument("directory", metavar="DIR", help="written by run/fuzz --out DIR")
    report.add_argument("--to", default=None, metavar="DIR",
                        help="where to write report.md, junit.xml, report.html (default: DIR)")
    selftest = sub.add_parser("selftest", help="show that every broken variant is caught")
    selftest.add_argument("--variant", action="append", default=[], metavar="NAME",
                          help="check only this variant (repeatable)")
    selftest.add_argument("--shrink-time", type=float, default=30.0, metavar="S",
                          help="seconds spent shrinking each variant's witness")
    selftest.add_argument("--out", default=None, metavar="DIR",
                          help="where witnesses are written (default ./wfconform-failures)")
    selftest.add_argument("--tier", default=None, choices=("embedded", "sim"),
                          help="run the variants with worker OS processes (embedded, the "
                               "default) or in-process on the seeded simulation (sim)")
    selftest.add_argument("--detect-budget", type=float, default=None, metavar="S",
                          help="a variant counts as caught only if detected within S seconds "
                               "(shrinking excluded; default: 30)")
    return parser


_COMMANDS = {"run": run_command, "fuzz": fuzz_command, "replay": replay_command,
             "report": report_command, "selftest": selftest_command}


def _sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # unwind through every finally: stop daemons, remove temp dirs


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    restore_logging = quiet_third_party_logs(verbosity(args))
    hypothesis_home()  # no .hypothesis/ folder in the user's current directory
    if getattr(args, "services", None):
        os.environ[SERVICES_ENV] = args.services  # read where the real tier starts them
    previous = signal.signal(signal.SIGTERM, _sigterm)
    try:
        with command_scope():
            return _COMMANDS[args.command](args)
    except (HarnessError, ScenarioError) as error:
        print(f"wfconform: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("wfconform: interrupted; the run's processes and temporary files were removed",
              file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
        restore_logging()


if __name__ == "__main__":
    sys.exit(main())
