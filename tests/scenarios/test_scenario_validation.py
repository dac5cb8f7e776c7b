"""Constructors check shapes and `validate()` checks references, with errors that say the fix."""

from __future__ import annotations

import pytest

from scenarios import (
    CalcCall,
    Calculation,
    Compute,
    Const,
    If,
    Input,
    Invalidate,
    InvalidScenarioError,
    KillAtCrashpoint,
    KillProcess,
    Launch,
    LaunchCalcs,
    LaunchWorkflow,
    RaiseIn,
    Relaunch,
    Scenario,
    SetCaching,
    StepOutput,
    UnknownNameError,
    While,
    Workflow,
    caching_enabled,
)
from scenarios.catalog import ADD, ADD_THREE

ABC = {"x": 1, "y": 2, "z": 3}
LAUNCH_A = Launch("A", "AddThreeNumbers", ABC)


def scenario(workflows=(ADD_THREE,), calcs=(ADD,), launches=(LAUNCH_A,), faults=()):
    return Scenario("s", tuple(workflows), tuple(calcs), tuple(launches), tuple(faults))


def invalid(match, **parts):
    with pytest.raises(InvalidScenarioError, match=match) as caught:
        scenario(**parts).validate()
    return caught.value


def test_the_add_three_numbers_scenario_is_valid():
    assert scenario().validate() is not None


def test_a_while_without_a_bound_is_rejected_at_construction():
    with pytest.raises(InvalidScenarioError, match="explicit small bound") as caught:
        While("loop", Const(1), (), None)  # type: ignore[arg-type]  # the error under test
    assert caught.value.field == "While.max_iterations"


def test_names_must_be_identifiers_so_effect_keys_stay_unambiguous():
    with pytest.raises(InvalidScenarioError, match="identifier"):
        Compute("a/b", Const(1))


def test_literals_must_be_wrapped_in_const():
    with pytest.raises(InvalidScenarioError, match=r"Const\(\.\.\.\)"):
        Compute("a", 1)  # type: ignore[arg-type]  # the error under test


def test_invalidates_cache_needs_a_failing_exit_status():
    with pytest.raises(InvalidScenarioError, match="non-zero exit_status"):
        Calculation("c", "add", invalidates_cache=True)


def test_unknown_calculation_function_is_rejected():
    with pytest.raises(InvalidScenarioError, match="one of"):
        Calculation("c", "multiply")


def test_duplicate_step_names_in_one_workflow_are_rejected_even_inside_branches():
    wf = Workflow("W", ("x",), (Compute("a", Input("x")),
                                If("i", Input("x"), (Compute("a", Input("x")),))))
    error = invalid("unique names", workflows=(wf,), launches=(Launch("A", "W", {"x": 1}),))
    assert error.value == "a"


def test_reading_a_step_that_did_not_run_before_is_a_dangling_reference():
    wf = Workflow("W", ("x",), (Compute("a", StepOutput("b", "value")), Compute("b", Input("x"))))
    invalid("earlier step in scope", workflows=(wf,), launches=(Launch("A", "W", {"x": 1}),))


def test_a_step_inside_a_branch_is_not_visible_after_the_if():
    wf = Workflow("W", ("x",), (If("i", Input("x"), (Compute("a", Input("x")),)),),
                  {"o": StepOutput("a", "value")})
    invalid("earlier step in scope", workflows=(wf,), launches=(Launch("A", "W", {"x": 1}),))


def test_reading_an_output_key_a_step_does_not_produce_is_rejected():
    wf = Workflow("W", ("x",), (LaunchCalcs("c", (CalcCall("add", {"x": Input("x")}),)),),
                  {"o": StepOutput("c", "0.digest")})
    invalid("a key of", workflows=(wf,), launches=(Launch("A", "W", {"x": 1}),))


def test_an_unknown_input_name_is_rejected():
    wf = Workflow("W", ("x",), (Compute("a", Input("y")),))
    invalid("an input of", workflows=(wf,), launches=(Launch("A", "W", {"x": 1}),))


def test_a_call_of_an_unknown_calculation_names_the_known_ones():
    error = invalid("a calculation of the scenario", calcs=())
    assert error.value == "add"


def test_recursive_sub_workflows_are_rejected():
    a = Workflow("A", (), (LaunchWorkflow("b", "B", {}),))
    b = Workflow("B", (), (LaunchWorkflow("a", "A", {}),))
    invalid("no recursive", workflows=(a, b), launches=(Launch("L", "A", {}),))


def test_sub_workflow_inputs_must_match_exactly():
    inner = Workflow("Inner", ("n",), (Compute("c", Input("n")),))
    outer = Workflow("Outer", (), (LaunchWorkflow("s", "Inner", {}),))
    invalid("exactly the inputs", workflows=(outer, inner), launches=(Launch("A", "Outer", {}),))


def test_launch_inputs_must_match_the_workflow_inputs():
    invalid("exactly the inputs", launches=(Launch("A", "AddThreeNumbers", {"x": 1}),))


def test_relaunch_must_refer_to_an_earlier_launch():
    invalid("launched earlier", launches=(Relaunch("B", "A"), Launch("A", "AddThreeNumbers", ABC)))


def test_duplicate_launch_labels_are_rejected():
    launch = Launch("A", "AddThreeNumbers", ABC)
    invalid("unique names", launches=(launch, launch))


def test_fault_targets_must_name_an_existing_body():
    invalid("a Compute, LaunchCalcs or LaunchWorkflow step",
            faults=(RaiseIn("AddThreeNumbers.nope", 1),))
    invalid("a calculation of the scenario", faults=(RaiseIn("calc:nope", 1),))


def test_while_waiting_needs_a_step_that_launches_children():
    invalid("launches children",
            faults=(KillAtCrashpoint("while_waiting", "AddThreeNumbers.result", 1),))


def test_two_faults_on_the_same_target_and_attempt_are_rejected():
    invalid("at most one body fault", faults=(
        RaiseIn("calc:add", None), KillAtCrashpoint("before_effect", "calc:add", 2)))


def test_invalidate_needs_a_calculation_path_the_launch_can_create():
    invalid("calculation path", launches=(Launch("A", "AddThreeNumbers", ABC),
                                         Invalidate("A", "add_xy/1:add")))


def test_armed_kill_must_come_before_its_launch():
    invalid("launched later", launches=(Launch("A", "AddThreeNumbers", ABC), KillProcess("A", 2)))


def test_ambiguous_caching_patterns_are_rejected():
    ambiguous = SetCaching(False, enabled=("a*",), disabled=("*d",))
    invalid("most specific", launches=(ambiguous, Launch("A", "AddThreeNumbers", ABC)))


def test_caching_resolution_prefers_the_most_specific_pattern():
    config = SetCaching(True, enabled=("add",), disabled=("*",))
    assert caching_enabled(config, "add") is True
    assert caching_enabled(config, "digest") is False
    assert caching_enabled(None, "add") is False
    assert caching_enabled(SetCaching(False), "add") is False


def test_lookups_of_unknown_names_list_the_known_ones():
    with pytest.raises(UnknownNameError, match="AddThreeNumbers"):
        scenario().workflow("Nope")
    with pytest.raises(UnknownNameError, match="known: add"):
        scenario().calculation("nope")


def test_relaunch_resolves_to_the_inputs_of_its_origin():
    s = scenario(launches=(Launch("A", "AddThreeNumbers", ABC), Relaunch("B", "A"),
                           Relaunch("C", "B")))
    assert s.launch_inputs("C") == ABC
    assert s.launch_workflow("C") == "AddThreeNumbers"


def test_lists_are_accepted_and_stored_as_tuples():
    wf = Workflow("W", ["x"], [Compute("a", Input("x"))])  # type: ignore[arg-type]  # friendly
    assert wf.inputs == ("x",) and isinstance(wf.steps, tuple)
    assert hash(wf) == hash(Workflow("W", ("x",), (Compute("a", Input("x")),)))


def test_const_equality_is_typed():
    assert Const(1) != Const(1.0)
    assert Const(1) != Const(True)
    assert Const(float("nan")) == Const(float("nan"))
