"""Accounts at the county, end to end against a real server process: users, disable/enable (a disabled
account's token stops at its next request), reset-password (one-time, must be changed at sign-in),
devices NAME, ``taizhang passwd``, and the record of every admin action."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from sync.client import SyncError
from tests.serverproc import PASSWORD, ServerProcess, SyncTestClient, setup_county

pytestmark = pytest.mark.usefixtures("insecure_keyring")
CLI = [sys.executable, "-c", "import sys; from desktop.cli import main; sys.exit(main())"]


def test_account_commands_end_to_end(tmp_path):
    server = ServerProcess(f"sqlite:///{tmp_path / 'county.sqlite3'}", home=tmp_path / "server")
    with server:
        setup_county(server)
        pc = SyncTestClient(tmp_path / "clients", "pc", server.url, "cun")
        try:
            pc.sync()
            users = server.admin("users").stdout
            assert re.search(r"cun\s+村\(社区\)\s+220102001001\s+正常\s+\d{4}-\d\d-\d\d \d\d:\d\d\s+1", users), users
            assert re.search(r"zhen .*正常\s+-\s+0", users) and "共 4 个账号" in users
            assert len(server.admin("devices", "cun").stdout.splitlines()) == 2  # header + its one PC
            assert "还没有登录过任何电脑" in server.admin("devices", "zhen").stdout

            # disabled: the PC's token (held by this signed-in client) stops working at its very next request
            signed_in = pc.client()
            signed_in.login(PASSWORD)
            signed_in.sync()
            assert "已停用" in server.admin("disable", "cun").stdout
            with pytest.raises(SyncError, match="停用"):
                signed_in.sync()
            with pytest.raises(SyncError, match="停用"):
                pc.client().login(PASSWORD)
            assert "已停用" in server.admin("users").stdout
            server.admin("enable", "cun")
            pc.client().login(PASSWORD)
            assert server.admin("disable", "nobody", check=False).returncode == 1

            # reset-password: a one-time password that only sets a new one, through the real CLI
            out = server.admin("reset-password", "cun").stdout
            one_time = re.search(r"一次性密码：(\S+)", out).group(1)
            assert "待改密码" in server.admin("users").stdout
            env = dict(pc.env(), PYTHONIOENCODING="utf-8")

            def cli(*args, stdin):
                return subprocess.run([*CLI, *args], input=stdin, capture_output=True, text=True, env=env, timeout=120)

            with pytest.raises(SyncError, match="用户名或密码不正确"):
                pc.client().login(PASSWORD)  # the old password is gone
            with pytest.raises(SyncError, match="一次性密码"):
                pc.client().login(one_time)  # alone it signs nobody in
            result = cli("login", "--server", server.url, "--user", "cun", stdin=f"{one_time}\nshort\n")
            assert result.returncode == 1 and "至少需要8个字符" in result.stderr
            result = cli("login", "--server", server.url, "--user", "cun", stdin=f"{one_time}\nnew-mima-2024\n")
            assert result.returncode == 0, result.stderr
            assert "一次性密码" in result.stderr and "已登录" in result.stdout
            with pytest.raises(SyncError):
                pc.client().login(one_time)  # used up
            # taizhang passwd: one's own password, current then new
            result = cli("passwd", stdin="wrong-password\nnewer-mima-2025\n")
            assert result.returncode == 1 and "用户名或密码不正确" in result.stderr
            result = cli("passwd", stdin="new-mima-2024\nnewer-mima-2025\n")
            assert result.returncode == 0 and "密码已修改" in result.stdout, result.stderr
            pc.client().login("newer-mima-2025")
            assert "正常" in next(line for line in server.admin("users").stdout.splitlines() if line.startswith("cun "))

            audit = server.admin("audit").stdout.splitlines()
            actions = [line.split()[3] for line in audit]
            assert actions == ["change-password", "change-password", "reset-password", "enable", "disable"], audit
            assert all(line.split()[4] == "cun" for line in audit)
        finally:
            pc.close()
