"""Nothing outside desktop/ imports Qt; the server imports nothing from desktop/; desktop/ builds no SQL."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

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


# SQL in a string: a statement's keywords in the order SQL puts them (upper case, as SQL is written here).
_SQL_TEXT = re.compile(r"\bSELECT\b[\s\S]*\bFROM\b|\bINSERT\s+INTO\b|\bUPDATE\s+\S+\s+SET\b|\bDELETE\s+FROM\b"
                       r"|\bORDER\s+BY\b|\bCREATE\s+(TABLE|INDEX)\b|\bPRAGMA\b")
# Calls that run SQL or open a connection; sqlalchemy names that build statements.
_SQL_CALLS = {"execute", "exec_driver_sql", "executemany", "scalar", "scalars", "cursor"}
_SQLALCHEMY_BUILDERS = {"select", "text", "insert", "update", "delete", "func", "and_", "or_", "table", "column"}
_ENGINE_NAMES = {"engine", "conn", "connection"}


def _sql_in_source(source: str, name: str = "<source>") -> list[str]:
    """Where a module builds or runs SQL itself (line: what), rather than calling the core's read API."""
    found = []
    tree = ast.parse(source, filename=name)
    docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                  if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    for node in ast.walk(tree):
        if id(node) in docstrings:
            continue  # documentation may name SQL it does not run
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and _SQL_TEXT.search(node.value):
            found.append(f"{node.lineno}: SQL text {node.value.strip()[:40]!r}")
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "sqlalchemy":
            builders = sorted(a.name for a in node.names if a.name in _SQLALCHEMY_BUILDERS)
            if builders or node.module in ("sqlalchemy.sql", "sqlalchemy.orm"):
                found.append(f"{node.lineno}: imports {', '.join(builders) or node.module} from {node.module}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            receiver = node.func.value
            receiver_name = (receiver.id if isinstance(receiver, ast.Name)
                             else receiver.attr if isinstance(receiver, ast.Attribute) else "")
            if node.func.attr in _SQL_CALLS and receiver_name in _ENGINE_NAMES | {"session", "cur"}:
                found.append(f"{node.lineno}: {receiver_name}.{node.func.attr}()")
            elif node.func.attr in ("connect", "begin", "raw_connection") and receiver_name == "engine":
                found.append(f"{node.lineno}: engine.{node.func.attr}()")
    return found


def test_desktop_builds_no_sql():
    """Pages, models and forms read through the core's Qt-free read API (storage.reading,
    storage.form_reading, reports) in read jobs: no SQL text, no statement builders, no connections."""
    offenders = []
    checked = 0
    for path in (ROOT / "desktop").rglob("*.py"):
        checked += 1
        offenders += [f"{path.relative_to(ROOT)}:{hit}"
                      for hit in _sql_in_source(path.read_text(encoding="utf-8"), str(path))]
    assert checked > 20
    assert offenders == []


@pytest.mark.parametrize("planted", [
    'rows = conn.exec_driver_sql("SELECT id FROM staff WHERE org_code = ?", (org,))',
    'order = f"ORDER BY {column} DESC"',
    "from sqlalchemy import func, select",
    "with engine.connect() as c:\n    pass",
    "session.execute(stmt)",
    "self.ctx.repo.engine.begin()",
])
def test_sql_check_finds_planted_sql(planted):
    assert _sql_in_source(planted) != []


def test_sql_check_leaves_plain_code_alone():
    plain = ('from sqlalchemy.exc import OperationalError\n'
             'button.clicked.connect(self.save)\n'
             'label.setText("请先选择要删除的记录，再按“删除”")\n'
             'rows = reading.units_in_scope(ctx.repo.engine, scope)\n'
             'def where():\n    """The ORDER BY clause the core\'s reader states."""\n')
    assert _sql_in_source(plain) == []
