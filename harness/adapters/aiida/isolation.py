"""What keeps one scenario's AiiDA state apart from the others in a shared profile.

Building a profile costs seconds, so the adapter reuses one per harness process. Before
each scenario nothing earlier may be a cache source (`clear_hashes`) or a task
(`purge_queue`); and the harness process must read what the workers committed, not an
old SQLite snapshot (`fresh_reads`).
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from harness.services.isolation import with_vhost

if TYPE_CHECKING:
    from harness.adapters.aiida.profile import ThrowawayProfile

__all__ = ["clear_hashes", "fresh_reads", "purge_queue"]


def fresh_reads() -> None:
    """End the storage's read transaction, so reads see what the workers committed.

    SQLite gives a reader a snapshot; AiiDA's own `control` module commits the session
    after an RPC for the same reason. On PostgreSQL a restart leaves the pool's
    connections dead (AiiDA's engine has no pre-ping): they are thrown away here, in the
    harness process only; the workers get no such help.
    """
    from aiida.manage import get_manager

    storage = get_manager().get_profile_storage()
    if hasattr(storage, "get_session"):
        session = storage.get_session()
        try:
            session.commit()
        except Exception:  # a database restart broke the connection: start over
            with contextlib.suppress(Exception):
                session.rollback()
            session.get_bind().dispose()


def clear_hashes(low: int, high: int) -> None:
    """Make the calculation nodes with `low < pk <= high` invisible to cache lookups.

    `clear_hash()` removes the stored `_aiida_hash` extra, which the lookup queries
    (the lab notes show a node without it is never a source until `verdi node rehash`).
    """
    from aiida import orm

    query = orm.QueryBuilder().append(orm.CalculationNode,
                                      filters={"id": {"and": [{">": low}, {"<=": high}]}})
    for (node,) in query.all():
        node.base.caching.clear_hash()


def purge_queue(profile: ThrowawayProfile) -> None:
    """Drop tasks left in the profile's process queue by an earlier scenario."""
    import asyncio

    import aio_pika
    from aiida.manage import get_manager

    loaded = get_manager().get_profile()
    if loaded is None:
        raise RuntimeError("no AiiDA profile is loaded: open the ThrowawayProfile first")
    name = f"aiida-{loaded.uuid}.process.queue"
    url = with_vhost(profile.broker_url, str(profile.vhost))

    async def purge() -> None:
        connection = await aio_pika.connect(url)
        try:
            channel = await connection.channel()
            try:
                queue = await channel.declare_queue(name, passive=True)
            except aio_pika.exceptions.ChannelClosed:
                return  # no queue yet: nothing was ever submitted
            await queue.purge()
        finally:
            await connection.close()

    asyncio.run(purge())
