"""What a record type declares is all the program needs: a throwaway type declared in a test
(tests/throwaway_schema.py) gets its form, its Excel sheet, import, sync and its place in the write
order with no other edit.  And the write order is derived, never kept by hand."""

from __future__ import annotations

import datetime as dt

import pytest

from storage.schema import RECORD_TYPES, RecordType, children_of, workbook_types, write_order
from tests import throwaway_schema
from tests.serverproc import PASSWORD, VILLAGE, ServerProcess, setup_county


def test_write_order_puts_every_type_after_what_it_refers_to():
    order = write_order()
    assert sorted(order) == sorted(RECORD_TYPES)
    for rt in RECORD_TYPES.values():
        for dep in rt.depends_on:
            assert order.index(dep) < order.index(rt.name), (rt.name, dep)
    dated = [name for name, rt in RECORD_TYPES.items() if rt.date_field and not rt.month_workflow]
    assert order[0] == "org_unit"  # the registry first, the month lock after every type it locks
    assert all(order.index(name) < order.index("period") for name in dated)
    assert order.index("staff") < order.index("training") and order.index("volunteer") < order.index("volunteer_hours")


def test_types_declare_what_pages_imports_and_checklists_need():
    assert set(workbook_types()) == set(RECORD_TYPES) - {"org_unit", "period", "disclosure"}
    assert RECORD_TYPES["org_unit"].county_maintained and RECORD_TYPES["period"].month_workflow
    assert [rt.name for rt in RECORD_TYPES.values() if rt.required_in_month] == ["service"]
    assert {rt.name for rt in RECORD_TYPES.values() if rt.required_standing} == {"facility", "staff"}
    assert [c.name for c in children_of("staff")] == ["training"] == [c.name for c in RECORD_TYPES["staff"].children]
    assert RECORD_TYPES["volunteer"].natural_keys == (("org_code", "id_number"), ("org_code", "name"))
    assert "后几位" in RECORD_TYPES["staff"].search_hint and RECORD_TYPES["service"].list_filters


def test_a_declaration_naming_an_unknown_field_is_refused():
    with pytest.raises(ValueError, match="unknown fields"):
        RecordType(name="x", label="x", fields=(), list_columns=("nope",))


def test_a_circle_of_references_is_refused(monkeypatch):
    from storage.schema import Field

    a = RecordType(name="loop_a", label="甲", fields=(Field("b_id", "乙", "ref", ref="loop_b"),), list_columns=())
    b = RecordType(name="loop_b", label="乙", fields=(Field("a_id", "甲", "ref", ref="loop_a"),), list_columns=())
    monkeypatch.setitem(RECORD_TYPES, "loop_a", a)
    monkeypatch.setitem(RECORD_TYPES, "loop_b", b)
    with pytest.raises(ValueError, match="circle"):
        write_order()


@pytest.fixture
def throwaway(tmp_path, monkeypatch):
    """The throwaway type in this process and in any server process started by the test."""
    rt = throwaway_schema.install()
    site = throwaway_schema.sitecustomize_dir(tmp_path / "site")
    monkeypatch.setenv("PYTHONPATH", str(site))
    yield rt
    throwaway_schema.uninstall()


def test_a_new_record_type_works_everywhere_with_one_declaration(qtbot, tmp_path, throwaway, insecure_keyring):
    from openpyxl import load_workbook
    from PySide6.QtWidgets import QDialog

    from desktop.forms import RecordForm
    from exchange.export import export_workbook, write_template
    from exchange.importer import import_workbook
    from exchange.layout import columns_for, sheet_types
    from storage import local
    from storage.db import make_engine, open_database
    from storage.models import table_for
    from storage.repository import Repository
    from sync.client import SyncClient
    from tests.test_exchange_util import fill_template

    name = throwaway.name
    # the write order: after the team it refers to, before the month record that locks it
    order = write_order()
    assert order.index("volunteer_team") < order.index(name) < order.index("period")

    engine = open_database(tmp_path / "village.sqlite3")  # a new database has the type's table
    repo = Repository(engine, actor="测试员")
    repo.device_id = local.device_id(repo)
    local.set_identity(repo, VILLAGE, "幸福村")
    team = repo.create("volunteer_team", {"org_code": VILLAGE, "name": "绿化志愿队"})

    # the form: its widgets and validation come from the declaration
    form = RecordForm(repo, name, VILLAGE, None, autosave_ms=60_000)
    form.show()
    qtbot.waitExposed(form)
    assert {"date", "site", "trees"} <= set(form.widgets)
    form.field_widget("date").set_raw(dt.date(2026, 3, 12))
    form.field_widget("site").set_raw("村口广场")
    form.field_widget("trees").set_raw("-3")
    assert form.save() is None  # 株数 has a minimum
    form.field_widget("trees").set_raw("120")
    saved = form.save()
    assert saved is not None and form.result() == QDialog.DialogCode.Accepted
    form.deleteLater()

    # Excel: a sheet with the declared columns, a reference by the team's name, import of a filled row
    assert throwaway in sheet_types()
    headers = [c.header for c in columns_for(throwaway)]
    assert "地点*" in headers and "株数(株)*" in headers and "组织的志愿服务队" in headers
    template = write_template(repo, tmp_path / "模板.xlsx", org_code=VILLAGE)
    filled = fill_template(template, tmp_path / "填好.xlsx", {throwaway.label: [
        {"日期": "2026-04-01", "地点": "小学操场", "株数": 30, "组织的志愿服务队": "绿化志愿队"}]})
    result = import_workbook(repo, filled)
    assert result.status == "imported", result.text()
    assert result.counts[name].create == 1
    planted = {r["site"]: r for r in repo.list(name)}
    assert planted["小学操场"]["team_id"] == team["id"] and planted["村口广场"]["trees"] == 120
    again = import_workbook(repo, filled)  # matched by its natural key: nothing new
    assert again.total("create") == 0 and len(repo.list(name)) == 2
    path, _n = export_workbook(repo, tmp_path / "导出.xlsx", org_code=VILLAGE)
    ws = load_workbook(path)[throwaway.label]
    site = next(c.column for c in ws[3] if str(c.value or "").startswith("地点"))  # after 序号 and 日期
    assert {ws.cell(row=r, column=site).value for r in (4, 5)} == {"村口广场", "小学操场"}

    # sync: pushed to a real server process that knows the type only from the declaration
    server = ServerProcess(f"sqlite:///{tmp_path / 'county.sqlite3'}", home=tmp_path / "server")
    server.start()
    try:
        setup_county(server)
        client = SyncClient(repo, server.url, "cun", retries=2, backoff=0.05, timeout=30)
        report = client.sync(password=PASSWORD)
        client.transport.close()
        assert report.rejected == 0 and repo.unsent_count() == 0, report.messages
        county = make_engine(server.db_url)
        try:
            t = table_for(name)
            with county.connect() as conn:
                rows = {r.site: r for r in conn.execute(t.select())}
        finally:
            county.dispose()
        assert set(rows) == {"村口广场", "小学操场"} and rows["小学操场"].team_id == team["id"]
    finally:
        server.stop()
        engine.dispose()
