"""Hypothesis strategies for scenarios and their parts (the only module importing hypothesis).

`scenarios()` drives the same builder as `scenarios.generate`, answering each decision
with a Hypothesis draw whose simplest value is the simplest option, so failing scenarios
shrink to few workflows, few steps, no faults and plain values. `values()` is biased to
values that are hard to hash right.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any, TypeVar

from hypothesis import strategies as st

from scenarios._values_pool import SIMPLE_VALUES, TRICKY_VALUES, TYPED_VALUES
from scenarios.calculations import CALCULATION_FUNCTIONS
from scenarios.capabilities import Capabilities
from scenarios.faults import CRASHPOINTS, FAULT_KINDS, OUTAGE_KINDS, Fault
from scenarios.generate import Knobs, _Builder, build_scenario
from scenarios.language import Calculation, Workflow
from scenarios.plan import LaunchOp
from scenarios.scenario import Scenario

_DRAWN_KINDS = tuple(k for k in FAULT_KINDS if k not in OUTAGE_KINDS)  # as generate's Knobs

__all__ = [
    "calculations",
    "fault_plans",
    "launch_plans",
    "scenarios",
    "values",
    "workflows",
]

T = TypeVar("T")


class _DrawChooser:
    """`Chooser` backed by Hypothesis `draw`: integers shrink to `lo`, choices to the first."""

    def __init__(self, draw: Any, value_strategy: st.SearchStrategy[Any]) -> None:
        self.draw = draw
        self.value_strategy = value_strategy

    def integer(self, lo: int, hi: int) -> int:
        return self.draw(st.integers(lo, hi)) if hi > lo else lo

    def boolean(self, p_true: float) -> bool:
        # Shrinks to False; True with roughly probability p_true under random generation.
        return bool(self.draw(st.integers(0, 99)) >= 100 - round(p_true * 100))

    def choice(self, options: Sequence[T]) -> T:
        return options[0] if len(options) == 1 else self.draw(st.sampled_from(options))

    def value(self) -> Any:
        return self.draw(self.value_strategy)


def values(max_leaves: int = 6) -> st.SearchStrategy[Any]:
    """Scenario values, biased to hashing traps (typed, signed zero, NaN, big, unicode...).

    A third of draws come straight from the trap pool, a third are arbitrary scalars and a
    third are nested lists and dicts (whose keys may start with `$`, like the JSON tags).
    """
    pool = st.sampled_from(SIMPLE_VALUES + TRICKY_VALUES + TYPED_VALUES)
    scalars = st.one_of(
        pool,
        st.integers(),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=6),
        st.integers(min_value=2**63, max_value=2**80),
        st.booleans(),
        st.none(),
    )
    nested = st.recursive(
        scalars,
        lambda children: st.one_of(
            st.lists(children, max_size=3),
            st.dictionaries(st.text(max_size=4), children, max_size=3),
        ),
        max_leaves=max_leaves,
    )
    return st.one_of(pool, scalars, nested)


def _knobs(max_steps: int, fault_kinds: Collection[str], capabilities: Capabilities | None,
           **extra: Any) -> Knobs:
    return Knobs(max_steps=max_steps, fault_kinds=frozenset(fault_kinds),
                 capabilities=capabilities, **extra)


def scenarios(max_steps: int = 8, fault_kinds: Collection[str] = _DRAWN_KINDS,
              capabilities: Capabilities | None = None, **knobs: Any
              ) -> st.SearchStrategy[Scenario]:
    """Valid scenarios. Knobs as in `scenarios.generate.Knobs` (max_steps up to 20)."""
    config = _knobs(max_steps, fault_kinds, capabilities, **knobs)
    # Mostly the cheap pool (drawing recursive values dominates generation time), with
    # arbitrary values often enough to find what the pool does not list.
    value_strategy = st.one_of(st.sampled_from(SIMPLE_VALUES + TRICKY_VALUES + TYPED_VALUES),
                               values(max_leaves=3))

    @st.composite
    def build(draw: Any) -> Scenario:
        return build_scenario(_DrawChooser(draw, value_strategy), config)

    return build()


def calculations(max_calculations: int = 3) -> st.SearchStrategy[tuple[Calculation, ...]]:
    """A tuple of distinct calculation types (possibly sharing a function: K8 material)."""
    config = Knobs(max_calculations=max_calculations)

    @st.composite
    def build(draw: Any) -> tuple[Calculation, ...]:
        builder = _Builder(_DrawChooser(draw, values()), config)
        for index in range(builder.c.integer(1, max_calculations)):
            builder.calcs.append(builder.calculation(index + 1))
        return tuple(builder.calcs)

    return build()


def workflows(calcs: Sequence[Calculation] | None = None, max_steps: int = 8,
              max_workflows: int = 2) -> st.SearchStrategy[tuple[Workflow, ...]]:
    """Workflows over `calcs` (default: one of each function); the first is `Main`."""
    chosen = tuple(calcs) if calcs else tuple(Calculation(f, f) for f in CALCULATION_FUNCTIONS)
    config = Knobs(max_steps=max_steps, max_workflows=max_workflows)

    @st.composite
    def build(draw: Any) -> tuple[Workflow, ...]:
        builder = _Builder(_DrawChooser(draw, values()), config)
        builder.calcs = list(chosen)
        count = builder.c.integer(1, min(max_workflows, max_steps))
        for index in range(count - 1, 0, -1):
            share = builder.c.integer(1, max(1, min(3, (builder.budget - index) // 2)))
            builder.budget -= 1
            builder.workflows.insert(0, builder.workflow(f"Sub{index}",
                                                         list(builder.workflows), share))
            builder.budget += 1
        share = builder.c.integer(1, max(1, builder.budget))
        builder.workflows.insert(0, builder.workflow("Main", list(builder.workflows), share))
        builder.cross_type()  # among the given types only: `calcs` are not extended
        return tuple(builder.workflows)

    return build()


def fault_plans(workflows: Sequence[Workflow], calcs: Sequence[Calculation],
                fault_kinds: Collection[str] = _DRAWN_KINDS, max_faults: int = 2,
                crashpoints: Collection[str] = CRASHPOINTS) -> st.SearchStrategy[tuple[Fault, ...]]:
    """Fault plans targeting these workflows' steps and these calculations."""
    config = Knobs(max_faults=max_faults, fault_kinds=frozenset(fault_kinds),
                   crashpoints=frozenset(crashpoints))

    @st.composite
    def build(draw: Any) -> tuple[Fault, ...]:
        builder = _Builder(_DrawChooser(draw, values()), config)
        builder.calcs, builder.workflows = list(calcs), list(workflows)
        return builder.commit_fault(builder.faults())

    return build()


def launch_plans(workflows: Sequence[Workflow], calcs: Sequence[Calculation],
                 faults: Sequence[Fault] = (), max_launches: int = 3
                 ) -> st.SearchStrategy[tuple[LaunchOp, ...]]:
    """Launch plans for `workflows[0]`: launches, relaunches, caching, invalidations, kills."""
    config = Knobs(max_launches=max_launches)

    @st.composite
    def build(draw: Any) -> tuple[LaunchOp, ...]:
        builder = _Builder(_DrawChooser(draw, values()), config)
        builder.calcs, builder.workflows = list(calcs), list(workflows)
        return builder.plan(tuple(faults))

    return build()
