"""The false-alarm campaign: fuzz the CORRECT reference engine on every tier; expect 0.

A conformance tool's worst bug is a failure reported on a correct engine, so this runs
what issue 11 asks for, through the command users run (``wfconform fuzz``), and prints
scenarios, errors and failing clauses per tier:

- sim: three seeds of each generator (seeded, hypothesis), ``--sim-minutes`` in all;
- embedded: ``--embedded-minutes`` (worker OS processes on SQLite, real SIGKILL);
- real: ``--real-minutes`` (PostgreSQL + RabbitMQ; ``WFCONFORM_POSTGRES_URL`` and
  ``WFCONFORM_RABBITMQ_URL`` or throwaway local servers).

    python benchmarks/campaign.py                        # 30 + 10 + 5 minutes
    python benchmarks/campaign.py --scale 0.1            # a tenth of each box
    python benchmarks/campaign.py --tiers sim --seed 7   # one tier, other seeds

Each fuzz run's failures are written under ``--out`` (``wfconform replay`` each file).
Exit status: 0 when every run ended with 0 failing clauses and 0 errors, else 1.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

_SUMMARY = re.compile(r"^fuzz: (\d+) scenarios in ([\d.]+) s .*?(\d+) error\(s\), "
                      r"(\d+) failing run\(s\), (\d+) failing clause\(s\)")


@dataclass(frozen=True)
class Leg:
    """One ``wfconform fuzz`` run of the campaign."""

    tier: str
    generator: str
    seed: int
    seconds: float

    def argv(self, out: Path) -> list[str]:
        return [sys.executable, "-m", "harness.cli", "fuzz", "--tier", self.tier,
                "--generator", self.generator, "--seed", str(self.seed),
                "--max-time", f"{self.seconds:g}", "--out", str(out / self.name)]

    @property
    def name(self) -> str:
        return f"{self.tier}-{self.generator}-{self.seed}"


@dataclass(frozen=True)
class Outcome:
    leg: Leg
    scenarios: int
    errors: int
    failing_runs: int
    failing_clauses: int
    exit_code: int
    wall: float
    tail: str

    @property
    def clean(self) -> bool:
        return self.exit_code == 0 and not (self.errors or self.failing_clauses)


def legs(args: argparse.Namespace) -> list[Leg]:
    chosen: list[Leg] = []
    seeds = [args.seed + i for i in range(3)]
    if "sim" in args.tiers:
        each = args.sim_minutes * 60 * args.scale / (2 * len(seeds))
        chosen += [Leg("sim", g, s, each) for g in ("seeded", "hypothesis") for s in seeds]
    if "embedded" in args.tiers:
        chosen.append(Leg("embedded", "seeded", args.seed, args.embedded_minutes * 60 * args.scale))
    if "real" in args.tiers:
        chosen.append(Leg("real", "seeded", args.seed, args.real_minutes * 60 * args.scale))
    return chosen


def run_leg(leg: Leg, out: Path) -> Outcome:
    started = time.monotonic()
    done = subprocess.run(leg.argv(out), capture_output=True, text=True, check=False)
    wall = time.monotonic() - started
    text = done.stdout + done.stderr
    found = [m for m in map(_SUMMARY.match, text.splitlines()) if m]
    tail = "\n".join(text.strip().splitlines()[-8:])
    if not found:  # no summary: the command itself broke; count it as an error
        return Outcome(leg, 0, 1, 0, 0, done.returncode or 1, wall, tail)
    m = found[-1]
    return Outcome(leg, int(m[1]), int(m[3]), int(m[4]), int(m[5]), done.returncode, wall,
                   tail)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiers", nargs="+", default=["sim", "embedded", "real"],
                        choices=("sim", "embedded", "real"))
    parser.add_argument("--sim-minutes", type=float, default=30.0)
    parser.add_argument("--embedded-minutes", type=float, default=10.0)
    parser.add_argument("--real-minutes", type=float, default=5.0)
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiply every time box (e.g. 0.1 for a quick look)")
    parser.add_argument("--seed", type=int, default=1, help="first of the three sim seeds")
    parser.add_argument("--out", default="wfconform-campaign", help="failures go here")
    args = parser.parse_args(argv)
    out = Path(args.out)
    outcomes = []
    print(f"{'leg':28} {'scenarios':>9} {'per s':>6} {'errors':>6} {'fail runs':>9} "
          f"{'fail clauses':>12} {'exit':>4} {'wall s':>7}", flush=True)
    for leg in legs(args):
        o = run_leg(leg, out)
        outcomes.append(o)
        rate = o.scenarios / o.wall if o.wall else 0.0
        print(f"{leg.name:28} {o.scenarios:>9} {rate:>6.1f} {o.errors:>6} {o.failing_runs:>9} "
              f"{o.failing_clauses:>12} {o.exit_code:>4} {o.wall:>7.0f}", flush=True)
        if not o.clean:
            print("    " + o.tail.replace("\n", "\n    "), flush=True)
    print()
    for tier in dict.fromkeys(o.leg.tier for o in outcomes):
        mine = [o for o in outcomes if o.leg.tier == tier]
        print(f"{tier}: {sum(o.scenarios for o in mine)} scenarios, "
              f"{sum(o.failing_clauses for o in mine)} failing clause(s), "
              f"{sum(o.errors for o in mine)} error(s) in {sum(o.wall for o in mine):.0f} s")
    bad = [o for o in outcomes if not o.clean]
    print(f"{len(outcomes) - len(bad)} passed, {len(bad)} failed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
