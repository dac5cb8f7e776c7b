"""Adapters: the only place the harness touches an engine; loaded lazily by name.

``load_adapter(spec, tier)`` returns a *factory*: calling it makes a fresh, unopened
adapter (the runner wants one per scenario). ``spec`` is ``"reference"``, ``"aiida"``
(imported only when asked, so the harness never needs aiida-core) or
``"package.module:Name"`` for a third-party adapter, where ``Name`` is a class or a
callable taking ``tier=`` and returning an ``EngineAdapter``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from harness.adapter import EngineAdapter
from harness.errors import AdapterSpecError

__all__ = ["BUILTIN", "load_adapter"]

BUILTIN = {
    "reference": "harness.adapters.reference:make_adapter",
    "aiida": "harness.adapters.aiida:make_adapter",
    "prefect": "harness.adapters.prefect:make_adapter",
    "celery": "harness.adapters.celery.adapter:make_adapter",
    "dbos": "harness.adapters.dbos.adapter:make_adapter",
    "temporal": "harness.adapters.temporal.adapter:make_adapter",
}
_FIX = ("use --engine reference, --engine aiida, --engine prefect, --engine celery, "
        "--engine dbos, --engine temporal or --engine package.module:AdapterClass")


def _import(spec: str, target: str) -> Any:
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        extra = (f" (install with pip install -e '.[{spec}]')"
                 if spec in ("aiida", "prefect", "celery", "dbos", "temporal") else "")
        raise AdapterSpecError(spec, f"module {module_name!r} cannot be imported ({error})"
                               f"{extra}", _FIX) from None
    obj = getattr(module, attr, None)
    if obj is None or not callable(obj):
        raise AdapterSpecError(spec, f"{module_name} has no callable {attr!r}", _FIX)
    return obj


def load_adapter(spec: str, tier: str | None = None) -> Callable[[], EngineAdapter]:
    """A factory of adapters for ``spec`` on ``tier``; ``AdapterSpecError`` names the fix.

    ``tier=None`` takes the adapter's own default (``embedded`` for the reference
    engine). The factory is called once here, so a bad tier or a non-adapter fails now
    with one clear message rather than mid-run.
    """
    if spec in BUILTIN:
        target = BUILTIN[spec]
    elif ":" in spec and all(part.strip() for part in spec.partition(":")[::2]):
        target = spec
    else:
        known = ", ".join(sorted(BUILTIN))
        raise AdapterSpecError(spec, f"not a known engine ({known}) nor 'package.module:Name'",
                               _FIX)
    maker = _import(spec, target)

    def factory() -> EngineAdapter:
        try:
            adapter = maker() if tier is None else maker(tier=tier)
        except TypeError as error:
            raise AdapterSpecError(spec, f"{target} cannot be called with tier={tier!r} "
                                   f"({error})", "make it accept a tier keyword") from None
        return adapter  # type: ignore[no-any-return]  # checked below, once

    probe = factory()
    missing = [name for name in ("capabilities", "open", "close", "launch", "observe")
               if not callable(getattr(probe, name, None))]
    if missing or not isinstance(getattr(probe, "name", None), str):
        raise AdapterSpecError(spec, f"{target} did not return an EngineAdapter (missing: "
                               f"{', '.join(missing) or 'name'})",
                               "implement harness.adapter.EngineAdapter")
    _probe_capabilities(spec, target, probe)
    return factory


def _probe_capabilities(spec: str, target: str, probe: EngineAdapter) -> None:
    """Every command reads the declaration first: one that raises is told here, in one
    line, rather than as a traceback (or, worse, as a run that checked nothing)."""
    from scenarios.capabilities import Capabilities

    try:
        caps = probe.capabilities()
    except Exception as error:
        raise AdapterSpecError(spec, f"{target}.capabilities() raised {type(error).__name__}: "
                               f"{error}", "fix the adapter's capabilities(); it must return "
                               "a scenarios.Capabilities") from None
    if not isinstance(caps, Capabilities):
        raise AdapterSpecError(spec, f"{target}.capabilities() returned "
                               f"{type(caps).__name__}, not a scenarios.Capabilities",
                               "return a scenarios.Capabilities") from None
