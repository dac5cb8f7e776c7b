"""Time to find a planted bug: ``wfconform fuzz`` against every broken variant, sim tier.

Run from the repository root: ``python benchmarks/bench_find.py`` (``--help``). Prints
figures; it is not a test.

Why: a fuzzer's worth is how soon it finds a bug, and scenarios per second is only a
proxy for it. Issue 14 gives the yardstick: a planted bug that fuzz found after 23-26 s
"would be found in about a second at engine speed". This runs, for each variant of
``harness.adapters.broken_reference`` that exists on the sim tier, the command a user
runs::

    wfconform fuzz --engine <variant> --tier sim --seed S --max-time T \\
        --max-failures 1 --shrink-time 0 --workers 1

(a subprocess each), and reports, per variant, the scenarios and seconds until the
first failing clause, or "not found" within ``T``. Generated scenarios only: the
catalog, which ``wfconform selftest`` runs, is not used. A variant counts as found only
when a clause it ``breaks`` failed (the failure records written under ``--out`` say
which); another failing clause is reported as such. The median, the worst and how many
were found within 1 s close the table.

Resolution: the seconds are the summary line's campaign time, 0.1 s steps; interpreter
start-up and the CLI's imports are left out, the first scenario's lazy imports (about
0.1 s) are in. Scenarios to the first failure is the sharper figure.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUMMARY = re.compile(r"fuzz: (\d+) scenarios in ([\d.]+) s \(.*?(\d+) failing clause\(s\)")


def find(spec: str, seed: int, seconds: float) -> tuple[int, float, set[str]]:
    """(scenarios run, campaign seconds, clauses that failed) of one campaign."""
    with tempfile.TemporaryDirectory(prefix="wfconform-bench-find-") as out:
        command = [sys.executable, "-m", "harness.cli", "fuzz", "--engine", spec,
                   "--tier", "sim", "--seed", str(seed), "--max-time", str(seconds),
                   "--max-failures", "1", "--shrink-time", "0", "--workers", "1", "-q",
                   "--out", out]
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
        failed = {clause for path in Path(out).glob("*.verdict.json")
                  for clause in json.loads(path.read_text())["clauses"]}
    match = SUMMARY.search(done.stdout)
    if match is None:
        raise SystemExit(f"no summary line from {' '.join(command)}:\n{done.stdout[-2000:]}\n"
                         f"{done.stderr[-2000:]}")
    return int(match[1]), float(match[2]), failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0,
                        help="each campaign's time box (--max-time)")
    parser.add_argument("--seed", type=int, default=1, help="campaign seed (--seed)")
    parser.add_argument("--variant", action="append", default=[],
                        help="only these variants (repeatable; default: all on the sim tier)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from harness.adapters.broken_reference import VARIANTS

    names = args.variant or sorted(n for n, v in VARIANTS.items() if "sim" in v.tiers)
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        raise SystemExit(f"unknown variant(s) {', '.join(unknown)}; known: "
                         f"{', '.join(sorted(VARIANTS))}")
    print(f"{'variant':42} {'scenarios':>9} {'seconds':>8}  found", flush=True)
    found: list[float] = []
    counts: list[int] = []
    missed: list[str] = []
    for name in names:
        variant = VARIANTS[name]
        scenarios, seconds, failed = find(variant.spec, args.seed, args.seconds)
        own = failed & variant.breaks
        said = (f"yes ({', '.join(sorted(own))})" if own else
                f"another clause ({', '.join(sorted(failed))})" if failed else "NOT FOUND")
        print(f"{name:42} {scenarios:9d} {seconds:8.1f}  {said}", flush=True)
        if own:
            found.append(seconds)
            counts.append(scenarios)
        else:
            missed.append(name)
    load = os.getloadavg()[0]
    print(f"\n{len(found)} of {len(names)} variants found by generated scenarios within "
          f"{args.seconds:g} s (seed {args.seed}); load {load:.2f} on {os.cpu_count()} CPUs")
    if found:
        within = sum(s <= 1.0 for s in found)
        print(f"scenarios to the first failure: median {statistics.median(counts):g}, worst "
              f"{max(counts)}; seconds: median {statistics.median(found):.1f}, worst "
              f"{max(found):.1f}; {within} of {len(found)} found within 1.0 s")
    if missed:
        print(f"not found by a clause they break: {', '.join(missed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
