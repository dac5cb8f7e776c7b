"""Old home of the AiiDA adapter's modules, now `harness.adapters.aiida` (an alias).

`harness.adapters.aiida_support.<module>` is `harness.adapters.aiida.<module>`: the same
module object, not a second copy (a second copy would define AiiDA process classes
twice, under two names), also for `python -m harness.adapters.aiida_support.probes`.
Kept so dotted paths written before the move keep working; new code uses the new path.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
from importlib.machinery import ModuleSpec
from types import CodeType, ModuleType

import harness.adapters.aiida  # noqa: F401 - sets AIIDA_PATH, as this package did

__all__: list[str] = []
__path__: list[str] = []  # a package, so that its submodules can be imported

_OLD = __name__
_NEW = "harness.adapters.aiida"


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.InspectLoader):
    """Finds `<old>.<module>` and answers it with the already imported `<new>.<module>`."""

    def __init__(self) -> None:
        self._specs: dict[str, ModuleSpec | None] = {}

    def find_spec(self, fullname: str, path: object = None,
                  target: object = None) -> ModuleSpec | None:
        if not fullname.startswith(_OLD + "."):
            return None
        new = _NEW + fullname[len(_OLD):]
        if importlib.util.find_spec(new) is None:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec: ModuleSpec) -> ModuleType:
        module = importlib.import_module(_NEW + spec.name[len(_OLD):])
        self._specs[spec.name] = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        # the import system has just set `module.__spec__` to the alias's spec: put the
        # module's own back, so it keeps its real name everywhere (pickling, AiiDA).
        original = self._specs.pop(module.__spec__.name if module.__spec__ else "", None)
        if original is not None:
            module.__spec__ = original

    def get_code(self, fullname: str) -> CodeType | None:  # for `python -m`
        spec = importlib.util.find_spec(_NEW + fullname[len(_OLD):])
        loader = getattr(spec, "loader", None)
        return loader.get_code(spec.name) if isinstance(loader, importlib.abc.InspectLoader) \
            else None

    def get_source(self, fullname: str) -> str | None:
        return None

    def is_package(self, fullname: str) -> bool:
        return False


if not any(isinstance(finder, _Alias) for finder in sys.meta_path):
    sys.meta_path.insert(0, _Alias())
