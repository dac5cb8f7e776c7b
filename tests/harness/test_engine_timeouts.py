"""An engine's declared minimum timeouts (`Capabilities.min_chaos_timeout`, ...).

Why: `wfconform fuzz` waits 10 s for a launch under faults, which suits the reference
engine; Celery needs up to 5 s per kill plus its workers' start, and a 900 s Celery
campaign (seed 1804) reported an L1 failure that was that timeout, not Celery (its
replay with 30 s passes). A timeout given on the command line still wins.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from harness.adapters.reference import ReferenceAdapter, make_adapter
from harness.cli import _parser, main
from harness.commands import engine_timeouts
from scenarios import Capabilities

SLOW = replace(Capabilities.everything(), min_chaos_timeout=42.0, min_heal_timeout=7.0)


def _args(*argv: str):  # type: ignore[no-untyped-def]
    return _parser().parse_args(list(argv))


def test_fuzz_takes_the_engine_s_minimum_when_larger_than_its_default() -> None:
    args = _args("fuzz", "--max-time", "1")
    said = engine_timeouts(args, SLOW)
    assert (args.chaos_timeout, args.heal_timeout) == (42.0, 7.0)
    assert "chaos timeout 42 s and heal timeout 7 s (the engine's declared minimum)" in said


def test_a_timeout_on_the_command_line_wins_over_the_declared_minimum() -> None:
    args = _args("fuzz", "--max-time", "1", "--chaos-timeout", "3")
    said = engine_timeouts(args, SLOW)
    assert (args.chaos_timeout, args.heal_timeout) == (3.0, 7.0)
    assert "chaos timeout" not in said


def test_without_a_declaration_each_command_keeps_its_own_defaults() -> None:
    plain = Capabilities.everything()
    fuzz, run = _args("fuzz", "--max-time", "1"), _args("run")
    assert engine_timeouts(fuzz, plain) == engine_timeouts(run, plain) == ""
    assert (fuzz.chaos_timeout, fuzz.heal_timeout) == (10.0, 5.0)
    assert (run.chaos_timeout, run.heal_timeout) == (30.0, 10.0)
    # a declared minimum below the default changes nothing either
    assert engine_timeouts(run, replace(plain, min_chaos_timeout=12.0)) == ""


def slow_sim(tier: str = "sim") -> ReferenceAdapter:
    """The sim-tier reference adapter, declaring a slow engine's minimum timeouts."""
    adapter = make_adapter(tier)
    declared = replace(adapter.capabilities(), min_chaos_timeout=42.0, min_heal_timeout=7.0)
    adapter.capabilities = lambda: declared  # type: ignore[method-assign]
    return adapter


def test_fuzz_says_so_and_waits_that_long(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["fuzz", "--engine", f"{__name__}:slow_sim", "--tier", "sim", "--seed", "3",
                 "--max-time", "20", "--max-examples", "3", "--workers", "1",
                 "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "chaos timeout 42 s and heal timeout 7 s (the engine's declared minimum)" in out
    waits = [json.loads(line) for path in tmp_path.glob("histories/*.jsonl")
             for line in path.read_text().splitlines() if '"op":"wait"' in line]
    assert waits and {w["timeout"] for w in waits} == {42.0}
