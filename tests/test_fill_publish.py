"""A template the county publishes (``taizhang-server fill publish``, the real command) reaches a
village at its next sync with a real server process; the village fills it from its own ledger
(``taizhang fill`` in its own process) and sees it due this month; withdrawn, it disappears."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest
from openpyxl import load_workbook

from reports.fill.library import BUILTIN_DIR, PUBLISHED, all_templates
from reports.fill.template import MAPPING_SHEET
from tests.serverproc import SERVER_CMD, VILLAGE, ServerProcess, server_env, setup_county
from tests.test_packages_server import server  # noqa: F401 - the county of the package tests (a fixture)

pytestmark = pytest.mark.usefixtures("insecure_keyring")
CLI = [sys.executable, "-c", "import sys; from desktop.cli import main; sys.exit(main())"]


@pytest.fixture
def county(tmp_path):
    server = ServerProcess(f"sqlite:///{tmp_path / 'county.sqlite3'}", home=tmp_path / "server")
    server.start()
    setup_county(server)
    yield server
    server.stop()


def server_cli(server, *args, check=True):
    return subprocess.run([*SERVER_CMD, "--db", server.db_url, *args], capture_output=True, text=True,
                          env=server_env(server.home), timeout=120, check=check)


def county_template(tmp_path):
    """The example 志愿服务 report under the county's own name."""
    wb = load_workbook(BUILTIN_DIR / "志愿服务情况统计表.xlsx")
    ws = wb[MAPPING_SHEET]
    assert ws["A1"].value == "报表名称"
    ws["B1"] = "南关区志愿服务月报"
    path = tmp_path / "南关区志愿服务月报.xlsx"
    wb.save(path)
    return path


def test_published_template_reaches_a_village_by_sync(county, tmp_path):
    from tests.serverproc import SyncTestClient

    village = SyncTestClient(tmp_path / "clients", "cun", county.url, "cun")
    try:
        village.sync()
        assert "南关区志愿服务月报" not in {e.name for e in all_templates(village.engine)}

        done = server_cli(county, "fill", "publish", str(county_template(tmp_path)))
        assert "已发布《南关区志愿服务月报》（月报）" in done.stdout
        bad = tmp_path / "bad.xlsx"
        bad.write_bytes(b"not a workbook")
        refused = server_cli(county, "fill", "publish", str(bad), check=False)
        assert refused.returncode != 0 and "不是可读取的 Excel 工作簿" in refused.stderr

        village.sync()
        entry = next(e for e in all_templates(village.engine) if e.name == "南关区志愿服务月报")
        assert entry.origin == PUBLISHED and entry.template.period_kind == "month"

        # the village fills it from its ledger, in its own process, and sees it due this month
        village.repo.create("volunteer_team", {"org_code": VILLAGE, "name": "幸福村党员志愿服务队",
                                               "party_backbone": True})
        listed = subprocess.run([*CLI, "fill", "--list"], capture_output=True, text=True, env=village.env(),
                                timeout=120, check=True)
        today = dt.date.today()
        assert f"南关区志愿服务月报\t月报\t{PUBLISHED}\t本月应报：{today.year}年{today.month}月" in listed.stdout
        out = tmp_path / "out.xlsx"
        filled = subprocess.run([*CLI, "fill", "南关区志愿服务月报", "--period", f"{today:%Y-%m}", "-o", str(out)],
                                capture_output=True, text=True, env=village.env(), timeout=120)
        assert filled.returncode == 0, filled.stderr
        ws = load_workbook(out)["表1"]
        row = next(c.row for c in ws["B"] if c.value == "志愿服务队伍数")
        assert ws.cell(row, 4).value == 1 and ws["A2"].value == "填报单位（盖章）：幸福村"

        # the same report over the county database, for the village's township (its data arrived by sync)
        village.sync()
        at_county = tmp_path / "county.xlsx"
        done = server_cli(county, "fill", "南关区志愿服务月报", "--org", VILLAGE[:9] + "000",
                          "--period", f"{today:%Y-%m}", "-o", str(at_county))
        assert "已填 14 个数字" in done.stdout
        ws = load_workbook(at_county)["表1"]
        assert ws.cell(row, 4).value == 1 and ws["A2"].value == "填报单位（盖章）：永吉街道"
        missing = server_cli(county, "fill", "南关区志愿服务月报", "--period", f"{today:%Y-%m}", "-o",
                             str(at_county), check=False)
        assert missing.returncode != 0 and "请用 --org 指定区划代码" in missing.stderr

        server_cli(county, "fill", "withdraw", "南关区志愿服务月报")
        village.sync()
        assert "南关区志愿服务月报" not in {e.name for e in all_templates(village.engine)}
    finally:
        village.close()



def test_published_template_reaches_a_village_without_network_by_its_receipt(server, tmp_path):
    """The offline path: the village's package goes to the county on a USB stick; the receipt that comes
    back carries the county's catalogue, signed with the rest of the receipt."""
    from county_server.cmd_packages import import_package
    from county_server.signing import server_key
    from reports.fill.library import publish
    from sync import package as PK
    from tests.test_packages_server import village_pc
    from tests.test_periods import VILLAGE as TEST_VILLAGE, fill_month

    repo, key = village_pc(tmp_path, "cun", TEST_VILLAGE, server)
    fill_month(repo, services=2)
    publish(server.repo, county_template(tmp_path))
    data, _pkg = PK.build_package(repo, key, org_code=TEST_VILLAGE, org_name="测试村")
    receipt = PK.read_receipt(import_package(server, data).receipt.to_bytes())
    assert set(receipt.report_templates) == {"南关区志愿服务月报"}

    tampered = PK.read_receipt(receipt.to_bytes())
    tampered.report_templates = {}
    with pytest.raises(PK.PackageError, match="回执的签名不对"):
        PK.apply_receipt(repo, tampered, PK.server_receipt_key(repo))
    assert "南关区志愿服务月报" not in {e.name for e in all_templates(repo.engine)}

    PK.apply_receipt(repo, receipt, PK.server_receipt_key(repo))
    entry = next(e for e in all_templates(repo.engine) if e.name == "南关区志愿服务月报")
    assert entry.origin == PUBLISHED
    # a receipt from a server that sends no catalogue leaves the village's catalogue alone
    older = PK.read_receipt(receipt.to_bytes())
    older.report_templates = None
    older.sign(server_key(server))
    PK.apply_receipt(repo, older, PK.server_receipt_key(repo))
    assert "南关区志愿服务月报" in {e.name for e in all_templates(repo.engine)}
    repo.engine.dispose()
