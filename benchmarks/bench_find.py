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

(a subprocess each: interpreter start-up and imports are excluded from the campaign
seconds its summary line prints, which are the figure here), and reports, per variant,
the scenarios and seconds until the first failing clause, or "not found" within ``T``.
Generated scenarios only: the catalog, which ``wfconform selftest`` runs, is not used.
The median, the worst and how many were found within 1 s close the table.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUMMARY = re.compile(r"fuzz: (\d+) scenarios in ([\d.]+) s \(.*?(\d+) failing clause\(s\)")


def find(spec: str, seed: int, seconds: float) -> tuple[int, float, bool]:
    """(scenarios run, campaign seconds, whether a clause failed) of one campaign."""
    with tempfile.TemporaryDirectory(prefix="wfconform-bench-find-") as out:
        command = [sys.executable, "-m", "harness.cli", "fuzz", "--engine", spec,
                   "--tier", "sim", "--seed", str(seed), "--max-time", str(seconds),
                   "--max-failures", "1", "--shrink-time", "0", "--workers", "1", "-q",
                   "--out", out]
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
    match = SUMMARY.search(done.stdout)
    if match is None:
        raise SystemExit(f"no summary line from {' '.join(command)}:\n{done.stdout[-2000:]}\n"
                         f"{done.stderr[-2000:]}")
    return int(match[1]), float(match[2]), int(match[3]) > 0


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
    missed: list[str] = []
    for name in names:
        scenarios, seconds, failed = find(VARIANTS[name].spec, args.seed, args.seconds)
        print(f"{name:42} {scenarios:9d} {seconds:8.2f}  {'yes' if failed else 'NOT FOUND'}",
              flush=True)
        (found.append(seconds) if failed else missed.append(name))  # type: ignore[func-returns-value]
    load = os.getloadavg()[0]
    print(f"\n{len(found)} of {len(names)} variants found by generated scenarios within "
          f"{args.seconds:g} s (seed {args.seed}); load {load:.2f} on {os.cpu_count()} CPUs")
    if found:
        within = sum(s <= 1.0 for s in found)
        print(f"seconds to the first failing clause: median {statistics.median(found):.2f}, "
              f"worst {max(found):.2f}; {within} of {len(found)} found within 1 s")
    if missed:
        print(f"not found: {', '.join(missed)} (the catalog scenario of each, which "
              "`wfconform selftest` runs, is what catches those)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
