"""Real-tier scenario databases are made ahead and dropped behind, and none outlives a run.

First the pool's rules on a stand-in isolation (pure logic: which names are made,
handed out and dropped, and what a failed create or drop does), then on PostgreSQL:
scenarios of the real tier, one across a database restart, leave no database behind.
"""

from __future__ import annotations

import itertools
import os
import threading

import pytest

from harness.adapters.reference import ReferenceAdapter
from harness.adapters.reference_real import SCENARIO_PREFIX, use_services
from harness.conformance import run_conformance
from harness.services import Services
from harness.services.owned_names import host_tag
from harness.services.spare_databases import SpareDatabases
from scenarios.catalog import CATALOG


class Recording:
    """An isolation that records creates and removes; names in ``refuse`` fail once."""

    def __init__(self, refuse_create: set[str] = frozenset(),  # type: ignore[assignment]
                 refuse_remove: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.refuse_create, self.refuse_remove = set(refuse_create), set(refuse_remove)
        self.created: list[str] = []
        self.removed: list[str] = []
        self.lock = threading.Lock()

    def create(self, name: str) -> str:
        with self.lock:
            if name in self.refuse_create:
                self.refuse_create.discard(name)
                raise OSError(f"server went away while making {name}")
            self.created.append(name)
        return f"postgresql://x/{name}"

    def remove(self, name: str) -> None:
        with self.lock:
            if name in self.refuse_remove:
                self.refuse_remove.discard(name)
                raise OSError(f"server went away while dropping {name}")
            self.removed.append(name)

    def existing(self) -> set[str]:
        return set(self.created) - set(self.removed)


def _names() -> itertools.count[int]:
    return itertools.count(1)


def _pool(isolation: Recording) -> SpareDatabases:
    counter = _names()
    return SpareDatabases(isolation, lambda: f"db{next(counter)}")  # type: ignore[arg-type]


def test_each_take_hands_out_a_fresh_database_and_makes_the_next_ahead() -> None:
    isolation = Recording()
    pool = _pool(isolation)
    assert pool.take() == ("db1", "postgresql://x/db1")
    pool.give_back("db1")
    assert pool.take() == ("db2", "postgresql://x/db2")  # made while db1's scenario ran
    pool.close()
    assert isolation.created == ["db1", "db2", "db3"]
    assert isolation.removed[0] == "db1" and "db3" in isolation.removed


def test_close_drops_what_was_given_back_and_the_spare_but_not_what_is_in_use() -> None:
    isolation = Recording()
    pool = _pool(isolation)
    first, _ = pool.take()
    pool.give_back(first)
    in_use, _ = pool.take()
    pool.close()
    # the scenario still holding a database gives it back itself (RealTier.release):
    # close drops only what the pool owns
    assert isolation.existing() == {in_use}
    with pytest.raises(RuntimeError, match="after close"):
        pool.take()


def test_a_spare_whose_create_failed_is_made_again_under_a_new_name() -> None:
    isolation = Recording(refuse_create={"db2"})
    pool = _pool(isolation)
    pool.take()
    name, url = pool.take()  # db2 failed in the background: db3 is made now
    assert (name, url) == ("db3", "postgresql://x/db3")
    pool.close()
    assert "db2" in isolation.removed  # dropped at close in case it exists after all


def test_a_failed_drop_is_tried_again_at_close_and_then_only_warned_about() -> None:
    isolation = Recording(refuse_remove={"db1"})
    pool = _pool(isolation)
    pool.take()
    pool.give_back("db1")
    pool.close()
    assert "db1" in isolation.removed  # the second try at close
    always = Recording()
    always.remove = lambda name: (_ for _ in ()).throw(OSError("down"))  # type: ignore[method-assign]
    stuck = _pool(always)
    stuck.take()
    stuck.give_back("db1")
    with pytest.warns(UserWarning) as warned:
        stuck.close()
    assert sorted(str(w.message) for w in warned) == [  # the given back one, the spare
        "could not drop scenario database db1: down",
        "could not drop scenario database db2: down"]


def test_a_take_interrupted_while_it_waits_leaves_the_spare_to_close() -> None:
    class Interrupted(Recording):
        def create(self, name: str) -> str:
            if name == "db1":
                raise KeyboardInterrupt  # re-raised by the take that waits for it
            return super().create(name)

    isolation = Interrupted()
    pool = _pool(isolation)
    with pytest.raises(KeyboardInterrupt):
        pool.take()
    pool.close()
    assert "db1" in isolation.removed  # it may exist: the server may have made it


def test_a_failed_drop_is_tried_again_with_the_next_one() -> None:
    isolation = Recording(refuse_remove={"db1"})
    pool = _pool(isolation)
    pool.take()
    pool.give_back("db1")  # refused, in the background
    pool.take()
    second, _ = pool.take()  # the thread has passed db1's drop: its create was queued after
    assert "db1" not in isolation.removed
    pool.give_back(second)
    pool.take()
    pool.take()  # the thread has passed the retry: this one's create was queued after it
    assert "db1" in isolation.removed  # before close
    pool.close()


# ------------------------------------------------------------------ on PostgreSQL
def _ours(services: Services) -> list[str]:
    prefix = f"{SCENARIO_PREFIX}_{host_tag()}_{os.getpid()}_"
    return services.postgres.isolation.names(prefix)  # type: ignore[attr-defined, no-any-return]


@pytest.mark.services
@pytest.mark.slow
def test_real_tier_scenarios_one_with_a_database_restart_leave_no_database(
    local_services: Services, local_vhost_url: str,
) -> None:
    chosen = [s for s in CATALOG if s.name in (
        "k5_hit_across_worker_kill", "k6_workflows_never_cached")]
    assert len(chosen) == 2 and any(s.faults for s in chosen)
    assert _ours(local_services) == []
    with use_services(local_services, local_vhost_url):
        result = run_conformance(lambda: ReferenceAdapter("real"), chosen)
        assert len(_ours(local_services)) >= 1  # the spare, made ahead for a next one
    assert [run.status for run in result.runs] == ["ran", "ran"], [
        run.reasons for run in result.runs]
    assert result.ok, [(row.clause, row.reason) for row in result.rows if row.is_failure]
    assert _ours(local_services) == []
