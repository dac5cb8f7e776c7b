"""Celery stays inside its adapter: checked on the source with ``ast`` (no Celery needed)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "harness" / "adapters" / "celery"
CELERY_ROOTS = {"celery", "kombu", "billiard", "amqp"}


def _roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("path", sorted(p for package in ("harness", "scenarios",
                                                          "reference_engine")
                                        for p in (ROOT / package).rglob("*.py")
                                        if PACKAGE not in p.parents), ids=str)
def test_nothing_outside_the_celery_adapter_imports_celery(path: Path) -> None:
    assert not _roots(path) & CELERY_ROOTS


@pytest.mark.parametrize("name", ["__init__.py", "interpreter.py", "observe.py"])
def test_the_pure_parts_of_the_adapter_import_without_celery(name: str) -> None:
    assert not _roots(PACKAGE / name) & CELERY_ROOTS
