"""The Prefect adapter's pure rules: state mapping, cache keys and task identity."""

from __future__ import annotations

import pytest

from harness.adapter import Observation
from harness.adapters.prefect.observe import FlowRunRow, ObservedRuns, TaskRunRow, to_views
from harness.adapters.prefect.policy import (
    caching_config,
    calc_source,
    exit_status_of,
    inputs_key,
    view_state,
)
from harness.errors import AdapterSpecError
from scenarios.language import Calculation
from scenarios.plan import SetCaching

from .conftest import needs_prefect


def test_completed_is_finished_and_an_exit_message_is_a_finished_failure() -> None:
    assert view_state("COMPLETED", None, False) == ("finished", 0)
    assert view_state("FAILED", "exit status 410: planned", False) == ("finished", 410)
    assert view_state("FAILED", "Task run encountered an exception", False) == ("excepted", None)
    assert view_state("CANCELLED", None, False) == ("killed", None)


def test_crashed_is_active_only_while_the_adapter_will_retry_it() -> None:
    assert view_state("CRASHED", None, True) == ("running", None)
    assert view_state("CRASHED", None, False) == ("killed", None)
    assert view_state("SCHEDULED", None, True)[0] == "created"


def test_exit_status_is_read_only_from_the_prefix() -> None:
    assert exit_status_of("exit status -3: x") == -3
    assert exit_status_of("the exit status 3") is None
    assert exit_status_of(None) is None


def test_key_function_without_task_identity_is_equal_across_tasks() -> None:
    """The common cache_key_fn recipe: equal inputs give one key whatever the task."""
    assert inputs_key({"x": 1}, "ns", None) == inputs_key({"x": 1}, "ns", None)
    assert inputs_key({"x": 1}, "ns", "add") != inputs_key({"x": 1}, "ns", "plus")
    assert inputs_key({"x": 1}, "ns", None) != inputs_key({"x": 1}, "other", None)


def test_each_calculation_type_has_its_own_task_source() -> None:
    add, plus = Calculation("add", "add"), Calculation("plus", "add")
    assert calc_source(add, "ns", "body") != calc_source(plus, "ns", "body")
    assert calc_source(add, "ns", "body") != calc_source(Calculation("add", "add", version=2),
                                                         "ns", "body")
    assert calc_source(add, "ns", "body") != calc_source(add, "ns2", "body")


def test_stored_caching_configuration_round_trips() -> None:
    assert caching_config({}) == SetCaching(False)
    assert caching_config({"default": False, "enabled": ["add"], "disabled": []}) \
        == SetCaching(False, ("add",))


@needs_prefect
def test_policy_follows_the_configuration_at_call_time() -> None:
    from prefect.cache_policies import NO_CACHE

    from harness.adapters.prefect.policy import policy_for

    add = Calculation("add", "add")
    on = {"caching": {"default": True}}
    assert "RunId" not in repr(policy_for(on, add, "ns")[0])
    assert "RunId" in repr(policy_for({"caching": {"default": False}}, add, "ns")[0])
    assert policy_for({"off_policy": "none"}, add, "ns")[0] is NO_CACHE
    policy, key_fn = policy_for({**on, "key_fn": "inputs"}, add, "ns")
    assert policy is None and key_fn(None, {"x": 1}) == inputs_key({"x": 1}, "ns", None)


def _task(id_: str, name: str, state: str, key: str | None, start: float) -> TaskRunRow:
    return TaskRunRow(id_, name, name.rpartition(":")[2], "f1", state.upper(), state, None,
                      key, {"sum": 3} if state in ("Completed", "Cached") else None, start)


def _flow(id_: str, name: str, parent_task: str | None = None,
          start: float = 0.0) -> FlowRunRow:
    return FlowRunRow(id_, name, "W", "COMPLETED", "Completed", None, parent_task, {"s": 1},
                      start=start)


def test_a_cached_task_run_reads_a_key_and_every_stored_run_reports_its_key() -> None:
    """Prefect names no source task run, only the stored result's file: the views carry
    the keys, and the harness finds the source (``Observation.source_of``)."""
    runs = ObservedRuns(
        (_flow("f1", "A"),),
        (_task("t1", "A/s/0:add", "Completed", "/st/k1", 1.0),
         _task("t2", "A/s/1:add", "Completed", "/st/k1", 2.0),
         _task("t3", "B/s/0:add", "Cached", "/st/k1", 3.0),
         _task("t4", "B/s/1:add", "Cached", "/st/k9", 4.0),
         _task("t5", "B/s/2:add", "Failed", "/st/k7", 5.0)))
    views = to_views(runs, {}, {}, {}, ())
    by_id = {v.id: v for v in views}
    assert [by_id[t].cache_key for t in ("t1", "t2", "t3", "t4", "t5")] == \
        ["k1", "k1", "k1", "k9", None]
    assert (by_id["t3"].cached_from_key, by_id["t1"].cached_from_key) == ("k1", None)
    assert all(v.cached_from is None for v in views)  # no invented source ids any more
    observation = Observation(views)
    assert observation.source_of(by_id["t3"]).id == "t2"  # the latest finished writer
    assert observation.source_of(by_id["t4"]) is None  # K2 says no process stored k9
    assert by_id["f1"].children == ("t1", "t2", "t3", "t4", "t5")


def test_each_attempt_of_a_flow_run_reports_the_task_run_it_continues() -> None:
    """A retried flow run re-submits every task: same place, new task run id."""
    runs = ObservedRuns(
        (_flow("f1", "A"), _flow("s1", "A/inner", "t0", 1.0), _flow("s2", "A/inner", "t9", 9.0)),
        (_task("t0", "A/inner", "Completed", None, 0.5),
         _task("t2", "A/s/0:add", "Cached", "/st/k1", 7.0),
         _task("t1", "A/s/0:add", "Running", None, 2.0),
         _task("t3", "A/s/1:add", "Completed", "/st/k2", 8.0),
         _task("t9", "A/inner", "Completed", None, 8.5)))
    by_id = {v.id: v for v in to_views(runs, {}, {}, {}, ())}
    assert (by_id["t1"].attempt_of, by_id["t2"].attempt_of, by_id["t3"].attempt_of) == \
        (None, "t1", None)
    assert (by_id["s1"].attempt_of, by_id["s2"].attempt_of, by_id["f1"].attempt_of) == \
        (None, "s1", None)


def test_a_flow_run_revived_by_retry_carries_the_relaunchs_label() -> None:
    runs = ObservedRuns((_flow("f1", "A"),), ())
    view = to_views(runs, {"f1": "A"}, {}, {"f1": ["B", "C"]}, ())[0]
    assert (view.path, view.aliases) == ("A", ("B", "C"))


def test_tiers_are_configurations_and_a_bad_one_names_the_known_ones() -> None:
    from harness.adapters.prefect.adapter import PrefectAdapter

    assert PrefectAdapter("retry").relaunch_mode == "retry"
    assert PrefectAdapter("key-fn").key_fn == "inputs"
    assert (PrefectAdapter().relaunch_mode, PrefectAdapter().key_fn) == ("new", "")
    caps = PrefectAdapter().capabilities()
    assert caps.tiers == {"local", "retry", "key-fn"}
    assert (caps.caching_config_applies, caps.invalidation_scope) == \
        ("at_launch", "per_stored_result")
    with pytest.raises(AdapterSpecError, match="local, retry, key-fn"):
        PrefectAdapter("cloud")
