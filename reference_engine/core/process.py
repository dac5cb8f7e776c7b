"""How users define processes: ``WorkChain`` subclasses and calculations.

A process type is identified by ``"module:qualname"`` so that worker OS processes can
import it; that string is also the type identity in the cache hash.
"""

from __future__ import annotations

import inspect
import os
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from reference_engine.core.outline import (
    Instruction,
    OutlineItem,
    compile_outline,
    condition_names,
    step_names,
)
from reference_engine.core.values import JsonValue


@dataclass(frozen=True)
class ExitCode:
    """Returned by a step to finish the workflow early with a (non-zero) exit status."""

    status: int
    message: str = ""


@dataclass(frozen=True)
class CalcResult:
    """Returned by a calculation body that finishes with a non-zero exit status."""

    outputs: dict[str, JsonValue] = field(default_factory=dict)
    exit_status: int = 0
    message: str = ""

    def __init__(self, outputs: dict[str, JsonValue] | None = None, exit_status: int = 0,
                 message: str = "") -> None:
        """The generated frozen ``__init__`` at half the cost (see ``Checkpoint``): the
        executor wraps every calculation's result in one."""
        self.__dict__.update(outputs={} if outputs is None else outputs,
                             exit_status=exit_status, message=message)


@dataclass(frozen=True)
class ChildRequest:
    """A child the current step launches and awaits; its view lands in ``ctx[key]``."""

    key: str
    type_string: str
    inputs: dict[str, JsonValue]
    label: str

    def __init__(self, key: str, type_string: str, inputs: dict[str, JsonValue],
                 label: str) -> None:
        """The generated frozen ``__init__`` at half the cost (see ``Checkpoint``)."""
        self.__dict__.update(key=key, type_string=type_string, inputs=inputs, label=label)


def type_string_of(obj: object) -> str:
    """``module:qualname`` of a WorkChain class or calculation, or a string as given."""
    if isinstance(obj, str):
        return obj
    if isinstance(obj, Calculation):
        return obj.type_string
    if isinstance(obj, type) and issubclass(obj, WorkChain):
        return f"{obj.__module__}:{obj.__qualname__}"
    raise TypeError(
        f"cannot launch {obj!r}: pass a WorkChain subclass, a @calculation or a "
        "'module:Name' string"
    )


class WorkChain:
    """Base class of workflows: declare ``inputs`` and ``outline``; steps are methods.

    A step may read ``self.inputs`` and ``self.ctx``, write ``self.ctx`` (JSON-like values),
    set outputs with ``self.out(name, value)``, launch children with ``self.launch(...)``
    (awaited before the next step, their views then in ``self.ctx[key]``) and return an
    ``ExitCode`` to finish early. Steps must be deterministic apart from their effects:
    a step interrupted by a kill runs again from the last checkpoint.
    """

    inputs_spec: ClassVar[tuple[str, ...]] = ()
    optional_inputs: ClassVar[tuple[str, ...]] = ()
    outline: ClassVar[tuple[OutlineItem, ...]] = ()
    _compiled_program: ClassVar[tuple[Instruction, ...]]  # set per class by ``program``

    def __init__(
        self,
        process_id: int,
        inputs: dict[str, JsonValue],
        ctx: dict[str, JsonValue],
        outputs: dict[str, JsonValue],
        attempt: int = 1,
    ) -> None:
        self.process_id = process_id
        self.inputs = inputs
        self.ctx = ctx
        self.outputs = outputs
        self.attempt = attempt
        self.step = ""
        self.requests: list[ChildRequest] = []

    @classmethod
    def program(cls) -> tuple[Instruction, ...]:
        """The compiled outline, checked once per class against the class's methods.

        Kept on the class itself (its own ``__dict__``, so a subclass compiles its own
        outline), not in a table keyed by class: such a table kept every class alive,
        and an application that makes classes at run time (the harness makes one per
        scenario definition) grew without bound."""
        cached = cls.__dict__.get("_compiled_program")
        if cached is None:
            cached = compile_outline(tuple(cls.outline))
            for name in step_names(cached) | condition_names(cached):
                if not callable(getattr(cls, name, None)):
                    raise ValueError(
                        f"{cls.__qualname__}.outline names {name!r}, which is not a method"
                    )
            cls._compiled_program = cached
        return cached

    @classmethod
    def declared_inputs(cls) -> tuple[tuple[str, ...], tuple[str, ...]]:
        return tuple(cls.inputs_spec), tuple(cls.optional_inputs)

    def launch(
        self, process: object, key: str, label: str | None = None, **inputs: JsonValue
    ) -> None:
        """Launch a child and await it; its view will be ``self.ctx[key]``."""
        type_string = type_string_of(process)
        self.requests.append(
            ChildRequest(key, type_string, dict(inputs), label or type_string.split(":")[-1])
        )

    def out(self, name: str, value: JsonValue) -> None:
        self.outputs[name] = value


class Calculation:
    """A leaf process: a deterministic body with an effect; cacheable by default.

    Subclasses implement ``run(inputs) -> dict | CalcResult``.
    """

    def __init__(
        self,
        type_string: str,
        inputs: tuple[str, ...] | None,
        version: int = 1,
        invalidating_exit_codes: Iterable[int] = (),
        cacheable: bool = True,
    ) -> None:
        self.type_string = type_string
        self.input_names = inputs
        self.version = version
        self.invalidating_exit_codes = frozenset(invalidating_exit_codes)
        self.cacheable = cacheable

    def declared_inputs(self) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
        return None if self.input_names is None else (self.input_names, ())

    def run(self, inputs: dict[str, JsonValue]) -> dict[str, JsonValue] | CalcResult:
        raise TypeError(f"{self.type_string} defines no body")  # overridden by subclasses


class FunctionCalculation(Calculation):
    """A calculation whose body is a Python function called with the inputs as kwargs."""

    def __init__(self, function: Callable[..., Any], **options: Any) -> None:
        params = inspect.signature(function).parameters.values()
        takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params)
        names = None if takes_any else tuple(p.name for p in params)
        super().__init__(f"{function.__module__}:{function.__qualname__}", names, **options)
        self.function = function
        self.__doc__ = function.__doc__

    def run(self, inputs: dict[str, JsonValue]) -> dict[str, JsonValue] | CalcResult:
        return self.function(**inputs)  # type: ignore[no-any-return]  # user body

    def __call__(self, **inputs: JsonValue) -> Any:
        return self.function(**inputs)


def calculation(
    function: Callable[..., Any] | None = None,
    *,
    version: int = 1,
    invalidating_exit_codes: Iterable[int] = (),
    cacheable: bool = True,
) -> Any:
    """Decorator: ``@calculation`` or ``@calculation(version=2)`` on a module-level function."""

    def wrap(fn: Callable[..., Any]) -> FunctionCalculation:
        return FunctionCalculation(
            fn,
            version=version,
            invalidating_exit_codes=invalidating_exit_codes,
            cacheable=cacheable,
        )

    return wrap(function) if function is not None else wrap


class ShellCalculation(Calculation):
    """An external command: ``argv`` items are formatted with the inputs (``"{x}"``).

    Inputs are also passed as ``WF_IN_<NAME>`` environment variables. The last line of
    stdout is parsed as an int, float, or kept as text, into output ``output``. A non-zero
    return code finishes the calculation as failed with that exit status.
    """

    def __init__(
        self,
        type_string: str,
        argv: list[str],
        inputs: tuple[str, ...],
        output: str = "result",
        **options: Any,
    ) -> None:
        super().__init__(type_string, inputs, **options)
        self.argv = list(argv)
        self.output = output

    def run(self, inputs: dict[str, JsonValue]) -> dict[str, JsonValue] | CalcResult:
        argv = [arg.format(**inputs) for arg in self.argv]
        env = dict(os.environ)
        env.update({f"WF_IN_{k.upper()}": str(v) for k, v in inputs.items()})
        done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
        lines = done.stdout.strip().splitlines()
        value = _parse_scalar(lines[-1]) if lines else ""
        if done.returncode != 0:
            return CalcResult({"stderr": done.stderr[-2000:]}, done.returncode, "command failed")
        return {self.output: value}


def _parse_scalar(text: str) -> JsonValue:
    for parse in (int, float):
        try:
            return parse(text)
        except ValueError:
            continue
    return text
