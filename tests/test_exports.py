"""Each package's public API is declared in ``__all__`` and importable."""

from __future__ import annotations

import importlib

import pytest


@pytest.mark.parametrize("package", ["reference_engine", "scenarios"])
def test_every_exported_name_exists_and_nothing_private_is_exported(package: str) -> None:
    module = importlib.import_module(package)
    assert len(set(module.__all__)) == len(module.__all__), "duplicate export"
    for name in module.__all__:
        assert hasattr(module, name), f"{package}.{name} is exported but missing"
        assert not name.startswith("_")


def test_reference_engine_exports_are_the_documented_surface() -> None:
    import reference_engine

    assert {"Engine", "WorkChain", "calculation", "if_", "while_", "CachingConfig",
            "CRASHPOINTS", "current_execution", "EngineError"} <= set(reference_engine.__all__)
