"""Resolve process type strings (``"module:qualname"``) to workflow classes or calculations.

Workers are separate OS processes, so a type must be importable by name; a type defined
in ``__main__`` is refused at submit time with a message that says how to fix it.
"""

from __future__ import annotations

import importlib
from functools import lru_cache
from typing import Any

from reference_engine.core.process import Calculation, WorkChain
from reference_engine.errors import UnknownProcessTypeError


@lru_cache(maxsize=1024)
def resolve(type_string: str) -> type[WorkChain] | Calculation:
    module_name, sep, qualname = type_string.partition(":")
    if not sep or not module_name or not qualname:
        raise UnknownProcessTypeError(type_string, "it is not of the form 'module:Name'")
    if module_name == "__main__":
        raise UnknownProcessTypeError(
            type_string, "it is defined in __main__, which workers cannot import; move it "
            "into a module"
        )
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise UnknownProcessTypeError(type_string, f"module not importable ({exc})") from None
    except Exception as exc:  # any failure at import is the module's
        # A module may fail at import with anything (a KeyError for a missing environment
        # variable, a RuntimeError): in a worker this must except the process, not kill
        # the worker and loop (runtime/failures.py).
        raise UnknownProcessTypeError(
            type_string, f"module {module_name} raised {type(exc).__name__} at import "
            f"({str(exc)[:200]})") from None
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            raise UnknownProcessTypeError(type_string, f"{module_name} has no {qualname}")
    if isinstance(obj, Calculation) or (isinstance(obj, type) and issubclass(obj, WorkChain)):
        return obj
    raise UnknownProcessTypeError(
        type_string, f"{qualname} is a {type(obj).__name__}, not a WorkChain or calculation"
    )


def kind_of(type_string: str) -> str:
    return "calculation" if isinstance(resolve(type_string), Calculation) else "workflow"


def check_inputs(type_string: str, inputs: dict[str, Any]) -> list[str]:
    """Problems with ``inputs`` for this type (empty list when they fit)."""
    target = resolve(type_string)
    declared = target.declared_inputs()
    if declared is None:
        return []
    required, optional = declared
    problems = [f"missing input {name!r}" for name in required if name not in inputs]
    allowed = set(required) | set(optional)
    problems += [
        f"unexpected input {name!r} (declared: {', '.join(sorted(allowed)) or 'none'})"
        for name in inputs
        if name not in allowed
    ]
    return problems
