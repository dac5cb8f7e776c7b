"""Workflow outlines (steps, ``if_``, ``while_``) compiled to a flat program.

Why a flat program: the checkpoint then only needs one integer (the program counter) to
say where a process is, which is trivially serialisable and checkable on load.
Instructions: ``("step", name)``, ``("jump_if_not", condition, target)``,
``("jump", target)``, ``("end",)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

Instruction = tuple  # ("step", str) | ("jump_if_not", str, int) | ("jump", int) | ("end",)


@dataclass(frozen=True)
class If:
    """``if_("cond")("a", "b").else_("c")``: branches chosen by a condition method."""

    condition: str
    then: tuple[OutlineItem, ...] = ()
    otherwise: tuple[OutlineItem, ...] = ()

    def __call__(self, *steps: OutlineItem) -> If:
        return If(self.condition, tuple(steps), self.otherwise)

    def else_(self, *steps: OutlineItem) -> If:
        return If(self.condition, self.then, tuple(steps))


@dataclass(frozen=True)
class While:
    """``while_("cond")("a", "b")``: repeat the body while the condition method is true."""

    condition: str
    body: tuple[OutlineItem, ...] = ()

    def __call__(self, *steps: OutlineItem) -> While:
        return While(self.condition, tuple(steps))


OutlineItem = Union[str, If, While]  # noqa: UP007  # runtime alias used by isinstance users


def if_(condition: str) -> If:
    return If(condition)


def while_(condition: str) -> While:
    return While(condition)


def compile_outline(outline: tuple[OutlineItem, ...]) -> tuple[Instruction, ...]:
    """Flatten an outline; raise ValueError naming the bad item."""
    program: list[Instruction] = []
    _emit(outline, program)
    program.append(("end",))
    return tuple(program)


def _emit(items: tuple[OutlineItem, ...], program: list[Instruction]) -> None:
    for item in items:
        if isinstance(item, str):
            program.append(("step", item))
        elif isinstance(item, If):
            branch_at = len(program)
            program.append(("jump_if_not", item.condition, -1))
            _emit(item.then, program)
            if item.otherwise:
                skip_at = len(program)
                program.append(("jump", -1))
                program[branch_at] = ("jump_if_not", item.condition, len(program))
                _emit(item.otherwise, program)
                program[skip_at] = ("jump", len(program))
            else:
                program[branch_at] = ("jump_if_not", item.condition, len(program))
        elif isinstance(item, While):
            top = len(program)
            program.append(("jump_if_not", item.condition, -1))
            _emit(item.body, program)
            program.append(("jump", top))
            program[top] = ("jump_if_not", item.condition, len(program))
        else:
            raise ValueError(
                f"outline item {item!r} is not a step name (str), if_(...) or while_(...)"
            )


def step_names(program: tuple[Instruction, ...]) -> set[str]:
    return {ins[1] for ins in program if ins[0] == "step"}


def condition_names(program: tuple[Instruction, ...]) -> set[str]:
    return {ins[1] for ins in program if ins[0] == "jump_if_not"}
