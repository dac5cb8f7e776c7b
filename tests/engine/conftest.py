from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reference_engine import Daemon, Engine
from tests.engine.workflows import EFFECT_LOG


@pytest.fixture
def effect_log(tmp_path: Path) -> Path:
    return tmp_path / "effects.log"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    with Engine(tmp_path / "engine.db") as eng:
        yield eng


@pytest.fixture
def daemon(engine: Engine, effect_log: Path) -> Iterator[Daemon]:
    with engine.daemon(2, {EFFECT_LOG: str(effect_log)}) as d:
        d.wait_for_workers()
        yield d


def effects(log: Path) -> list[list[str]]:
    """Each effect line split: kind, name, process id, attempt, worker pid, t0, t1."""
    if not log.exists():
        return []
    return [line.split() for line in log.read_text().splitlines() if line.strip()]
