"""Test setup: Qt offscreen (before any QApplication), a fresh data directory per test."""

from __future__ import annotations

import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

# Real PostgreSQL fixtures: postgres_url (session), pg_url / pg_engine (per test).
pytest_plugins = ["tests.postgres"]


@pytest.fixture(autouse=True)
def taizhang_home(tmp_path, monkeypatch):
    """Every test gets its own data directory; nothing touches the real user's data."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("TAIZHANG_HOME", str(home))
    return home


@pytest.fixture
def engine(taizhang_home):
    from storage.db import open_database

    eng = open_database(taizhang_home / "taizhang.sqlite3")
    yield eng
    eng.dispose()


@pytest.fixture
def repo(engine):
    from storage.repository import Repository

    return Repository(engine, actor="测试员", device_id="00000000-0000-4000-8000-000000000001")


@pytest.fixture
def village(repo):
    """A county → township → village tree in the repository; returns the village code."""
    from storage.repository import WriteOp

    repo.bulk_write([
        WriteOp("org_unit", "insert", {"org_code": "220102000000", "name": "测试县", "level": "县"}),
        WriteOp("org_unit", "insert", {"org_code": "220102001000", "name": "测试镇", "level": "乡镇/街道",
                                       "parent_code": "220102000000"}),
        WriteOp("org_unit", "insert", {"org_code": "220102001001", "name": "测试村", "level": "村/社区",
                                       "parent_code": "220102001000", "urban_rural": "农村社区"}),
    ])
    return "220102001001"


@pytest.fixture
def insecure_keyring(monkeypatch):
    """Only the null keyring: the app asks for the password at each sync and stores nothing
    (the insecure-keyring path).  tests/test_sync_keyring.py covers the real Secret Service."""
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    import keyring.core

    keyring.core._keyring_backend = None
    yield
    keyring.core._keyring_backend = None  # later tests choose their backend afresh


@pytest.fixture(scope="session")
def qapp(qapp):
    """pytest-qt's one application, under the desktop app's rule that Python's cycle collector runs
    on the UI thread only (``desktop/ui/ui_thread_gc.py``: a collection on a job's thread destroyed
    Qt objects there and crashed the event loop)."""
    from desktop.ui import ui_thread_gc

    ui_thread_gc.install(qapp)
    return qapp


@pytest.fixture(autouse=True)
def cycles_collected_after_each_test():
    """With the UI-thread collector installed, a test that runs no event loop gets no collection
    from its timer: collect what is due after each test, as the timer would have."""
    yield
    module = sys.modules.get("desktop.ui.ui_thread_gc")
    collector = module.installed() if module is not None else None
    if collector is not None:
        collector.collect_due()


@pytest.fixture
def app_look(qapp):
    """Theme changes are global to the one QApplication: put them back after the test.

    The app's own style (``theme.SortArrowStyle``, made in Python) is not swapped back: like the
    app, the suite keeps it for the process's life: replacing it would make Qt delete a Python-made
    style that widgets still alive were styled with."""
    import shiboken6

    font, palette, sheet, style = qapp.font(), qapp.palette(), qapp.styleSheet(), qapp.style().name()
    yield qapp
    qapp.setStyleSheet(sheet)
    qapp.setPalette(palette)
    qapp.setFont(font)
    ours = getattr(qapp, "sort_arrow_style", None)
    if ours is None or not shiboken6.isValid(ours):
        qapp.setStyle(style)
