"""The Prefect adapter's pure rules: state mapping, cache keys and task identity."""

from __future__ import annotations

from harness.adapters.prefect.observe import FlowRunRow, ObservedRuns, TaskRunRow, to_views
from harness.adapters.prefect.policy import (
    caching_config,
    calc_source,
    exit_status_of,
    inputs_key,
    view_state,
)
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


def test_a_cached_task_run_names_the_earliest_completed_run_of_its_key() -> None:
    runs = ObservedRuns(
        (FlowRunRow("f1", "A", "W", "COMPLETED", "Completed", None, None, {"s": 1}),),
        (_task("t1", "A/s/0:add", "Completed", "/st/k1", 1.0),
         _task("t2", "A/s/1:add", "Completed", "/st/k1", 2.0),
         _task("t3", "B/s/0:add", "Cached", "/st/k1", 3.0),
         _task("t4", "B/s/1:add", "Cached", "/st/k9", 4.0)))
    views = {v.id: v for v in to_views(runs, {}, {}, [], ())}
    assert views["t3"].cached_from == "t1"
    assert views["t4"].cached_from == "key:k9"  # no run the server knows made it
    assert views["f1"].children == ("t1", "t2", "t3", "t4")
    notes = [{"executed": "t0", "cache_key": "k9"}]
    assert {v.id: v for v in to_views(runs, {}, {}, notes, ())}["t4"].cached_from == "t0"
