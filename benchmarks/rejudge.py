"""Judge recorded runs again with today's checks, merge them, print the matrix.

``python benchmarks/rejudge.py OUT DIR [DIR ...]`` reads the ``--out`` directories of
``wfconform run`` (one engine and tier), judges every recorded history again with the
current oracle and checks (no engine runs), writes the merged results to ``OUT``
(``run.json``, ``verdicts.jsonl``, ``histories/``, and per failing scenario its file,
history and failure record, as ``run --out`` writes them) and prints the matrix.

Why: a slow engine's catalog (Prefect: minutes per scenario) is run in several processes
at once, and a check changed after the run began must not leave the committed matrix
judged by older code. The verdicts then rest on the recorded histories alone, which is
what the checks read anyway (``harness.runner.run_scenario`` judges the same history the
same way, after the run). Records that did not run (not applicable, errors) are kept as
they were.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

from harness.checks import run_checks
from harness.checks.result import ClauseResult
from harness.conformance import ConformanceResult, matrix
from harness.history import History
from harness.matrix import render_matrix
from harness.results import FailureRecord, capabilities_from_dict, write_failure
from harness.runner import RunOptions, ScenarioRun, _own_clause_unjudged
from scenarios.catalog import by_name
from scenarios.oracle import expect

TIMEOUTS = {"chaos_timeout": 120.0, "heal_timeout": 60.0}
"""The timeouts the runs were made with (``run.json`` does not record them): a failure
record states them, so ``wfconform replay`` uses them again."""


def _result(r: dict[str, Any]) -> ClauseResult:
    return ClauseResult(r["clause"], r["verdict"], tuple(r["witness"]), r["sentence"],
                        r["exercised"], r["scenario"], int(r.get("loose", 0)))


def rejudge(out: Path, roots: list[Path]) -> ConformanceResult:
    out.mkdir(parents=True, exist_ok=True)
    (out / "histories").mkdir(exist_ok=True)
    metas = [json.loads((root / "run.json").read_text()) for root in roots]
    caps = capabilities_from_dict(metas[0]["capabilities"])
    engine, tier = metas[0]["engine"], metas[0]["tier"]
    runs: list[ScenarioRun] = []
    lines: list[str] = []
    for root in roots:
        for text in (root / "verdicts.jsonl").read_text().splitlines():
            if not text.strip():
                continue
            record = json.loads(text)
            original = by_name(record["scenario"])
            if record["status"] == "ran" and record.get("history"):
                history = History.load(root / record["history"])
                judged = history.scenario() or original
                expectation = expect(judged, caps)
                results = run_checks(judged, expectation, history)
                skipped = [(f, "") for f in original.faults if f not in judged.faults]
                if skipped:
                    results = _own_clause_unjudged(original, results, skipped)
                record["results"] = [r.to_dict() for r in results]
                shutil.copy(root / record["history"], out / record["history"])
                run = ScenarioRun(original, "ran", tuple(record["reasons"]), expectation,
                                  history, results, float(record["seconds"]))
                failed = run.failed(caps.promised - caps.expected_failures)
                if failed:
                    write_failure(out, run, FailureRecord.of_run(
                        engine, tier, run, failed, RunOptions(**TIMEOUTS)))
            else:
                run = ScenarioRun(original, record["status"], tuple(record["reasons"]),
                                  results=tuple(_result(r) for r in record["results"]),
                                  seconds=float(record["seconds"]))
            runs.append(run)
            lines.append(json.dumps(record, separators=(",", ":")))
    (out / "verdicts.jsonl").write_text("\n".join(lines) + "\n")
    meta = {**metas[0], "finished": True, "merged_from": [str(r) for r in roots],
            "rejudged": True, "seconds": sum(float(m.get("seconds", 0.0)) for m in metas)}
    (out / "run.json").write_text(json.dumps(meta, indent=2) + "\n")
    rows = matrix(caps, runs)
    return ConformanceResult(engine, tier, caps, rows, tuple(runs), meta["seconds"])


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__)
        return 2
    result = rejudge(Path(argv[0]), [Path(a) for a in argv[1:]])
    print(render_matrix(result, width=10_000))
    ran = sum(1 for r in result.runs if r.status == "ran")
    na = sum(1 for r in result.runs if r.status == "not_applicable")
    print(f"\n{ran} scenario(s) ran, {na} not applicable; "
          f"{result.passed} passed, {result.failed} failed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
