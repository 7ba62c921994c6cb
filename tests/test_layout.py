"""The layout's rules (docs/ARCHITECTURE.md): which folder may import which, checked on the source.

Every import counts, also one inside a function: a lazy import is still a dependency."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"adaft_core": ROOT / "adaft_core", "adaft_dashboard": ROOT / "dashboard"}
# at a package's root: __init__.py and these entry points only (concerns live in folders)
ROOT_MODULES = {"adaft_core": {"__init__.py", "errors.py"}, "adaft_dashboard": {"__init__.py", "app.py"}}

EVERYTHING_ABOVE = ("adaft_core.run", "adaft_core.cli", "adaft_core.integrations", "adaft_core.studies",
                    "adaft_core.report", "adaft_dashboard")
# importer (a folder, or a package for all its folders) -> what it must never import
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "adaft_core": ("adaft_core.cli", "adaft_dashboard"),  # only the CLI may reach up to commands and pages
    "adaft_core.errors": ("adaft_core.",),
    "adaft_core.events": ("adaft_core.settings", "adaft_core.store", "adaft_core.sweep", *EVERYTHING_ABOVE),
    "adaft_core.settings": ("adaft_core.sweep", *EVERYTHING_ABOVE),
    "adaft_core.store": EVERYTHING_ABOVE,
    "adaft_core.modes": ("adaft_core.store", "adaft_core.settings", *EVERYTHING_ABOVE),
    "adaft_core.strategies": ("adaft_core.store", *EVERYTHING_ABOVE),
    "adaft_core.tasks": EVERYTHING_ABOVE,
    "adaft_core.data": ("adaft_core.tasks", *EVERYTHING_ABOVE),  # tasks build on data, not the reverse
    "adaft_core.run": ("adaft_core.integrations", "adaft_core.studies", "adaft_core.sweep"),
    # the page never trains in its own process through private modules: only adaft_core.train
    "adaft_dashboard": ("adaft_core.run", "adaft_core.cli", "adaft_core.integrations", "adaft_core.studies"),
    "adaft_dashboard.live": ("adaft_dashboard.views", "adaft_dashboard.launch", "adaft_dashboard.server",
                             "adaft_dashboard.teaching", "adaft_dashboard.app"),
    "adaft_dashboard.views": ("adaft_dashboard.launch", "adaft_dashboard.server", "adaft_dashboard.teaching",
                              "adaft_dashboard.app"),
}


def _modules():
    for package, folder in FOLDERS.items():
        for path in sorted(folder.rglob("*.py")):
            parts = path.relative_to(folder).with_suffix("").parts
            yield ".".join((package, *parts)).removesuffix(".__init__"), path


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix if prefix.endswith(".") else prefix + ".")


def test_no_relative_imports_so_every_dependency_is_spelled_out():
    relative = [f"{name}:{node.lineno}" for name, path in _modules()
                for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                if isinstance(node, ast.ImportFrom) and node.level]
    assert relative == []


@pytest.mark.parametrize("importer", sorted(FORBIDDEN))
def test_imports_run_in_the_allowed_directions(importer):
    wrong = []
    for name, path in _modules():
        if not _within(name, importer):
            continue
        for target in _imports(path):
            for banned in FORBIDDEN[importer]:
                if _within(target, banned) and not _within(target, importer) and not (
                        importer == "adaft_core" and _within(name, "adaft_core.cli")):
                    wrong.append(f"{name} imports {target}")
    assert wrong == [], "see docs/ARCHITECTURE.md for the allowed directions"


def test_package_roots_hold_only_entry_points():
    for package, folder in FOLDERS.items():
        modules = {p.name for p in folder.glob("*.py")}
        assert modules <= ROOT_MODULES[package], f"{package}: move {sorted(modules - ROOT_MODULES[package])} into a folder"


def test_every_folder_says_what_it_holds_and_may_import():
    for package, folder in FOLDERS.items():
        for init in folder.rglob("__init__.py"):
            doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
            if init.parent == folder:
                continue
            assert doc, f"{init} has no docstring"
            assert "May import" in doc, f"{init}: its docstring does not say what the folder may import"
