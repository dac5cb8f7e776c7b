"""Scenario arrays reach the reference engine as NumPy arrays and come back as `NumArray`:
the adapter declares the kind, the engine keeps and hashes dtype and shape (on both the
embedded tier's database and the simulation's store), and a scenario using arrays as
launch inputs, constants, conditions and echoed outputs passes."""

from __future__ import annotations

import pytest

from harness.adapters import load_adapter
from harness.runner import run_scenario
from scenarios import (
    CalcCall,
    Calculation,
    Compute,
    Const,
    If,
    Input,
    Launch,
    LaunchCalcs,
    Scenario,
    SetCaching,
    StepOutput,
    Workflow,
)
from scenarios.values import NumArray, canonical

numpy = pytest.importorskip("numpy")

from harness.adapters.reference import REFERENCE_VALUE_KINDS  # noqa: E402 (after the skip)
from harness.adapters.reference_arrays import from_engine, to_engine  # noqa: E402
from reference_engine.core.hashing import canonical_bytes  # noqa: E402
from reference_engine.sim.store import freeze, thaw  # noqa: E402

SQUARE = NumArray("int64", (2, 2), (1, 2, 3, 4))
FLAT = NumArray("int64", (4,), (1, 2, 3, 4))
FLOATS = NumArray("float64", (2, 2), (1.0, 2.0, 3.0, 4.0))


def test_the_adapter_declares_arrays_and_maps_them_both_ways() -> None:
    assert "array" in REFERENCE_VALUE_KINDS
    value = {"a": [SQUARE, (FLAT, 1)], "b": 2}
    engine = to_engine(value)
    assert type(engine["a"][0]).__name__ == "ndarray" and engine["a"][0].shape == (2, 2)
    assert canonical(from_engine(engine)) == canonical(value)
    plain = {"x": [1, (2, "3")]}
    assert to_engine(plain) is plain and from_engine(plain) is plain
    with pytest.raises(TypeError, match="set"):
        to_engine({(SQUARE,)})


def test_the_engine_hashes_an_arrays_shape_and_dtype_and_the_sim_store_keeps_them() -> None:
    hashes = {canonical_bytes(to_engine(a)) for a in (SQUARE, FLAT, FLOATS)}
    assert len(hashes) == 3
    for array in (SQUARE, FLAT, FLOATS):
        back = thaw(freeze({"v": [to_engine(array)]}))
        assert canonical(from_engine(back)) == canonical({"v": [array]})


def _array_scenario() -> Scenario:
    echo = Calculation("echo", "echo")
    flow = Workflow("Arrays", ("v",), (
        Compute("keep", Const(FLOATS)),
        If("check", Const(SQUARE), (LaunchCalcs("first", (
            CalcCall("echo", {"v": Input("v"), "w": Const(FLOATS)}),)),)),
        LaunchCalcs("again", (CalcCall("echo", {"v": Input("v"), "w": Const(FLOATS)}),)),
        LaunchCalcs("other", (CalcCall("echo", {"v": Const(FLAT), "w": Const(FLOATS)}),)),
    ), {"out": StepOutput("again", "0.v"), "kept": StepOutput("keep", "value")})
    return Scenario("arrays_round_trip", (flow,), (echo,),
                    (SetCaching(True), Launch("A", "Arrays", {"v": SQUARE}),
                     Launch("B", "Arrays", {"v": SQUARE})))


@pytest.mark.parametrize("tier", ["sim", pytest.param("embedded", marks=pytest.mark.embedded)])
def test_a_scenario_of_arrays_passes_on_the_reference_engine(tier: str) -> None:
    run = run_scenario(load_adapter("reference", tier), _array_scenario())
    assert run.status == "ran" and run.failed() == (), run.failed()
    verdicts = {r.clause: r.verdict for r in run.results}
    assert verdicts["K4"] == "pass" and verdicts["K5"] == "pass" and verdicts["K2"] == "pass"
