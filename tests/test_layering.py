"""The dependency rules of DESIGN.md §2, checked on the source with ``ast``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("path", modules("reference_engine"), ids=str)
def test_reference_engine_never_imports_scenarios_harness_or_pytest(path: Path) -> None:
    assert not imported_roots(path) & {"scenarios", "harness", "pytest", "tests"}


@pytest.mark.parametrize("path", modules("reference_engine/core"), ids=str)
def test_the_pure_core_imports_no_io_library(path: Path) -> None:
    assert not imported_roots(path) & {"sqlalchemy", "pika", "psycopg", "socket", "sqlite3"}


@pytest.mark.parametrize("path", modules("scenarios"), ids=str)
def test_scenarios_import_neither_engine_nor_harness(path: Path) -> None:
    assert not imported_roots(path) & {"reference_engine", "harness", "pytest", "tests"}


@pytest.mark.parametrize("path", modules("harness"), ids=str)
def test_harness_reaches_the_engine_only_through_adapters(path: Path) -> None:
    if "adapters" in path.parts:
        return
    assert "reference_engine" not in imported_roots(path)
