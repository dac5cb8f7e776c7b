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


FOREIGN_ENGINES: dict[str, set[str]] = {
    "aiida": {"aiida", "plumpy", "kiwipy", "disk_objectstore"},
    "prefect": {"prefect"},
    "celery": {"celery", "kombu", "billiard"},
    "dbos": {"dbos"},
    "temporal": {"temporalio"},
}
"""Each foreign engine's subpackage (`harness/adapters/<engine>/`) and the import roots of
its optional dependency, which only that subpackage may import."""

REFERENCE_ADAPTER_MODULES = ("reference", "broken_reference")
ALIASES = {"aiida_support"}  # old dotted paths kept working (harness/adapters/aiida_support.py)


def engine_of(path: Path) -> str | None:
    """The foreign engine whose subpackage holds ``path``, if any."""
    parts = path.relative_to(ROOT).parts
    if parts[:2] == ("harness", "adapters") and len(parts) > 3:
        return parts[2]
    return None


@pytest.mark.parametrize("path", modules("harness") + modules("scenarios")
                         + modules("reference_engine"), ids=str)
def test_a_foreign_engine_is_imported_only_in_its_own_adapter_subpackage(path: Path) -> None:
    imported = imported_roots(path)
    for engine, roots in FOREIGN_ENGINES.items():
        if imported & roots:
            assert engine_of(path) == engine, (
                f"{path} imports {sorted(imported & roots)}: only harness/adapters/{engine}/ "
                "may import that engine")


def test_adapters_are_the_reference_modules_and_one_subpackage_per_foreign_engine() -> None:
    adapters = ROOT / "harness" / "adapters"
    for entry in adapters.iterdir():
        if entry.name.startswith((".", "__pycache__")) or entry.name == "__init__.py":
            continue
        if entry.is_dir():
            assert (entry / "__init__.py").is_file(), f"{entry} is not a package"
            assert entry.name in FOREIGN_ENGINES, (
                f"{entry.name}/ is not a known engine; add it to FOREIGN_ENGINES with the "
                "import roots of its optional dependency")
        else:
            assert entry.suffix == ".py", entry
            assert entry.stem.startswith(REFERENCE_ADAPTER_MODULES) or entry.stem in ALIASES, (
                f"{entry.name}: a foreign engine's adapter belongs in harness/adapters/<engine>/")
