"""The month-end and package commands, in-process through the real CLI entry points."""

from __future__ import annotations

import pytest

from storage import local
from storage import periods as P
from storage.cli import open_repository
from tests.test_periods import VILLAGE, fill_month


pytestmark = pytest.mark.usefixtures("insecure_keyring")  # see tests/conftest.py


def run(argv, capsys):
    from desktop.cli import main

    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_period_commands(capsys):
    repo = open_repository()
    local.set_identity(repo, VILLAGE, "幸福村")
    month = P.previous_period()
    code, out, _ = run(["period", "check", "--period", month], capsys)
    assert code == 1 and f"[×] {P.period_label(month)}的服务记录" in out
    code, _, err = run(["period", "submit", "--period", month], capsys)
    assert code == 1 and "还不能提交" in err
    fill_month(repo, org=VILLAGE, month=month)
    code, out, _ = run(["period", "submit", "--period", month], capsys)
    assert code == 0 and "已提交" in out
    code, out, _ = run(["period", "status", "--period", month], capsys)
    assert out.strip() == f"{P.period_label(month)}：已提交"
    code, _, err = run(["period", "status", "--period", "2024-13"], capsys)
    assert code == 1 and "格式不对" in err
    repo.engine.dispose()


def test_export_package_needs_a_signed_in_pc(capsys, tmp_path):
    repo = open_repository()
    local.set_identity(repo, VILLAGE, "幸福村")
    code, _, err = run(["export-package", "-o", str(tmp_path / "p.tzpkg")], capsys)
    assert code == 1 and "还没有登录过县级服务器" in err
    repo.set_setting("server_url", "http://127.0.0.1:9")
    repo.set_setting("user", "cun")
    code, _, err = run(["export-package", "-o", str(tmp_path / "p.tzpkg")], capsys)
    assert code == 1 and "没有能安全保存" in err and "不能导出离线数据包" in err
    assert not (tmp_path / "p.tzpkg").exists()
    code, _, err = run(["import-package", str(tmp_path / "none.tzpkg")], capsys)
    assert code == 1 and "无法读取数据包文件" in err
    repo.engine.dispose()


def test_server_board_command(tmp_path, capsys):
    from county_server.cli import main
    from storage.db import open_server_database
    from county_server.cmd_packages import server_state
    from tests.test_review_ui import county_tree

    url = f"sqlite:///{tmp_path / 'county.sqlite3'}"
    engine = open_server_database(url)
    state = server_state(engine)
    county_tree(state.repo)
    month = P.previous_period()
    fill_month(state.repo, org="220102001001", month=month)
    P.submit(state.repo, "220102001001", month)
    engine.dispose()
    out = tmp_path / "board.xlsx"
    assert main(["--db", url, "board", "--scope", "220102000000", "--months", "3", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "4 个村(社区)，报送率 25.0%" in text and out.exists()
    assert main(["--db", url, "board", "--scope", "12345", "-o", str(out)]) == 1
    assert "不是有效的12位区划代码" in capsys.readouterr().err
