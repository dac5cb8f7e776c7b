"""Open a database for the engine: SQLite (embedded default) or PostgreSQL.

SQLite is put in WAL mode and every transaction starts with ``BEGIN IMMEDIATE``: writers
are serialised by the database itself, so the claim of a task and the commit of a
checkpoint need no extra locking, and a SIGKILLed worker loses only its open transaction.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import SQLAlchemyError

from reference_engine.errors import StoreUnavailableError
from reference_engine.storage.schema import metadata

SCHEMA_LOCK_KEY = 0x77666366  # 'wfcf'


def normalise_url(url_or_path: str | os.PathLike[str]) -> str:
    """Accept a URL or a plain file path (made absolute, so workers agree on it)."""
    text = os.fspath(url_or_path)
    if "://" in text:
        return text
    return f"sqlite:///{Path(text).expanduser().resolve()}"


def open_database(url_or_path: str | os.PathLike[str]) -> Engine:
    url = normalise_url(url_or_path)
    if url.startswith("sqlite"):
        engine = _sqlite_engine(url)
    else:
        engine = create_engine(url, pool_pre_ping=True, pool_size=4, max_overflow=4)
    try:
        _create_tables(engine)
    except SQLAlchemyError as exc:
        engine.dispose()
        raise StoreUnavailableError(url, str(exc.orig or exc).splitlines()[0]) from None
    return engine


def _create_tables(engine: Engine) -> None:
    """Create missing tables; on PostgreSQL under a lock, as workers start together.

    Two processes running CREATE TABLE IF NOT EXISTS at once on PostgreSQL can both pass
    the check and one fails on the catalog's unique index; a transaction-scoped advisory
    lock makes them take turns.
    """
    if engine.dialect.name != "postgresql":
        metadata.create_all(engine)
        return
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
        metadata.create_all(conn)


def _sqlite_engine(url: str) -> Engine:
    path = url.split("sqlite:///", 1)[-1]
    if path and path != ":memory:":
        parent = Path(path).parent
        if not parent.is_dir():
            raise StoreUnavailableError(url, f"directory {parent} does not exist")
        if Path(path).is_dir():
            raise StoreUnavailableError(url, f"{path} is a directory, not a database file")
    engine = create_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]  # SQLAlchemy hook
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]  # SQLAlchemy hook
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
