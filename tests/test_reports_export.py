"""Plan profiles (files, custom, import/export), the Excel report, and both CLIs."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from openpyxl import load_workbook

from reports.excel import write_report
from reports.profiles import (INDICATOR_IDS, ProfileError, builtin_profiles, export_profile, find_profile,
                              import_profile, profile_from_dict, save_custom_profile)
from reports.report import build_report
from tests.fixtures.county import CODES, COUNTY, YEAR, build_county


def test_builtin_profiles_quote_their_plans():
    profiles = builtin_profiles()
    assert [p.name for p in profiles] == ["国家", "吉林省", "沈阳市", "商丘市", "正宁县"]
    for p in profiles:
        assert set(p.targets) == set(INDICATOR_IDS), p.name
        assert p.source and all(t.quote for t in p.targets.values()), p.name
    zn = find_profile("正宁县")
    assert zn.target("I1").value == 80 and zn.target("I8").value == 100 and not zn.target("I9").has_target
    sy = find_profile("沈阳市")
    assert sy.target("I4").value == 40 and sy.target("I6").value == 80 and sy.target("I10").params == {
        "min_households": 500}
    assert find_profile("商丘市").target("I4").op == ">"
    assert "93%" in find_profile("商丘市").target("I1").quote


def test_custom_profile_save_export_import(repo, tmp_path):
    base = find_profile("吉林省").to_dict()
    base["name"] = "本县2025方案"
    base["source"] = "县民政局自定"
    base["targets"]["I4"] = {"op": ">=", "value": 35, "text": "≥35 m²", "quote": "县里定的"}
    custom = profile_from_dict(base)
    save_custom_profile(repo, custom)
    assert find_profile("本县2025方案", repo).target("I4").value == 35
    path = tmp_path / "方案.json"
    export_profile(custom, path)
    again = import_profile(path)
    assert again.name == "本县2025方案" and again.target("I4").value == 35 and again.target("I9").op is None
    assert find_profile(str(path)).name == "本县2025方案"
    with pytest.raises(ProfileError, match="内置方案"):
        save_custom_profile(repo, find_profile("国家"))


@pytest.mark.parametrize("content, message", [
    ("not json", "不是有效的 JSON"),
    (json.dumps({"targets": {}}), "缺少方案名称"),
    (json.dumps({"name": "x", "targets": {"I99": {"op": ">="}}}), "未知的指标编号“I99”"),
    (json.dumps({"name": "x", "targets": {"I1": {"op": "≈", "value": 1}}}), "比较方式"),
    (json.dumps({"name": "x", "targets": {"I1": {"op": ">=", "value": "很多"}}}), "不是数字"),
])
def test_bad_profile_files(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ProfileError, match=message):
        import_profile(path)


@pytest.fixture
def county_repo(repo):
    build_county(repo)
    return repo


def test_excel_report(county_repo, tmp_path):
    report = build_report(county_repo.engine, COUNTY, YEAR, find_profile("沈阳市"))
    path = write_report(report, tmp_path / "out" / "达标报告.xlsx")
    wb = load_workbook(path)
    assert wb.sheetnames == ["封面", "指标", "各单位指标", "达标检查", "培训到期", "探访名单", "数据质量"]
    cover = {r[0]: r[1] for r in wb["封面"].iter_rows(min_row=3, values_only=True) if r[0]}
    assert cover["单位"] == "示范县（220112000000）" and cover["年度"] == "2024年" and cover["指标方案"] == "沈阳市"
    rows = {r[0]: r for r in wb["指标"].iter_rows(min_row=3, values_only=True)}
    # I4: 8830 m² over 18100/100 → 48.8
    assert rows["I4"][2] == 8830 and rows["I4"][3] == 181 and rows["I4"][4] == 48.8 and rows["I4"][7] == "✓ 达标"
    assert rows["I8"][6] == "无目标值" and rows["I8"][7] == "无目标值"
    assert rows["I1"][7] == "✗ 未达标" and "农村社区综合服务设施覆盖率" in rows["I1"][10]
    # R3 has no 综合服务设施: 9 of 10 rural villages, 沈阳 asks 100%
    assert rows["I1"][8] == "还差 1个农村社区（有在用综合服务设施的农村社区数需达到 10）" and rows["I4"][8] is None
    fill = {r[0].value: r[7].fill.fgColor.rgb for r in wb["指标"].iter_rows(min_row=3)}
    assert fill["I4"].endswith("C6EFCE") and fill["I1"].endswith("FFC7CE")  # colour and text mark
    units = list(wb["各单位指标"].iter_rows(min_row=3, values_only=True))
    assert len(units) == 3 + 22
    gaps = [r[6] for r in wb["达标检查"].iter_rows(min_row=3, values_only=True)]
    assert "综合服务设施建筑面积 280 m²，农村标准 ≥ 350 m²，差 70 m²" in gaps
    quality = [r[4] for r in wb["数据质量"].iter_rows(min_row=3, values_only=True)]
    assert len(quality) == 8 and any("220112********" in q for q in quality)


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice 未安装（test.sh 会安装）")
def test_excel_report_opens_in_libreoffice(county_repo, tmp_path):
    report = build_report(county_repo.engine, CODES["U1"], YEAR, find_profile("国家"))
    path = write_report(report, tmp_path / "u1.xlsx")
    out = tmp_path / "csv"
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/lo", "--convert-to",
                    "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,2", "--outdir",
                    str(out), str(path)], check=True, capture_output=True, timeout=180)
    text = (out / "u1-指标.csv").read_text(encoding="utf-8")
    assert "城市社区综合服务设施覆盖率" in text and "✓ 达标" in text


def test_taizhang_report_cli(county_repo, tmp_path, capsys):
    from desktop.cli import main

    out = tmp_path / "县.xlsx"
    assert main(["report", "--year", str(YEAR), "--profile", "正宁县", "--org", COUNTY, "-o", str(out)]) == 0
    assert "示范县 2024年（方案：正宁县）" in capsys.readouterr().out
    assert load_workbook(out)["封面"]["B6"].value == "正宁县"
    assert main(["report", "--year", str(YEAR), "--profile", "无此方案", "--org", COUNTY, "-o", str(out)]) == 1
    assert "没有名为“无此方案”的指标方案" in capsys.readouterr().err
    assert main(["report", "--year", str(YEAR), "--org", COUNTY]) == 1
    assert "请用 -o 指定输出文件" in capsys.readouterr().err
    assert main(["report", "--list-profiles"]) == 0
    assert "商丘市" in capsys.readouterr().out


def test_server_report_cli(county_repo, taizhang_home, tmp_path, capsys):
    from county_server.cli import main

    url = f"sqlite:///{taizhang_home / 'taizhang.sqlite3'}"
    out = tmp_path / "镇.xlsx"
    assert main(["--db", url, "report", "--year", str(YEAR), "--profile", "吉林省", "--org", "220112003000",
                 "-o", str(out)]) == 0
    wb = load_workbook(out)
    units = list(wb["各单位指标"].iter_rows(min_row=3, values_only=True))
    assert [u[1] for u in units] == ["R5村", "R6村", "R7村", "R8村", "R9村", "R10村"]
    assert main(["--db", url, "report", "--year", str(YEAR), "--org", "220112009009", "-o", str(out)]) == 1
    assert "没有区划代码为 220112009009" in capsys.readouterr().err
