"""``benchmarks/rejudge.py`` judges recorded runs again with today's checks and merges them.

What it must do to be trusted with a committed matrix (a slow engine's catalog run in
several processes): read only the recorded histories, judge them with the current checks
(a verdict recorded by older code is not kept), merge several ``--out`` folders into one
with every scenario, and write each failure as ``run --out`` does, so it replays.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.rejudge import main as rejudge_main
from benchmarks.rejudge import rejudge
from harness.adapters.broken_reference import spec_of
from harness.checks.result import FAIL, PASS
from harness.cli import main


def _run(out: Path, engine: str, *clauses: str) -> None:
    args = ["run", "--engine", engine, "--tier", "sim", "--out", str(out)]
    for clause in clauses:
        args += ["--clause", clause]
    main(args)


def _verdicts(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "verdicts.jsonl").read_text().splitlines()
            if line.strip()]


def test_two_runs_merge_into_one_matrix_with_every_scenario(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _run(tmp_path / "a", "reference", "C1", "C2")
    _run(tmp_path / "b", "reference", "K3")
    capsys.readouterr()
    result = rejudge(tmp_path / "merged", [tmp_path / "a", tmp_path / "b"])
    names = [r["scenario"] for r in _verdicts(tmp_path / "merged")]
    expected = [r["scenario"] for r in _verdicts(tmp_path / "a") + _verdicts(tmp_path / "b")]
    assert names == expected and len(names) >= 4
    verdicts = {row.clause: row.measured.verdict for row in result.rows}
    assert verdicts["C1"] == verdicts["K3"] == PASS  # from a and from b
    assert result.failed == 0
    assert all((tmp_path / "merged" / r["history"]).is_file()
               for r in _verdicts(tmp_path / "merged"))
    meta = json.loads((tmp_path / "merged" / "run.json").read_text())
    assert meta["rejudged"] and len(meta["merged_from"]) == 2


def test_a_verdict_recorded_by_older_checks_is_judged_again(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]):
    """The broken variant's K3 failure was recorded as a pass (as if by a check that
    missed it): rejudging the history fails K3 again and writes the replayable failure."""
    _run(tmp_path / "run", spec_of("excepted_source_hit"), "K3")
    capsys.readouterr()
    records = _verdicts(tmp_path / "run")
    for record in records:
        for result in record["results"]:
            if result["clause"] == "K3":
                result["verdict"] = PASS
    (tmp_path / "run" / "verdicts.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in records))
    code = rejudge_main([str(tmp_path / "merged"), str(tmp_path / "run")])
    out = capsys.readouterr().out
    assert code == 0
    assert "K3" in out and "FAIL" in out
    merged = _verdicts(tmp_path / "merged")
    failed = {r["scenario"] for r in merged for c in r["results"]
              if c["clause"] == "K3" and c["verdict"] == FAIL}
    assert "k3_excepted_source_never_hit" in failed
    witness = tmp_path / "merged" / "k3_excepted_source_never_hit.json"
    assert witness.is_file() and witness.with_suffix(".verdict.json").is_file()
