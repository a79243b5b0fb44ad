"""The two console commands, end to end as real processes: help, demo data, info, refusals."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from storage.db import head_revision  # noqa: E402

BIN = Path(sys.executable).parent


def run(cmd: str, *args: str, home: Path, timeout: int = 120) -> subprocess.CompletedProcess:
    exe = BIN / cmd
    if not exe.exists():
        pytest.fail(f"{exe} is missing: the package is not installed (pip install -e .)")
    env = dict(os.environ, TAIZHANG_HOME=str(home), PYTHONIOENCODING="utf-8")
    env.pop("TAIZHANG_DB_URL", None)
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=timeout, env=env)


def test_taizhang_help(taizhang_home):
    result = run("taizhang", "--help", home=taizhang_home)
    assert result.returncode == 0, result.stderr
    assert "社区服务台账" in result.stdout
    for sub in ("demo", "info", "gui"):
        assert sub in result.stdout
    assert "生成演示村数据" in result.stdout


def test_taizhang_server_help(taizhang_home):
    result = run("taizhang-server", "--help", home=taizhang_home)
    assert result.returncode == 0, result.stderr
    assert "县级服务器" in result.stdout and "--db" in result.stdout


def test_version(taizhang_home):
    from storage import __version__

    result = run("taizhang", "--version", home=taizhang_home)
    assert result.returncode == 0 and result.stdout.strip() == f"社区服务台账 {__version__}"


def test_demo_then_info(taizhang_home):
    result = run("taizhang", "demo", "--records", "200", home=taizhang_home)
    assert result.returncode == 0, result.stderr
    assert "演示村已生成" in result.stdout
    db = taizhang_home / "taizhang.sqlite3"
    assert db.exists()

    info = run("taizhang", "info", home=taizhang_home)
    assert info.returncode == 0, info.stderr
    assert f"数据库: {db}" in info.stdout
    assert f"数据库版本: {head_revision()} (程序支持 {head_revision()})" in info.stdout
    assert "本机单位: 幸福村（演示数据） 220102001001" in info.stdout
    assert "演示数据: 是" in info.stdout

    # what the demo wrote, read back through the repository
    from storage import local
    from storage.db import open_database
    from storage.repository import Repository
    from storage.schema import RECORD_TYPES
    from storage.validation import check_id_number

    engine = open_database(db)
    try:
        repo = Repository(engine)
        assert local.is_demo(repo)
        assert repo.count("service", org_code="220102001001") == 200
        for name in RECORD_TYPES:
            if name not in ("period", "disclosure"):
                assert repo.count(name) > 0, name
        staff = repo.list("staff")
        assert all(check_id_number(s["id_number"]) == [] for s in staff)
        assert any(s["name"] and all("\u4e00" <= ch <= "\u9fff" for ch in s["name"]) for s in staff)
        total = sum(repo.count(n) for n in RECORD_TYPES)
        assert f"未上传变更: {total}" in info.stdout  # one change-log row per record written
        assert f"演示村已生成：{total} 条记录" in result.stdout
    finally:
        engine.dispose()

    again = run("taizhang", "demo", "--records", "10", home=taizhang_home)
    assert again.returncode == 1
    assert "已有演示数据，不再重复生成" in again.stderr and "Traceback" not in again.stderr


def test_demo_refuses_a_real_ledger(taizhang_home):
    from storage import local
    from storage.db import open_database
    from storage.repository import Repository

    engine = open_database(taizhang_home / "taizhang.sqlite3")
    local.set_identity(Repository(engine), "220102001001", "幸福村", demo=False)
    engine.dispose()
    before = (taizhang_home / "taizhang.sqlite3").stat().st_size

    result = run("taizhang", "demo", "--records", "50", home=taizhang_home)
    assert result.returncode == 1
    assert result.stderr.strip() == ("错误：当前数据目录已是“幸福村”的正式台账，不能写入演示数据。"
                                     "请设置环境变量 TAIZHANG_HOME 指向另一个目录后再运行。")
    engine = open_database(taizhang_home / "taizhang.sqlite3")
    try:
        repo = Repository(engine)
        assert repo.count("service") == 0 and repo.count("org_unit") == 0
        assert not local.is_demo(repo)
    finally:
        engine.dispose()
    assert (taizhang_home / "taizhang.sqlite3").stat().st_size >= before


def test_info_on_an_empty_data_directory(taizhang_home):
    result = run("taizhang", "info", home=taizhang_home)
    assert result.returncode == 0, result.stderr
    assert "本机单位: 尚未设置" in result.stdout and "未上传变更: 0" in result.stdout


def test_conflicts_lists_refused_changes_masked_and_dismiss_removes_one(taizhang_home):
    """taizhang conflicts shows each refused change with its content (masked); --dismiss marks one dealt with."""
    import json

    from storage.db import open_database
    from storage.models import SyncRejection, new_id, utcnow

    engine = open_database(taizhang_home / "taizhang.sqlite3")
    ids = [new_id(), new_id()]
    with engine.begin() as conn:  # as sync.client keeps a refusal
        for rid, name in zip(ids, ("张伟", "李娜")):
            conn.execute(SyncRejection.__table__.insert().values(
                id=rid, change_id=new_id(), record_type="staff", record_id=new_id(), org_code="220102001002",
                op="insert", reason="区划代码220102001002不在本账号的范围内",
                payload=json.dumps({"name": name, "id_number": "110105194912310029", "org_code": "220102001002"},
                                   ensure_ascii=False), at=utcnow()))
    engine.dispose()
    listed = run("taizhang", "conflicts", home=taizhang_home)
    assert listed.returncode == 0, listed.stderr
    assert "被服务器拒绝的修改：2 条" in listed.stdout and "姓名：张伟" in listed.stdout
    assert "110105********0029" in listed.stdout and "194912310029" not in listed.stdout
    assert ids[0][:8] in listed.stdout
    done = run("taizhang", "conflicts", "--dismiss", ids[0][:8], home=taizhang_home)
    assert done.returncode == 0, done.stderr
    assert "已标记为处理完毕" in done.stdout and "张伟" in done.stdout
    after = run("taizhang", "conflicts", home=taizhang_home)
    assert "被服务器拒绝的修改：1 条" in after.stdout and "张伟" not in after.stdout and "李娜" in after.stdout
    unknown = run("taizhang", "conflicts", "--dismiss", "ffffffff", home=taizhang_home)
    assert unknown.returncode != 0 and "没有唯一以“ffffffff”开头的被拒绝修改" in unknown.stderr
