"""Failures shared between fuzz runs and machines, through Hypothesis's example database.

Why Hypothesis's and not our own store: it already has the backends a CI matrix needs
(a directory, which a CI cache or artifact can carry between jobs, and Redis through
``hypothesis[redis]``'s ``RedisExampleDatabase`` for shards running at the same time),
and users know how to point it somewhere. What we store is ours: the failing scenario's
JSON (the shrunk one when shrinking succeeded), under a key per engine and tier, so the
entries survive Hypothesis upgrades as our scenario files do (DESIGN.md section 4).

A fuzz run first replays every scenario saved under its key (they are visited before
the seeded stream, so a failure found on shard 1 of a matrix is checked on shard 2 in
its first second), then saves each new failing clause's scenario. A scenario that no
longer fails stays saved: the database is a regression corpus, as Hypothesis's is.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from harness.errors import UsageError
from scenarios.errors import ScenarioError
from scenarios.scenario import Scenario

if TYPE_CHECKING:
    from hypothesis.database import ExampleDatabase

__all__ = ["DEFAULT_SUBDIR", "database_key", "open_database", "save_scenario",
           "saved_scenarios"]

DEFAULT_SUBDIR = "examples"
"""The default database: this directory under the failures directory."""


def open_database(where: str, key_prefix: str = "wfconform") -> ExampleDatabase:
    """A directory path, or ``redis://HOST[:PORT][/DB]`` (needs ``hypothesis[redis]``)."""
    from hypothesis.database import DirectoryBasedExampleDatabase

    if not where.startswith(("redis://", "rediss://", "unix://")):
        return DirectoryBasedExampleDatabase(Path(where))
    try:
        import redis
        from hypothesis.extra.redis import RedisExampleDatabase
    except ImportError as error:
        raise UsageError("--example-db", where, "a directory, or a Redis URL with the "
                         "redis extra installed (pip install 'wfconform[redis]')") from error
    client = redis.Redis.from_url(where)
    try:
        client.ping()
    except redis.RedisError as error:
        raise UsageError("--example-db", where, f"a Redis server that answers ({error}); "
                         "start one or pass a directory") from error
    return RedisExampleDatabase(client, key_prefix=key_prefix.encode())


def database_key(engine: str, tier: str) -> bytes:
    """One key per engine and tier: a failure on the sim tier is not replayed on real."""
    return f"wfconform:failures:{engine}:{tier}".encode()


def save_scenario(db: ExampleDatabase, key: bytes, scenario: Scenario) -> None:
    db.save(key, scenario.to_json().encode("utf-8"))


def saved_scenarios(db: ExampleDatabase, key: bytes) -> list[Scenario]:
    """Every scenario saved under ``key``, oldest name first; unreadable entries (a newer
    format, a corrupt file) are skipped: a corpus entry never stops a campaign."""
    found = []
    for value in db.fetch(key):
        try:
            found.append(Scenario.from_json(value.decode("utf-8")))
        except (ScenarioError, ValueError, UnicodeDecodeError):
            continue
    return sorted(found, key=lambda s: s.name)
