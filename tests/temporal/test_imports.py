"""temporalio stays inside its adapter, and the pure parts import without it (``ast``)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "harness" / "adapters" / "temporal"


def _roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("name", ["__init__.py", "observe.py", "server.py", "timeouts.py"])
def test_the_pure_parts_of_the_adapter_import_without_temporalio(name: str) -> None:
    assert "temporalio" not in _roots(PACKAGE / name)


def test_the_engine_name_temporal_is_registered_with_its_install_hint() -> None:
    from harness.adapters import BUILTIN, load_adapter
    from harness.errors import AdapterSpecError

    assert BUILTIN["temporal"] == "harness.adapters.temporal.adapter:make_adapter"
    with pytest.raises(AdapterSpecError, match="default-timeouts"):
        load_adapter("temporal", "no-such-tier")
