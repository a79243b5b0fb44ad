"""Masked by default; a full export is allowed by role, needs a purpose, and is recorded — and the
record reaches the county by sync, where ``taizhang-server admin disclosures`` lists it."""

from __future__ import annotations

import csv
import os
import subprocess
import sys

import pytest
from openpyxl import load_workbook

from storage import disclosure
from tests.serverproc import PASSWORD, VILLAGE, ServerProcess, SyncTestClient, setup_county
from tests.test_exchange_util import valid_id

ID, PHONE = valid_id(7), "13800137777"
CLI = [sys.executable, "-c", "import sys; from desktop.cli import main; sys.exit(main())"]


def _staff(repo, org=VILLAGE):
    return repo.create("staff", {"org_code": org, "name": "李四", "id_number": ID, "phone": PHONE,
                                 "roles": ["网格员"], "status": "在岗"})


def _cells(path) -> str:
    wb = load_workbook(path, read_only=True)
    text = "\n".join(str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row
                     if v is not None)
    wb.close()
    return text


@pytest.fixture
def ledger(repo, village):
    from storage import local

    local.set_identity(repo, village, "测试村")
    _staff(repo, village)
    return repo


def test_default_export_is_masked(ledger, tmp_path):
    from exchange.export import export_csv, export_workbook

    path, n = export_workbook(ledger, tmp_path / "a.xlsx", org_code=VILLAGE)
    text = _cells(path)
    assert n >= 1 and ID not in text and PHONE not in text
    assert ID[:6] + "********" + ID[-4:] in text and "138****7777" in text
    for p in export_csv(ledger, tmp_path / "csv", org_code=VILLAGE):
        body = p.read_text(encoding="utf-8-sig")
        assert ID not in body and PHONE not in body
    staff_csv = (tmp_path / "csv" / "社区工作者.csv").read_text(encoding="utf-8-sig")
    assert ID[:6] + "********" + ID[-4:] in staff_csv
    assert ledger.list("disclosure") == []  # a masked export discloses nothing, so records nothing


def test_full_export_refused_for_a_role_without_permission(ledger, tmp_path):
    from exchange.export import export_workbook

    disclosure.remember_sign_in(ledger, "village", ["county", "admin"])
    with pytest.raises(disclosure.DisclosureRefused, match="县民政局、管理员"):
        export_workbook(ledger, tmp_path / "full.xlsx", org_code=VILLAGE, full=True, purpose="核查")
    assert not (tmp_path / "full.xlsx").exists() and ledger.list("disclosure") == []
    disclosure.remember_sign_in(ledger, "county", ["county", "admin"])
    with pytest.raises(disclosure.DisclosureRefused, match="用途"):
        export_workbook(ledger, tmp_path / "full.xlsx", org_code=VILLAGE, full=True, purpose="  ")


def test_full_export_recorded_when_allowed(ledger, tmp_path):
    from exchange.export import export_csv, export_workbook

    ledger.actor = "王会计"
    path, _ = export_workbook(ledger, tmp_path / "full.xlsx", org_code=VILLAGE, full=True, purpose="报县年度核查")
    assert ID in _cells(path) and PHONE in _cells(path)
    export_csv(ledger, tmp_path / "csv", org_code=VILLAGE, full=True, purpose="社保比对")
    rows = disclosure.list_disclosures(ledger)
    assert sorted(r["action"] for r in rows) == sorted([disclosure.EXPORT_CSV, disclosure.EXPORT_XLSX])
    xlsx = next(r for r in rows if r["action"] == disclosure.EXPORT_XLSX)
    assert (xlsx["actor"], xlsx["purpose"], xlsx["file_name"], xlsx["row_count"], xlsx["org_code"]) == \
        ("王会计", "报县年度核查", "full.xlsx", 1, VILLAGE)
    assert "社区工作者" in xlsx["record_types"]
    assert ledger.unsent_count() >= 2  # the records travel with the next sync


def test_cli_export_masked_by_default_and_full_needs_purpose(ledger, tmp_path, taizhang_home):
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    run = lambda *a: subprocess.run([*CLI, *a], capture_output=True, text=True, env=env, timeout=120)  # noqa: E731
    masked = run("export", "-o", str(tmp_path / "m.xlsx"))
    assert masked.returncode == 0 and "已遮挡" in masked.stdout and ID not in _cells(tmp_path / "m.xlsx")
    refused = run("export", "-o", str(tmp_path / "f.xlsx"), "--full")
    assert refused.returncode == 1 and "用途" in refused.stderr and not (tmp_path / "f.xlsx").exists()
    full = run("export", "-o", str(tmp_path / "f.xlsx"), "--full", "--purpose", "报县年度核查")
    assert full.returncode == 0, full.stderr
    assert ID in _cells(tmp_path / "f.xlsx") and "已记录" in full.stdout


def test_disclosure_reaches_the_county_by_sync(tmp_path, insecure_keyring):
    from exchange.export import export_workbook

    server = ServerProcess(f"sqlite:///{tmp_path / 'county.sqlite3'}", home=tmp_path / "server")
    with server:
        setup_county(server)
        client = SyncTestClient(tmp_path / "clients", "pc", server.url, "cun")
        try:
            # The county narrows full exports to itself: the village PC learns it at sign-in and is refused.
            out = server.admin("full-export-roles", "county", "admin").stdout
            assert "县民政局、管理员" in out
            client.sync()
            _staff(client.repo)
            with pytest.raises(disclosure.DisclosureRefused):
                export_workbook(client.repo, tmp_path / "x.xlsx", org_code=VILLAGE, full=True, purpose="核查")
            server.admin("full-export-roles", "village", "county", "admin")
            client.client().login(PASSWORD)
            client.repo.actor = "张会计"
            export_workbook(client.repo, tmp_path / "x.xlsx", org_code=VILLAGE, full=True, purpose="报县年度核查")
            client.sync()
            listed = server.admin("disclosures").stdout
            assert "张会计" in listed and "报县年度核查" in listed and "x.xlsx" in listed and VILLAGE in listed
            assert "共 1 条" in listed
            assert "没有" in server.admin("disclosures", "--org", "220102002").stdout
        finally:
            client.close()


def test_a_masked_export_cannot_be_imported_back_and_says_why(ledger, tmp_path):
    from exchange.export import export_workbook
    from exchange.importer import import_workbook

    path, _ = export_workbook(ledger, tmp_path / "m.xlsx", org_code=VILLAGE)
    result = import_workbook(ledger, path, scope=VILLAGE)
    assert not result.ok and "遮挡后的号码" in result.text()


def test_allow_full_checks_first_and_records_only_a_finished_disclosure(ledger):
    disclosure.remember_sign_in(ledger, "village", ["county"])
    ran = []
    with pytest.raises(disclosure.DisclosureRefused, match="县民政局"):
        with disclosure.allow_full(ledger, "核查", action=disclosure.PRINT, record_types=["staff"]):
            ran.append(1)
    assert ran == [] and ledger.list("disclosure") == []  # refused before anything was written
    disclosure.remember_sign_in(ledger, "county", ["county"])
    with pytest.raises(OSError):
        with disclosure.allow_full(ledger, "核查", action=disclosure.PRINT, record_types=["staff"]):
            raise OSError("disk full")
    assert ledger.list("disclosure") == []  # nothing was disclosed
    with disclosure.allow_full(ledger, " 核查 ", action=disclosure.PRINT, record_types=["staff"], file_name="a.pdf",
                               org_code=VILLAGE) as full:
        full.rows = 3
    (row,) = ledger.list("disclosure")
    assert (row["action"], row["row_count"], row["purpose"], row["file_name"], row["id"]) == (
        disclosure.PRINT, 3, "核查", "a.pdf", full.record_id)


@pytest.mark.skipif(not __import__("shutil").which("pdftotext"), reason="poppler-utils")
def test_cli_full_printout_is_a_disclosure(ledger, tmp_path, taizhang_home):
    from tests.test_paper import pdftext

    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    run = lambda *a: subprocess.run([*CLI, "print", "staff", *a], capture_output=True, text=True, env=env,  # noqa: E731
                                    timeout=120)
    masked = run("-o", str(tmp_path / "m.pdf"))
    assert masked.returncode == 0, masked.stderr
    assert ID not in pdftext(tmp_path / "m.pdf") and ledger.list("disclosure") == []
    refused = run("-o", str(tmp_path / "f.pdf"), "--full")
    assert refused.returncode == 1 and "用途" in refused.stderr and not (tmp_path / "f.pdf").exists()
    disclosure.remember_sign_in(ledger, "village", ["county", "admin"])
    refused = run("-o", str(tmp_path / "f.pdf"), "--full", "--purpose", "核查")
    assert refused.returncode == 1 and "县民政局、管理员" in refused.stderr and not (tmp_path / "f.pdf").exists()
    disclosure.remember_sign_in(ledger, "village", list(disclosure.ROLES))
    full = run("-o", str(tmp_path / "f.pdf"), "--full", "--purpose", "报县年度核查")
    assert full.returncode == 0 and "已记录" in full.stdout, full.stderr
    assert ID in pdftext(tmp_path / "f.pdf") and PHONE in pdftext(tmp_path / "f.pdf")
    (row,) = ledger.list("disclosure")
    assert (row["action"], row["purpose"], row["file_name"], row["row_count"], row["org_code"]) == (
        disclosure.PRINT, "报县年度核查", "f.pdf", 1, VILLAGE)
    assert ID not in full.stdout + full.stderr
