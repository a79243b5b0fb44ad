"""Nothing outside desktop/ imports Qt; the server imports nothing from desktop/."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORE_PACKAGES = ["storage", "sync", "exchange", "reports", "county_server"]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_core_never_imports_qt_or_desktop():
    offenders = []
    checked = 0
    for package in CORE_PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            checked += 1
            for name in _imports(path):
                top = name.split(".")[0]
                if top in ("PySide6", "PyQt5", "PyQt6", "shiboken6", "desktop"):
                    offenders.append(f"{path.relative_to(ROOT)} imports {name}")
    assert checked > 10
    assert offenders == []


def test_layering_check_detects_a_qt_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from PySide6.QtWidgets import QWidget\n", encoding="utf-8")
    assert "PySide6.QtWidgets" in _imports(bad)


def test_savepoints_go_through_nested_transaction():
    """On SQLite a bare ``begin_nested()`` before the first write opens the transaction itself, and
    its release commits everything (storage.db.nested_transaction): no code may call it directly."""
    offenders = []
    for package in [*CORE_PACKAGES, "desktop"]:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
                if isinstance(node, ast.Attribute) and node.attr == "begin_nested":
                    offenders.append(str(path.relative_to(ROOT)))
    assert offenders == ["storage/db.py"]  # nested_transaction itself, and nothing else
