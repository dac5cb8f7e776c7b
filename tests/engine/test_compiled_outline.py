"""The engine compiles a workflow class's outline once, and keeps it no longer than the class.

A table keyed by class kept every class alive: an application that makes workflow
classes at run time (the harness makes one per scenario definition) grew without
bound (``tests/harness/test_fuzz_memory.py`` measures it over a campaign).
"""

from __future__ import annotations

import gc
import weakref

from reference_engine.core.process import WorkChain


def test_compiled_outlines_live_and_die_with_their_class() -> None:
    class Once(WorkChain):
        outline = ("s_a",)

        def s_a(self) -> None:
            return None

    program = Once.program()
    assert Once.program() is program  # compiled once
    ref = weakref.ref(Once)
    del Once, program
    gc.collect()
    assert ref() is None, "the engine kept a workflow class alive after its last use"


def test_a_subclass_compiles_its_own_outline() -> None:
    class Parent(WorkChain):
        outline = ("s_a",)

        def s_a(self) -> None:
            return None

    class Child(Parent):
        outline = ("s_a", "s_b")

        def s_b(self) -> None:
            return None

    assert len(Parent.program()) != len(Child.program())
    assert Child.program() is Child.program()
