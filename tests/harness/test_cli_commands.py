"""``wfconform run`` with a Hypothesis budget and clause selection, and ``selftest``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main


def _verdicts(root: Path) -> list[dict[str, object]]:
    text = (root / "verdicts.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.mark.embedded
def test_run_adds_hypothesis_examples_drawn_from_its_printed_seed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", "--clause", "K6", "--examples", "2", "--seed", "11",
                 "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "2 catalog scenario(s) + 2 drawn by Hypothesis, seed 11" in out.splitlines()[0]
    sources = {str(v["scenario"]): v["source"] for v in _verdicts(tmp_path)}
    assert sources == {"k6_workflows_never_cached": "catalog",
                       "k6_caching_off_never_hits": "catalog",
                       "hypothesis_11_0": "hypothesis", "hypothesis_11_1": "hypothesis"}
    meta = json.loads((tmp_path / "run.json").read_text())
    assert meta["seed"] == 11 and meta["finished"] and meta["failed"] == 0
    assert len(list((tmp_path / "histories").iterdir())) == 4


def test_an_unknown_clause_is_one_line_listing_the_clauses(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--clause", "X9"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--clause 'X9': expected a clause id (C1, C2" in err


def test_replay_rejects_a_zero_count_in_one_line(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    from scenarios.catalog import by_name

    path = tmp_path / "s.json"
    path.write_text(by_name("k6_workflows_never_cached").to_json(), encoding="utf-8")
    assert main(["replay", str(path), "--times", "0"]) == 2
    assert "--times 0: expected a positive count" in capsys.readouterr().err


@pytest.mark.embedded
def test_selftest_shows_a_broken_variant_is_caught(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["selftest", "--variant", "unfenced_duplicate_delivery", "--shrink-time", "3",
                 "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "caught unfenced_duplicate_delivery" in out and "C2 in c2_checkpointed" in out
    assert out.splitlines()[-1] == "1 of 1 variant(s) caught"
    witness = tmp_path / "unfenced_duplicate_delivery" / "c2_checkpointed_effect_not_repeated"
    assert witness.with_suffix(".verdict.json").is_file()


def test_selftest_rejects_an_unknown_variant(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["selftest", "--variant", "nope"]) == 2
    assert "--variant 'nope': expected one of resume_from_scratch" in capsys.readouterr().err
