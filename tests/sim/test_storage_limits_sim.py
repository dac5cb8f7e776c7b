"""The storage limits hold on the simulation tier too (issue 12): the same error at
submit, and a poison output excepts the process once while other work finishes."""

from __future__ import annotations

import pytest

from reference_engine import StorageLimitError
from reference_engine.sim import Simulation
from tests.engine.poison import BadChildKey, BadChildLabel, SurrogateOut, echo, nested
from tests.sim.workflows import ThreeSteps

pytestmark = pytest.mark.simulation


def test_the_simulation_refuses_what_the_stores_refuse_at_submit() -> None:
    with Simulation(0) as sim:
        with pytest.raises(StorageLimitError, match=r"\[.value.\].* is nested deeper"):
            sim.submit(echo, value=nested(5000))
        with pytest.raises(StorageLimitError, match="contains a NUL"):
            sim.submit(echo, label="a\x00b", value=1)
        assert sim.submit(echo, value=nested(199)) >= 0


def test_poison_outputs_and_names_except_once_while_other_work_finishes() -> None:
    with Simulation(3, workers=2) as sim:
        poison = [sim.submit(SurrogateOut), sim.submit(BadChildKey),
                  sim.submit(BadChildLabel)]
        other = sim.submit(ThreeSteps, label="p", x=2, y=3, tag="p")
        assert sim.run_until_quiet() is True
        messages = [sim.get(pid).message for pid in poison]
        assert all(sim.get(pid).state == "excepted" for pid in poison)
        assert "lone surrogate" in messages[0]
        assert "201 characters long" in messages[1] and "NUL" in messages[2]
        assert sim.get(other).state == "finished"
