"""Fingerprint the verdicts of many sim runs, to compare before and after a speed change.

``python benchmarks/verdict_fingerprint.py OUT.json [--seeds N]`` runs ``N`` generated
scenarios (seeds derived from campaigns 101 and 2026, as ``wfconform fuzz`` derives
them) on the correct reference engine and on a few broken variants, all on the sim
tier's in-memory path, and writes one line per run: status, every clause's verdict,
witness and sentence, and the digest of the engine-side history lines (events,
processes, terminal sightings). ``--compare OLD.json`` then names the runs that differ.

Why: a speed-up of the engine, the history or the checks must not move a single
verdict or what the checks read. It is not a test (minutes of CPU); run it before each
commit of such a change. The differential test of ``tests/harness/test_sim_fast.py``
compares the two run paths of one commit, this compares two commits. Files written
before commit e3f74ab (2026-12-04) digested history fields by ``repr``: compared with
newer ones, every run differs; make both with the same version of this file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import time
from typing import Any

from harness.adapters import load_adapter
from harness.runner import RunOptions, ScenarioRun, run_scenario
from harness.seeds import scenario_seed
from harness.sources import knobs_for
from scenarios.generate import generate
from scenarios.values import value_key

ENGINES = ("reference",
           "harness.adapters.broken_reference:unfenced_duplicate_delivery",
           "harness.adapters.broken_reference:hash_ignores_nested",
           "harness.adapters.broken_reference:context_lost_on_continue",
           "harness.adapters.broken_reference:hit_outputs_lossy")
_ENGINE_KINDS = ("event", "process", "terminal", "outcome")
_TIMES = re.compile(r'"(t|t0|t1|at|wall_clock)":-?[0-9.e+-]+')
"""Times in witness lines (monotonic clock readings: they differ between any two runs)."""


def _untimed(text: str) -> str:
    return _TIMES.sub(r'"\1":_', text)


def _history_digest(run: ScenarioRun) -> str:
    """What the engine did, as the checks read it (timestamps left out)."""
    if run.history is None:
        return ""
    digest = hashlib.sha256()
    for kind in _ENGINE_KINDS:
        for line in run.history.of(kind):
            # value_key: sets by their canonical text, not ``repr``, whose order follows
            # the process's string hash seed (two runs of one commit then differed)
            data = sorted((k, value_key(v)) for k, v in line.data.items()
                          if k not in ("t", "at", "wall_clock"))
            digest.update(repr(data).encode())
    return digest.hexdigest()[:16]


def fingerprint(run: ScenarioRun) -> dict[str, Any]:
    return {"status": run.status,
            "results": [[r.clause, r.verdict, [_untimed(w) for w in r.witness],
                         _untimed(r.sentence)] for r in run.results],
            "history": _history_digest(run)}


def collect(seeds: int) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for engine in ENGINES:
        factory = load_adapter(engine, "sim")
        knobs = knobs_for(factory(), 8)
        count = seeds if engine == "reference" else max(1, seeds // 4)
        for campaign in (101, 2026):
            for index in range(count):
                scenario = generate(scenario_seed(campaign, index), **knobs)
                run = run_scenario(factory, scenario, RunOptions(in_memory=True))
                out[f"{engine}/{campaign}/{index}"] = fingerprint(run)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--seeds", type=int, default=500)
    parser.add_argument("--compare", help="an earlier fingerprint file")
    args = parser.parse_args(argv)
    started = time.process_time()
    prints = collect(args.seeds)
    with open(args.out, "w", encoding="utf-8") as handle:
        json.dump(prints, handle, indent=0, sort_keys=True)
    failing = sum(any(r[1] == "fail" for r in p["results"]) for p in prints.values())
    print(f"{len(prints)} runs ({failing} with a failing clause) in "
          f"{time.process_time() - started:.1f} s CPU -> {args.out}")
    if args.compare:
        with open(args.compare, encoding="utf-8") as handle:
            old = json.load(handle)
        for entry in old.values():  # files written before times were left out
            entry["results"] = [[c, v, [_untimed(w) for w in ws], _untimed(s)]
                                for c, v, ws, s in entry["results"]]
        differ = [k for k in sorted(set(old) | set(prints)) if old.get(k) != prints.get(k)]
        print(f"{len(differ)} of {len(prints)} differ from {args.compare}"
              + (f", e.g. {differ[:5]}" if differ else ""))
        return 1 if differ else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
