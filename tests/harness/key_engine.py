"""A broken sim engine that names cache sources by keys new on every run, for replay's tests.

Prefect names a hit's source by the storage key it read, and its keys mix in a
namespace of their own (a flow run's), so the same failure, rerun, quotes other keys in
its sentence and witness. ``KeyedCacheAdapter`` is ``UuidIdsAdapter`` (UUID ids, new per
run) whose calculations report a ``cache_key`` instead of ``cached_from``: an executed
calculation stores under ``md5(<run namespace>:<engine id>)``, and a hit reads (and
reports as its own ``cache_key``, as Prefect does) its source's key. The namespace is a
fresh ``uuid4()`` per opened session. Load it as
``--engine tests.harness.key_engine:<variant> --tier sim``.
"""

from __future__ import annotations

import hashlib
import uuid

from harness.adapter import Observation, ProcessView
from harness.session import Session
from tests.harness.uuid_engine import UuidIdsAdapter, sim_factory


class KeyedCacheAdapter(UuidIdsAdapter):
    """``UuidIdsAdapter`` whose hits name their source by a per-run key (module doc)."""

    def __init__(self, variant: str) -> None:
        super().__init__(variant)
        self.name = f"keys+{variant}"
        self._namespace = str(uuid.uuid4())

    def open(self, session: Session) -> None:
        self._namespace = str(uuid.uuid4())
        super().open(session)

    def observe(self) -> Observation:
        views = super().observe().processes
        by_id = {view.id: view for view in views}

        def key_of(view: ProcessView) -> str:
            source = by_id.get(view.cached_from or "")
            if source is not None and source is not view:
                return key_of(source)
            return hashlib.md5(f"{self._namespace}:{view.id}".encode()).hexdigest()

        return Observation(tuple(
            view if view.kind != "calculation" else view.__class__(
                id=view.id, path=view.path, kind=view.kind, name=view.name,
                state=view.state, exit_status=view.exit_status, outputs=view.outputs,
                parent=view.parent, children=view.children, restart_of=view.restart_of,
                cache_key=key_of(view),
                cached_from_key=key_of(view) if view.cached_from is not None else None)
            for view in views))


caching_off_still_hits = sim_factory("caching_off_still_hits", KeyedCacheAdapter)
