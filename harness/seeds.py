"""Scenario seeds of a campaign: independent streams per campaign seed, disjoint per shard.

Why derived and not ``seed + i``: with ``generate(seed + i)``, ``--seed 1`` and
``--seed 2`` ran the same scenarios shifted by one, so a CI job fuzzing three seeds
tested one sample, not three. Here scenario ``index`` of campaign ``campaign`` is
``generate(scenario_seed(campaign, index))``, a hash of both: different campaign seeds
give unrelated streams, and the same (campaign, index) always gives the same scenario.
A scenario's name carries its derived seed (``generated_<seed>``), and its file is
written on failure, so replay is exact without knowing the campaign at all.

Sharding and workers only choose *which* indexes a process runs, never what an index
means: shard ``i`` of ``N`` runs indexes ``i-1, i-1+N, i-1+2N, ...`` and worker ``w`` of
``W`` inside it every ``W``-th of those. Shards are therefore disjoint, together they
cover the campaign's stream, and one worker with one shard runs indexes 0, 1, 2, ...
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from harness.errors import UsageError

if TYPE_CHECKING:
    from scenarios.scenario import Scenario

__all__ = ["SEED_BITS", "Shard", "Stream", "parse_shard", "scenario_seed", "seeded_scenarios"]

SEED_BITS = 62
"""Derived seeds are below 2**62: positive, and exact as JSON numbers in most readers."""


def scenario_seed(campaign: int, index: int) -> int:
    """The seed of scenario ``index`` of the campaign seeded ``campaign`` (stable forever:
    BLAKE2b of both numbers, not Python's salted ``hash``)."""
    digest = hashlib.blake2b(f"wfconform:{campaign}:{index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> (64 - SEED_BITS)


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` (1-based) of ``count``, as written on the command line ``i/N``."""

    index: int = 1
    count: int = 1

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str) -> Shard:
    """``"2/4"`` -> ``Shard(2, 4)``; a clear one-line error otherwise."""
    head, slash, tail = text.partition("/")
    try:
        shard = Shard(int(head), int(tail)) if slash else None
    except ValueError:
        shard = None
    if shard is None or not 1 <= shard.index <= shard.count:
        raise UsageError("--shard", text, "I/N with 1 <= I <= N, e.g. --shard 2/4")
    return shard


@dataclass(frozen=True)
class Stream:
    """The indexes one worker of one shard runs (module docstring), with their seeds."""

    campaign: int
    shard: Shard = field(default_factory=Shard)
    worker: int = 0
    workers: int = 1

    @property
    def stride(self) -> int:
        return self.shard.count * self.workers

    def first(self) -> int:
        return (self.shard.index - 1) + self.shard.count * self.worker

    def indexes(self) -> Iterator[int]:
        index = self.first()
        while True:
            yield index
            index += self.stride

    def seeds(self) -> Iterator[tuple[int, int]]:
        """``(index, scenario_seed)`` pairs, endless."""
        for index in self.indexes():
            yield index, scenario_seed(self.campaign, index)


def seeded_scenarios(stream: Stream, knobs: dict[str, Any]) -> Iterator[tuple[int, Scenario]]:
    """``(seed, generate(seed))`` for the stream's seeds, endless (fuzz's seeded source)."""
    from scenarios.generate import generate

    for _index, seed in stream.seeds():
        yield seed, generate(seed, **knobs)
