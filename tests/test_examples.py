"""The examples run with no arguments and tell the story they promise."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.embedded
def test_add_three_numbers_shows_excepted_relaunch_and_cache_hit() -> None:
    done = subprocess.run([sys.executable, "examples/add_three_numbers.py"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "excepted" in lines[0] and "add_xy ran 1 time(s)" in lines[0]
    assert "new process" in lines[1] and "sum=6" in lines[1] and "2 runs in all" in lines[1]
    assert "still excepted" in lines[1]
    assert "cache hit from process" in lines[2] and "runs: 2 -> 2" in lines[2]
