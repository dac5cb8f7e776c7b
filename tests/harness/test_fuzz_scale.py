"""Fuzz at scale: derived seeds, disjoint shards, worker processes, a shared example DB."""

from __future__ import annotations

import json
import os
import re
import uuid
from itertools import islice
from pathlib import Path

import pytest

from harness.adapters import load_adapter
from harness.adapters.broken_reference import VARIANTS
from harness.cli import main
from harness.errors import UsageError
from harness.example_db import database_key, open_database, saved_scenarios
from harness.failures import FailureHandler
from harness.fuzz import FuzzOptions
from harness.fuzz_campaign import Scale, run_campaign
from harness.runner import RunOptions
from harness.seeds import Shard, Stream, parse_shard, scenario_seed

pytestmark = pytest.mark.simulation

BROKEN = VARIANTS["unfenced_duplicate_delivery"].spec
REPLAY = re.compile(r"wfconform replay (\S+)")


def _take(stream: Stream, count: int) -> list[int]:
    return list(islice(stream.indexes(), count))


def test_campaign_seeds_are_independent_streams_not_shifted_copies() -> None:
    one = [scenario_seed(1, i) for i in range(200)]
    two = [scenario_seed(2, i) for i in range(200)]
    assert not set(one) & set(two)
    assert one == [scenario_seed(1, i) for i in range(200)]  # exact replay
    assert all(0 <= s < 2**62 for s in one + two)


def test_shards_are_disjoint_and_together_cover_the_campaign() -> None:
    shards = [_take(Stream(7, Shard(i, 3)), 100) for i in (1, 2, 3)]
    assert sorted(i for shard in shards for i in shard) == list(range(300))
    workers = [_take(Stream(7, Shard(2, 3), w, 2), 50) for w in (0, 1)]
    assert sorted(i for share in workers for i in share) == shards[1]


def test_a_bad_shard_is_a_one_line_usage_error() -> None:
    assert parse_shard("2/4") == Shard(2, 4)
    for text in ("0/2", "3/2", "x", "1-2"):
        with pytest.raises(UsageError, match="--shard"):
            parse_shard(text)


def test_a_bad_shard_on_the_command_line_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fuzz", "--tier", "sim", "--max-time", "1", "--shard", "3/2"]) == 2
    assert "--shard" in capsys.readouterr().err


def _fuzz(tmp_path: Path, name: str, *extra: str) -> tuple[int, str]:
    out = tmp_path / name
    code = main(["fuzz", "--engine", BROKEN, "--tier", "sim", "--seed", "5",
                 "--max-failures", "1", "--shrink-time", "2", "--max-time", "60",
                 "--workers", "1", "--out", str(out), *extra])
    return code, str(out)


def test_a_failure_found_on_shard_1_replays_from_the_shared_database_on_shard_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "shared-examples"
    code, _ = _fuzz(tmp_path, "one", "--shard", "1/2", "--example-db", str(db))
    first = capsys.readouterr().out
    assert code == 1
    assert len(set(REPLAY.findall(first))) == 1
    saved = saved_scenarios(open_database(str(db)), database_key(BROKEN, "sim"))
    assert len(saved) == 1
    # shard 2 runs only one scenario: the database's, before its own stream
    code, _ = _fuzz(tmp_path, "two", "--shard", "2/2", "--example-db", str(db),
                    "--max-examples", "1")
    second = capsys.readouterr().out
    assert code == 1, second
    (again,) = set(REPLAY.findall(second))
    assert json.loads(Path(again).read_text())["name"] == saved[0].name
    assert " 1 scenarios in " in second.splitlines()[-1]


def test_shard_2_without_the_database_does_not_run_shard_1s_scenario(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "shared-examples"
    _fuzz(tmp_path, "one", "--shard", "1/2", "--example-db", str(db))
    saved = saved_scenarios(open_database(str(db)), database_key(BROKEN, "sim"))
    capsys.readouterr()
    _fuzz(tmp_path, "two", "--shard", "2/2", "--example-db", str(tmp_path / "empty"),
          "--max-examples", "1")
    names = {json.loads(Path(p).read_text())["name"]
             for p in REPLAY.findall(capsys.readouterr().out)}
    assert saved[0].name not in names


def test_the_example_database_may_be_redis(tmp_path: Path) -> None:
    url = os.environ.get("WFCONFORM_REDIS_URL")
    if not url:
        pytest.skip("set WFCONFORM_REDIS_URL (e.g. redis://127.0.0.1:6379/0); .ci/run does")
    prefix = f"wfconform-test-{uuid.uuid4().hex}"
    factory = load_adapter(BROKEN, "sim")
    caps = factory().capabilities()
    promised = frozenset(caps.promised - caps.expected_failures)

    def campaign(shard: int, examples: int) -> list[str]:
        handler = FailureHandler(factory, RunOptions(), promised, BROKEN, "sim",
                                 tmp_path / f"shard{shard}", shrink_budget=2)
        options = FuzzOptions(60, 5, max_failures=1, max_examples=examples)
        stats = run_campaign(factory, options, handler, None,
                             Scale(1, Shard(shard, 2), url, prefix), BROKEN, "sim",
                             lambda s, r: None, lambda s: None, lambda f: None)
        return [f.original.scenario.name for f in stats.failures]

    import redis

    client = redis.Redis.from_url(url)
    try:
        found = campaign(1, 0)
        assert found
        assert campaign(2, 1) == found  # replayed from Redis, first thing on shard 2
    finally:
        keys = list(client.scan_iter(match=f"{prefix}*".encode()))
        if keys:
            client.delete(*keys)
        client.close()


def test_two_workers_run_one_campaign_with_one_summary(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["fuzz", "--tier", "sim", "--seed", "3", "--max-time", "30",
                 "--max-examples", "40", "--workers", "2", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.splitlines()[-1].startswith("fuzz: 40 scenarios in ")
    names = [json.loads(line)["scenario"] for line in
             (tmp_path / "verdicts.jsonl").read_text().splitlines() if line.strip()]
    expected = {f"generated_{scenario_seed(3, i)}" for i in range(40)}
    assert sorted(names) == sorted(expected)


def test_two_workers_report_a_failing_clause_once(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["fuzz", "--engine", BROKEN, "--tier", "sim", "--seed", "5",
                 "--shrink-time", "2", "--max-time", "60", "--max-examples", "30",
                 "--workers", "2", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 1
    summary = out.splitlines()[-1]
    clauses = int(re.search(r"(\d+) failing clause", summary).group(1))  # type: ignore[union-attr]
    runs = int(re.search(r"(\d+) failing run", summary).group(1))  # type: ignore[union-attr]
    assert runs > clauses >= 1
    written = set(REPLAY.findall(out.split("replay each with:")[-1]))
    assert len(written) == clauses


def test_fuzz_uses_every_core_by_default_only_for_an_in_memory_engine() -> None:
    """An engine with worker processes of its own gets one campaign process unless asked:
    two beside it would stretch launches towards the chaos timeout (false L1)."""
    from argparse import Namespace

    from harness.commands import _scale

    args = Namespace(workers=None, shard="1/1", example_db=None)
    assert _scale(args, load_adapter("reference", "sim")()).workers is None  # all cores
    assert _scale(args, load_adapter("reference", "embedded")()).workers == 1
    asked = Namespace(workers=2, shard="1/1", example_db=None)
    assert _scale(asked, load_adapter("reference", "embedded")()).workers == 2
