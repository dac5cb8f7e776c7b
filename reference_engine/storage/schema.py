"""The engine's tables (SQLAlchemy Core), shared by SQLite and PostgreSQL.

One database holds processes (with checkpoint, hash and cache source), the task queue
with leases, settings (caching configuration), armed crashpoints, and a state-change log
that observers read as history.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

processes = Table(
    "processes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("type", String(400), nullable=False),
    Column("label", String(200), nullable=False),
    Column("kind", String(20), nullable=False),  # "workflow" | "calculation"
    Column("state", String(20), nullable=False),
    Column("exit_status", Integer),
    Column("message", Text, nullable=False, default=""),
    Column("exception", Text),
    Column("inputs", Text, nullable=False),
    Column("outputs", Text),
    Column("checkpoint", Text),
    Column("version", Integer, nullable=False, default=0),
    Column("parent_id", Integer, ForeignKey("processes.id")),
    Column("parent_key", String(200)),
    Column("restart_of", Integer),
    Column("hash", String(64)),
    Column("cached_from", Integer),
    Column("cache_valid", Boolean, nullable=False, default=True),
    Column("exit_invalidates_cache", Boolean, nullable=False, default=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Index("ix_processes_hash", "hash"),
    Index("ix_processes_parent", "parent_id"),
)

tasks = Table(
    "tasks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("process_id", Integer, ForeignKey("processes.id"), nullable=False, unique=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("lease_owner", String(100)),
    Column("lease_expires", Float),
    Index("ix_tasks_owner", "lease_owner"),
)

settings = Table(
    "settings",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("value", Text, nullable=False),
)

faults = Table(
    "faults",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("crashpoint", String(100), nullable=False),
    Column("target", String(400), nullable=False),
    Column("attempt", Integer),  # None: every attempt
)

events = Table(
    "events",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("process_id", Integer, nullable=False),
    # "crash:<crashpoint>:<Label.step>" too; PostgreSQL enforces the length, SQLite not.
    Column("state", String(400), nullable=False),
    Column("worker", String(100)),
    Column("at", Float, nullable=False),
)
