"""The named catalog: hand-written scenarios, at least one per clause, with stable names.

Names are identifiers other tools refer to (reports, `wfconform replay`, pytest ids), so
never rename one; add a new scenario instead. The AddThreeNumbers story that started the
project (DESIGN.md section 1) is here in three parts: `add_three_numbers_relaunch_uncached`,
`add_three_numbers_relaunch_cached` and `c1_kill_while_waiting_keeps_id`.
"""

from __future__ import annotations

import math
import unicodedata

from scenarios._near_pairs import PAIR_EXAMPLES
from scenarios.errors import UnknownNameError
from scenarios.faults import (
    DropConnection,
    DuplicateDelivery,
    ExpireLease,
    FailCommit,
    Fault,
    KillAtCrashpoint,
    KillOnEffect,
    RaiseIn,
    RestartBroker,
    RestartDatabase,
)
from scenarios.language import (
    CalcCall,
    Calculation,
    Compute,
    Const,
    If,
    Input,
    LaunchCalcs,
    LaunchWorkflow,
    StepOutput,
    While,
    Workflow,
)
from scenarios.plan import Invalidate, KillProcess, Launch, LaunchOp, Relaunch, SetCaching
from scenarios.scenario import Scenario

__all__ = ["CATALOG", "by_name"]

ADD = Calculation("add", "add")
DIGEST = Calculation("digest", "digest")
ECHO = Calculation("echo", "echo")

ADD_THREE = Workflow(
    "AddThreeNumbers", ("x", "y", "z"),
    (
        LaunchCalcs("add_xy", (CalcCall("add", {"x": Input("x"), "y": Input("y")}),)),
        LaunchCalcs("add_xyz", (CalcCall("add", {"x": StepOutput("add_xy", "0.sum"),
                                                 "y": Input("z")}),)),
        Compute("result", StepOutput("add_xyz", "0.sum")),
    ),
    {"sum": StepOutput("result", "value")},
)
"""AddThreeNumbers(x, y, z): add_xy = add(x, y); add_xyz = add(sum, z); result."""

STEPS = Workflow(
    "Steps", ("x",),
    (Compute("s1", Input("x")), Compute("s2", StepOutput("s1", "value")),
     Compute("s3", StepOutput("s2", "value"))),
    {"out": StepOutput("s3", "value")},
)
"""Steps(x): three compute steps in a row, so a kill can land between checkpoints."""

FAN = Workflow(
    "Fan", ("x",),
    (LaunchCalcs("fan", (CalcCall("add", {"x": Input("x"), "y": Const(1)}),
                         CalcCall("add", {"x": Input("x"), "y": Const(2)}),
                         CalcCall("digest", {"v": Input("x")}))),
     Compute("done", StepOutput("fan", "1.sum"))),
    {"sum": StepOutput("fan", "0.sum"), "digest": StepOutput("fan", "2.digest")},
)
"""Fan(x): one step launching three calculations at once, then one more step."""

ECHO_ONE = Workflow("EchoOne", ("v",),
                    (LaunchCalcs("call", (CalcCall("echo", {"v": Input("v")}),)),),
                    {"v": StepOutput("call", "0.v")})
DIGEST_ONE = Workflow("DigestOne", ("v",),
                      (LaunchCalcs("call", (CalcCall("digest", {"v": Input("v")}),)),),
                      {"digest": StepOutput("call", "0.digest")})

INNER = Workflow(
    "Inner", ("n",),
    (While("repeat", Input("n"), (LaunchCalcs("tick", (CalcCall("add", {
        "i": StepOutput("repeat", "iteration"), "n": Input("n")}),)),), 3),
     If("check", Input("n"), (Compute("yes", Const(True)),), (Compute("no", Const(False)),))),
    {"iterations": StepOutput("repeat", "iterations"), "branch": StepOutput("check", "branch")},
)
NESTED = Workflow(
    "Nested", ("n",),
    (Compute("start", Input("n")),
     LaunchWorkflow("inner", "Inner", {"n": StepOutput("start", "value")}),
     Compute("finish", StepOutput("inner", "iterations"))),
    {"iterations": StepOutput("finish", "value"), "branch": StepOutput("inner", "branch")},
)
"""Nested(n) runs Inner(n): a bounded loop of calculations and an if, as a child process."""

ABC = {"x": 1, "y": 2, "z": 3}
ON = SetCaching(True)


def _s(name: str, clause: str, description: str, workflows: tuple[Workflow, ...],
       calcs: tuple[Calculation, ...], launches: tuple[LaunchOp, ...],
       faults: tuple[Fault, ...] = ()) -> Scenario:
    return Scenario(name, workflows, calcs, launches, faults, clause, description)


_NFC = unicodedata.normalize("NFC", "caf\u00e9")
_NFD = unicodedata.normalize("NFD", "caf\u00e9")
_TRICKY = [1, 1.0, True, "1", -0.0, 0.0, math.nan, 2**70, _NFC, _NFD, [], {},
           {"b": [1, {"c": None}], "a": 2}]
_FAILS = Calculation("fails", "add", exit_status=410)
_BROKEN = Calculation("broken", "add", exit_status=320, invalidates_cache=True)
_FAILING = Workflow("Failing", ("x",), (LaunchCalcs("both", (
    CalcCall("fails", {"x": Input("x")}), CalcCall("broken", {"x": Input("x")}))),))
_PLUS = Calculation("plus", "add")
_TWO_TYPES = Workflow("TwoTypes", ("x", "y"), (
    LaunchCalcs("first", (CalcCall("add", {"x": Input("x"), "y": Input("y")}),)),
    LaunchCalcs("second", (CalcCall("plus", {"x": Input("x"), "y": Input("y")}),))),
    {"first": StepOutput("first", "0.sum"), "second": StepOutput("second", "0.sum")})
_MIXED = Workflow("Mixed", ("x",), (LaunchCalcs("both", (
    CalcCall("add", {"x": Input("x")}), CalcCall("digest", {"x": Input("x")}))),))

CATALOG: tuple[Scenario, ...] = (
    _s("add_three_numbers_relaunch_uncached", "N3",
       "add_xyz raises on its first attempt; the relaunch is a new instance and, without "
       "caching, runs add_xy again", (ADD_THREE,), (ADD,),
       (Launch("A", "AddThreeNumbers", ABC), Relaunch("B", "A")),
       (RaiseIn("AddThreeNumbers.add_xyz", 1),)),
    _s("add_three_numbers_relaunch_cached", "N4",
       "as the uncached story, but with caching on add_xy of the relaunch is a cache hit "
       "from the excepted launch's child; its workflow steps still run",
       (ADD_THREE,), (ADD,),
       (ON, Launch("A", "AddThreeNumbers", ABC), Relaunch("B", "A")),
       (RaiseIn("AddThreeNumbers.add_xyz", 1),)),
    _s("c1_kill_while_waiting_keeps_id", "C1",
       "the worker dies while AddThreeNumbers waits for add_xyz; the same process continues "
       "and add_xy does not run again", (ADD_THREE,), (ADD,),
       (Launch("A", "AddThreeNumbers", ABC),),
       (KillAtCrashpoint("while_waiting", "AddThreeNumbers.add_xyz", 1),)),
    _s("c2_checkpointed_effect_not_repeated", "C2",
       "a kill after s2's checkpoint but before the ack: s1 and s2 run exactly once",
       (STEPS,), (), (Launch("A", "Steps", {"x": 7}),),
       (KillAtCrashpoint("after_checkpoint_before_ack", "Steps.s2", 1),)),
    _s("c3_in_flight_effect_at_most_kills_plus_one", "C3",
       "two kills after s2's effect but before its checkpoint: s2 runs kills + 1 = 3 times",
       (STEPS,), (), (Launch("A", "Steps", {"x": 7}),),
       (KillAtCrashpoint("after_effect_before_checkpoint", "Steps.s2", 1),
        KillAtCrashpoint("after_effect_before_checkpoint", "Steps.s2", 2))),
    _s("c3_redo_of_launch_step_may_orphan_children", "C3",
       "a kill after the launching step ran but before its checkpoint: the step runs twice, "
       "its children at most twice (orphans)", (FAN,), (ADD, DIGEST),
       (Launch("A", "Fan", {"x": 5}),),
       (KillAtCrashpoint("after_effect_before_checkpoint", "Fan.fan", 1),)),
    _s("c4_outputs_equal_without_kills", "C4",
       "kills in a calculation and before a step's effect leave the outputs unchanged",
       (ADD_THREE,), (ADD,), (Launch("A", "AddThreeNumbers", ABC),),
       (KillAtCrashpoint("after_effect_before_checkpoint", "calc:add", 1),
        KillAtCrashpoint("before_effect", "AddThreeNumbers.result", 1))),
    _s("c5_no_overlap_after_redelivery", "C5",
       "a hard broker restart and dropped connections cause redeliveries; no two workers "
       "may run the process at once", (ADD_THREE,), (ADD,),
       (Launch("A", "AddThreeNumbers", ABC),),
       (RestartBroker(2, hard=True), DropConnection(4))),
    _s("c5_stale_commit_refused_after_takeover", "C5",
       "s1's worker freezes past its lease and s2's task is delivered twice: each time "
       "another worker takes the task over while the first still runs, whose commit must "
       "then be refused (the engine's record of claims and commits shows it)",
       (STEPS,), (), (Launch("A", "Steps", {"x": 7}),),
       (ExpireLease(1), DuplicateDelivery(3))),
    _s("c6_children_awaited_not_relaunched", "C6",
       "a kill right after the fan-out step's checkpoint: the three children are awaited, "
       "not launched again", (FAN,), (ADD, DIGEST), (Launch("A", "Fan", {"x": 5}),),
       (KillAtCrashpoint("after_checkpoint_before_ack", "Fan.fan", 1),)),
    _s("n1_excepted_process_never_runs_again", "N1",
       "A always raises; a kill request and a broker restart later must leave it excepted",
       (ADD_THREE, STEPS), (ADD,),
       (Launch("A", "AddThreeNumbers", ABC), KillProcess("A"), Launch("B", "Steps", {"x": 1})),
       (RaiseIn("AddThreeNumbers.add_xyz", None), RestartBroker(4, hard=True))),
    _s("n2_relaunch_makes_new_id", "N2",
       "each relaunch is a new process; the excepted original keeps its id and state",
       (STEPS,), (), (Launch("A", "Steps", {"x": 1}), Relaunch("B", "A"), Relaunch("C", "B")),
       (RaiseIn("Steps.s3", 1),)),
    _s("k1_hit_executes_no_effect", "K1",
       "the second launch with equal inputs hits for both calculations: no calculation "
       "effect, but every workflow step runs", (ADD_THREE,), (ADD,),
       (ON, Launch("A", "AddThreeNumbers", ABC), Launch("B", "AddThreeNumbers", ABC))),
    _s("k2_hit_outputs_equal_source", "K2",
       "echo of hashing-trap values; the second launch (dict keys in another order) hits "
       "and must return exactly the source's outputs", (ECHO_ONE,), (ECHO,),
       (ON, Launch("A", "EchoOne", {"v": _TRICKY}),
        Launch("B", "EchoOne", {"v": [*_TRICKY[:-1], {"a": 2, "b": [1, {"c": None}]}]}))),
    _s("k3_excepted_source_never_hit", "K3",
       "add raises on its first attempt; the excepted node must not be a source",
       (ADD_THREE,), (ADD,),
       (ON, Launch("A", "AddThreeNumbers", ABC), Launch("B", "AddThreeNumbers", ABC)),
       (RaiseIn("calc:add", 1),)),
    _s("k3_failed_source_follows_policy", "K3",
       "a failed calculation is a source unless its exit code invalidates cache (AiiDA "
       "policy; other policies per the engine's declaration)", (_FAILING,), (_FAILS, _BROKEN),
       (ON, Launch("A", "Failing", {"x": -5}), Launch("B", "Failing", {"x": -5}))),
    _s("k3_invalidated_source_misses", "K3",
       "after invalidating A's add_xy node, B's add_xy misses while add_xyz still hits",
       (ADD_THREE,), (ADD,),
       (ON, Launch("A", "AddThreeNumbers", ABC), Invalidate("A", "add_xy/0:add"),
        Launch("B", "AddThreeNumbers", ABC))),
    _s("k4_any_input_change_misses", "K4",
       "1, 1.0, True, '1', NFC and NFD text, and a change three levels deep all miss",
       (DIGEST_ONE,), (DIGEST,),
       (ON, *(Launch(label, "DigestOne", {"v": v}) for label, v in (
           ("A", 1), ("B", 1.0), ("C", True), ("D", "1"), ("E", _NFC), ("F", _NFD),
           ("G", {"a": {"b": {"c": 1}}}), ("H", {"a": {"b": {"c": 2}}}))))),
    _s("k4_float_normalisation_is_reported", "K4",
       "0.1 and its neighbour 0.1 + 2**-56 differ: a miss, or a hit reported as coming from "
       "a declared float_round_14 normalisation", (DIGEST_ONE,), (DIGEST,),
       (ON, Launch("A", "DigestOne", {"v": 0.1}), Launch("B", "DigestOne", {"v": 0.1 + 2**-56}))),
    _s("k4_typed_near_pairs", "K4",
       "one launch pair per near pair of typed values (tuple/list, bytes/str, set/frozenset, "
       "Decimal exponent, 2**53 and 2**53 + 1, a sign, -0.0, naive/aware datetime, key 1/'1', "
       "NFC/NFD key, []/None, a change 41 levels deep, an array's shape) misses; two equal "
       "sets built in "
       "another order hit", (DIGEST_ONE,), (DIGEST,),
       (ON, *(Launch(f"{side}_{kind}", "DigestOne", {"v": pair[index]})
              for kind, pair in PAIR_EXAMPLES.items()
              for index, side in enumerate(("A", "B"))))),
    _s("k5_hit_across_worker_kill", "K5",
       "the worker dies after A's last checkpoint; B in a new process still hits A's nodes",
       (ADD_THREE,), (ADD,),
       (ON, Launch("A", "AddThreeNumbers", ABC), Launch("B", "AddThreeNumbers", ABC)),
       (KillAtCrashpoint("after_checkpoint_before_ack", "AddThreeNumbers.result", 1),
        RestartDatabase(6))),
    _s("k6_workflows_never_cached", "K6",
       "the same workflow and inputs launched twice with caching on: every step runs twice",
       (STEPS,), (), (ON, Launch("A", "Steps", {"x": 1}), Launch("B", "Steps", {"x": 1}))),
    _s("k6_caching_off_never_hits", "K6",
       "caching off: equal calculations execute every time", (ADD_THREE,), (ADD,),
       (SetCaching(False), Launch("A", "AddThreeNumbers", ABC),
        Launch("B", "AddThreeNumbers", ABC))),
    _s("k7_per_type_configuration", "K7",
       "caching on for add only: add hits, digest executes again", (_MIXED,), (ADD, DIGEST),
       (SetCaching(False, enabled=("add",)), Launch("A", "Mixed", {"x": 1}),
        Launch("B", "Mixed", {"x": 1}))),
    _s("k8_types_never_hit_each_other", "K8",
       "add and plus share a function and inputs; plus must not hit add's node",
       (_TWO_TYPES,), (ADD, _PLUS), (ON, Launch("A", "TwoTypes", {"x": 1, "y": 2}))),
    _s("l1_every_launch_terminates_after_faults", "L1",
       "a worker kill, broker and database restarts and dropped connections, then heal: "
       "every launch reaches a terminal state", (ADD_THREE,), (ADD,),
       (Launch("A", "AddThreeNumbers", ABC), Relaunch("B", "A")),
       (KillOnEffect(2), RestartBroker(3, hard=True), RestartDatabase(5), DropConnection(7))),
    _s("l2_one_launch_one_process", "L2",
       "three launches under worker kills make exactly three top-level processes",
       (STEPS,), (), (Launch("A", "Steps", {"x": 1}), Launch("B", "Steps", {"x": 1}),
                      Relaunch("C", "A")),
       (KillAtCrashpoint("after_claim", "Steps.s1", 1),
        KillAtCrashpoint("after_checkpoint_before_ack", "Steps.s1", 2))),
    _s("p1_kill_propagates_to_children", "P1",
       "a kill request for A while its sub-workflow runs: no active child may remain",
       (NESTED, INNER), (ADD,), (KillProcess("A", 3), Launch("A", "Nested", {"n": 2}))),
    _s("p1_nested_links_consistent", "P1",
       "a sub-workflow with a loop of calculations and an if: links parent -> child -> "
       "grandchild", (NESTED, INNER), (ADD,), (Launch("A", "Nested", {"n": 2}),)),
    _s("c4_failed_commit_is_a_failed_attempt", "C4",
       "the database refuses the commit of s2's checkpoint: the attempt failed, so s2 runs "
       "again and the outputs equal the fault-free ones", (STEPS,), (),
       (Launch("A", "Steps", {"x": 7}),), (FailCommit("Steps.s2", 1),)),
    _s("p2_killed_attempt_is_accounted_for", "P2",
       "the worker dies in add's body after its effect: the killed attempt and its retry "
       "ran in processes the engine still reports", (ADD_THREE,), (ADD,),
       (Launch("A", "AddThreeNumbers", ABC),),
       (KillAtCrashpoint("after_effect_before_checkpoint", "calc:add", 1),)),
    _s("c2_step_never_reruns_after_next_began", "C2",
       "kills after s1's effect and at s2's start: s1 may run twice, but never again once "
       "s2 began (order, not only counts)", (STEPS,), (), (Launch("A", "Steps", {"x": 7}),),
       (KillAtCrashpoint("after_effect_before_checkpoint", "Steps.s1", 1),
        KillAtCrashpoint("before_effect", "Steps.s2", 1))),
    _s("n1_killed_process_never_runs_again", "N1",
       "a kill request lands while s2 runs: A stays killed, its worker's commit must not "
       "revive it; B runs after", (STEPS,), (),
       (KillProcess("A", 2), Launch("A", "Steps", {"x": 1}), Launch("B", "Steps", {"x": 2}))),
    # Issue 18, point 7: the rules an engine declares (Capabilities), judged as declared.
    _s("k7_configuration_applies_as_declared", "K7",
       "A runs with caching off, then B with caching on: B's calculations hit A's nodes if "
       "the configuration applies at lookup (the default), and execute if it applies at "
       "launch (a node launched with caching off kept no result)", (ADD_THREE,), (ADD,),
       (SetCaching(False), Launch("A", "AddThreeNumbers", ABC), ON,
        Launch("B", "AddThreeNumbers", ABC))),
    _s("k3_invalidation_reaches_as_declared", "K3",
       "B hits A's nodes; after A's add_xy is invalidated, C's add_xy hits B's node if "
       "invalidation is per node (the default), and executes if it drops the stored result "
       "A and B share", (ADD_THREE,), (ADD,),
       (ON, Launch("A", "AddThreeNumbers", ABC), Launch("B", "AddThreeNumbers", ABC),
        Invalidate("A", "add_xy/0:add"), Launch("C", "AddThreeNumbers", ABC))),
)


def by_name(name: str) -> Scenario:
    """The catalog scenario called `name`; `UnknownNameError` lists the names if absent."""
    for scenario in CATALOG:
        if scenario.name == name:
            return scenario
    raise UnknownNameError("catalog scenario", name, tuple(s.name for s in CATALOG))
