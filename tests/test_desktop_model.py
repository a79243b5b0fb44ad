"""The lazy record table model without a view (Vorta style), the page registry, and the PII-free log."""

from __future__ import annotations

import logging
import sys

import pytest
from PySide6.QtCore import Qt

from storage.collation import pinyin_key
from storage.validation import id_check_char


def _id(n: int) -> str:
    first17 = f"22010219800101{n:03d}"
    return first17 + id_check_char(first17)


@pytest.fixture
def staff_repo(repo, village):
    from storage.repository import WriteOp

    ops = [WriteOp("staff", "insert", {
        "org_code": village, "name": name, "id_number": _id(i), "phone": f"1380013{i:04d}",
        "roles": ["网格员"] if i % 2 else ["儿童主任", "人民调解员"], "status": "在岗" if i < 4 else "离岗",
        "left_on": "2024-05-01" if i >= 4 else None}) for i, name in enumerate(["王芳", "李强", "张敏", "刘洋", "陈杰"])]
    results = repo.bulk_write(ops)
    repo.create("training", {"org_code": village, "staff_id": results[0].record_id, "date": "2024-03-05",
                             "course": "网格化服务管理", "days": 1.5})
    return repo


def test_model_rows_columns_masking_and_tester(qtmodeltester, staff_repo, village):
    from desktop.ui.record_model import RecordTableModel

    model = RecordTableModel(staff_repo.engine, "staff", village)
    assert model.reload() == 5
    qtmodeltester.check(model, force_py=True)
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    assert headers == ["姓名", "性别", "公民身份号码", "手机号", "职务", "社会工作职业资格", "在岗状态"]
    rows = [model.display_row(r) for r in range(5)]
    id_col, phone_col, roles_col = (model.column_index(k) for k in ("id_number", "phone", "roles"))
    for r in rows:
        assert r[id_col].startswith("220102********") and len(r[id_col]) == 18
        assert r[phone_col].startswith("138****") and len(r[phone_col]) == 11
    assert "儿童主任、人民调解员" in [r[roles_col] for r in rows]
    # nothing in any role of any cell reveals a full number
    for row in range(5):
        for col in range(model.columnCount()):
            for role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
                value = model.data(model.index(row, col), role) or ""
                assert not any(_id(i) in value for i in range(5))


def test_model_sort_filter_search_deleted(staff_repo, village):
    from desktop.ui.record_model import RecordFilter, RecordTableModel

    model = RecordTableModel(staff_repo.engine, "staff", village)
    model.reload()
    name = model.column_index("name")
    model.sort(name, Qt.SortOrder.DescendingOrder)
    names = [model.display_row(r)[name] for r in range(model.rowCount())]
    assert names == sorted(names, key=pinyin_key, reverse=True)  # 张 王 刘 李 陈: pinyin, not code order

    assert model.set_filter(RecordFilter(search="0003")) == 1  # last digits of ID or phone
    assert model.display_row(0)[name] == "刘洋"
    assert model.set_filter(RecordFilter(search="李")) == 1
    assert model.set_filter(RecordFilter(search="50%")) == 0  # LIKE wildcards are literal
    assert model.set_filter(RecordFilter(equals={"status": "离岗"})) == 1
    assert model.set_filter(RecordFilter(equals={"roles": "人民调解员"})) == 3

    victim = staff_repo.list("staff", where={"name": "张敏"})[0]["id"]
    staff_repo.delete("staff", victim)
    assert model.set_filter(RecordFilter()) == 4
    assert model.set_filter(RecordFilter(deleted=True)) == 1
    assert model.record_id(0) == victim

    other = RecordTableModel(staff_repo.engine, "staff", "220102001002")  # another village sees nothing
    assert other.reload() == 0


def test_child_model_shows_parent_name_and_searches_it(staff_repo, village):
    from desktop.ui.record_model import RecordFilter, RecordTableModel

    model = RecordTableModel(staff_repo.engine, "training", village)
    assert model.reload() == 1
    assert model.headerData(0, Qt.Orientation.Horizontal) == "社区工作者"
    assert model.display_row(0)[0] == "王芳"
    assert model.headerData(model.column_index("days"), Qt.Orientation.Horizontal) == "天数（天）"
    assert model.display_row(0)[model.column_index("days")] == "1.5"
    assert model.set_filter(RecordFilter(search="王芳")) == 1
    assert model.set_filter(RecordFilter(search="赵")) == 0


def test_model_fetches_lazily_in_pages(repo, village):
    from desktop.ui.record_model import PAGE_SIZE, RecordTableModel
    from storage.repository import WriteOp

    repo.bulk_write([WriteOp("service", "insert", {
        "org_code": village, "date": f"2024-03-{1 + i % 28:02d}", "category": "养老", "mode": "上门",
        "target": "老年人", "persons": i % 50 + 1}) for i in range(3 * PAGE_SIZE + 7)])
    model = RecordTableModel(repo.engine, "service", village)
    assert model.reload() == 3 * PAGE_SIZE + 7
    assert model.cached_pages() == 0  # no row fetched before anyone looks
    model.data(model.index(3 * PAGE_SIZE + 6, 0))
    assert model.cached_pages() == 1
    dates = [model.display_row(r)[model.column_index("date")] for r in range(model.rowCount())]
    assert dates == sorted(dates, reverse=True)  # newest first by default


# --------------------------------------------------------------------------- page registry


def test_page_registry_resolves_every_page_and_shows_a_broken_one_as_an_error(qapp):
    from PySide6.QtWidgets import QLabel

    from desktop.ui import pages

    titles = [s.title for s in pages.PAGES if not s.optional]
    assert titles == ["设施", "人员", "志愿者", "服务记录", "社会组织", "困难老人", "月报与同步", "指标", "导入导出", "设置"]
    for spec in pages.PAGES + pages.SETTINGS_SECTIONS:
        assert callable(pages.resolve_factory(spec)), spec.key  # a plain import, no placeholder fallback

    def fails(ctx):
        raise RuntimeError("数据库打不开")

    broken = pages.PageSpec("y", "坏页", __name__, "page_that_fails")
    globals()["page_that_fails"] = fails
    try:
        page = pages.create_page(broken, None)
    finally:
        del globals()["page_that_fails"]
    assert page.objectName() == "error_y"
    assert any("“坏页”页面无法打开（RuntimeError）" in label.text() for label in page.findChildren(QLabel))


# --------------------------------------------------------------------------- logging


@pytest.fixture(autouse=True)
def _remove_log_handler():
    yield
    from desktop.logging_setup import teardown_logging

    teardown_logging()


def test_log_file_never_holds_id_numbers_or_phones(taizhang_home):
    from desktop.logging_setup import log_file_path, setup_logging

    path = setup_logging()
    assert path == log_file_path() and str(path).startswith(str(taizhang_home))
    log = logging.getLogger("taizhang.test")
    log.warning("保存失败：%s 电话 %s", "11010519491231002X", "13800138000")
    try:
        raise ValueError("身份证 220102198001011234 无效")
    except ValueError:
        log.exception("出错了 13912345678")
    for h in logging.getLogger().handlers:
        h.flush()
    text = path.read_text(encoding="utf-8")
    assert "110105********002X" in text and "138****8000" in text and "139****5678" in text
    assert "220102********1234" in text
    for secret in ("11010519491231002X", "13800138000", "220102198001011234", "13912345678"):
        assert secret not in text


def test_uncaught_exception_tells_the_user_what_to_do(taizhang_home, monkeypatch):
    import threading

    from desktop.logging_setup import install_excepthook, log_file_path, setup_logging

    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    setup_logging()
    shown = []
    install_excepthook(shown.append)
    try:
        raise RuntimeError("坏了 13800138000")
    except RuntimeError:
        sys.excepthook(*sys.exc_info())
    assert len(shown) == 1
    assert str(log_file_path()) in shown[0] and "不会丢失" in shown[0]
    for h in logging.getLogger().handlers:
        h.flush()
    text = log_file_path().read_text(encoding="utf-8")
    assert "uncaught exception" in text and "13800138000" not in text and "138****8000" in text


def test_cached_id_lists_are_dropped_when_data_changes(qtbot, repo, village, monkeypatch):
    from desktop.ui import record_model
    from desktop.ui.record_model import RecordFilter, RecordTableModel

    monkeypatch.setattr(record_model, "ID_CACHE_MIN_ROWS", 1)
    values = {"org_code": village, "date": "2024-03-05", "category": "养老", "mode": "上门", "target": "老年人",
              "persons": 1}
    repo.create("service", values)
    model = RecordTableModel(repo.engine, "service", village)
    assert model.reload() == 1
    assert model.set_filter(RecordFilter(search="没有")) == 0
    repo.create("service", values)
    handle = model.reload_in_background()  # what a list does after a save / sync
    qtbot.waitUntil(handle.is_done)
    assert model.rowCount() == 0  # still the search; now clear it: the cache must not answer
    assert model.set_filter(RecordFilter()) == 2
