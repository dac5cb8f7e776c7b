"""A deliberately broken reference adapter, for tests of the failure paths.

``LostTaskAdapter`` loses the task of every top-level process it launches (the process
is created in the same transaction, then its task deleted), as an engine that
acknowledges before committing would after a worker death. Nothing ever runs it, so
clause L1 must report it as stuck with reason "no task".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete

from harness.adapter import Handle
from harness.adapters.reference import ReferenceAdapter
from reference_engine.loader import kind_of
from reference_engine.storage.schema import tasks


class LostTaskAdapter(ReferenceAdapter):
    def launch(self, label: str, workflow: str, inputs: Mapping[str, Any]) -> Handle:
        engine = self._engine()
        assert self.types is not None
        type_string = self.types.workflows[workflow]
        store = engine.store
        with store.db.begin() as conn:
            pid = store._insert_process(conn, type_string, f"{label}@{workflow}",
                                        kind_of(type_string), dict(inputs), None, None)
            conn.execute(delete(tasks).where(tasks.c.process_id == pid))
        return self._remember(label, pid)


def make_lost_task(tier: str = "embedded") -> LostTaskAdapter:
    return LostTaskAdapter(tier)
