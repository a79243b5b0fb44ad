"""What a new user meets first, as real processes: the README's sample 区划 workbook loads, a column
the loader does not know is refused (never dropped), and the terminal speaks Chinese (argparse's
usage/options/errors, no English log lines on a first start)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from county_server.cmd_admin import parse_org_rows, read_org_rows
from storage.cli import UserError

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "docs" / "examples" / "区划示例.xlsx"
SERVER = [sys.executable, "-c", "import sys; from county_server.cli import main; sys.exit(main())"]
APP = [sys.executable, "-c", "import sys; from desktop.cli import main; sys.exit(main())"]
ENGLISH_LOG_LINE = re.compile(r"^(INFO|WARNING|ERROR|DEBUG|CRITICAL)\b|usage:|options:|error:", re.M)


def run(cmd: list[str], *args: str, home: Path, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, TAIZHANG_HOME=str(home), PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring")
    return subprocess.run([*cmd, *args], input=stdin, text=True, capture_output=True, timeout=120, env=env, cwd=ROOT)


def test_the_readme_sample_workbook_loads(tmp_path):
    units = {u["org_code"]: u for u in parse_org_rows(read_org_rows(SAMPLE))}
    assert len(units) == 7
    assert units["220102002002"]["relocation"] is True  # the 是 under the header 易地搬迁安置
    assert units["220102001001"]["relocation"] is False and units["220102001001"]["urban_rural"] == "农村社区"
    db = f"sqlite:///{tmp_path / 'county.sqlite3'}"
    result = run(SERVER, "--db", db, "admin", "load-orgs", str(SAMPLE), home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "新增 7 个" in result.stdout
    assert not ENGLISH_LOG_LINE.search(result.stderr), result.stderr


@pytest.mark.parametrize("header", ["易地搬迁安置", "易地扶贫搬迁集中安置社区", "易地搬迁安置社区", "relocation"])
def test_every_relocation_header_is_read(header):
    rows = [["区划代码", "名称", "城乡分类", header], ["220102000000", "南关区", "", ""],
            ["220102001000", "永吉街道", "", ""], ["220102001001", "新居社区", "城市社区", "是"]]
    assert parse_org_rows(rows)[-1]["relocation"] is True


def test_an_unknown_column_is_refused_not_dropped():
    rows = [["区划代码", "名称", "城乡分类", "易地搬迁安置点"], ["220102001001", "新居社区", "城市社区", "是"]]
    with pytest.raises(UserError) as refused:
        parse_org_rows(rows)
    message = str(refused.value)
    assert "无法识别的列：易地搬迁安置点" in message and "易地搬迁安置" in message and "城乡分类" in message


def test_a_missing_relocation_column_is_refused_when_villages_are_listed():
    rows = [["区划代码", "名称", "城乡分类"], ["220102000000", "南关区", ""], ["220102001000", "永吉街道", ""],
            ["220102001001", "新居社区", "城市社区"]]
    with pytest.raises(UserError) as refused:
        parse_org_rows(rows)
    assert "缺少“易地搬迁安置”列" in str(refused.value) and "第4行" in str(refused.value)
    # a file of the county and its townships alone needs no such column
    assert len(parse_org_rows(rows[:3])) == 2


def test_load_orgs_refuses_an_unknown_column_and_writes_nothing(tmp_path):
    bad = tmp_path / "区划.csv"
    bad.write_text("区划代码,名称,城乡分类,搬迁\n220102000000,南关区,,\n", encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'county.sqlite3'}"
    result = run(SERVER, "--db", db, "admin", "load-orgs", str(bad), home=tmp_path)
    assert result.returncode != 0 and "无法识别的列：搬迁" in result.stderr
    again = run(SERVER, "--db", db, "admin", "load-orgs", str(SAMPLE), home=tmp_path)
    assert "新增 7 个" in again.stdout  # nothing was written by the refused file


def test_argparse_speaks_chinese(tmp_path):
    helped = run(SERVER, "admin", "load-orgs", "--help", home=tmp_path)
    assert helped.returncode == 0
    assert helped.stdout.startswith("用法：taizhang-server admin load-orgs") and "选项" in helped.stdout
    assert "显示本帮助并退出" in helped.stdout and not ENGLISH_LOG_LINE.search(helped.stdout)
    wrong = run(SERVER, "admin", "add-user", "x", "--role", "boss", "--org", "220102001001", home=tmp_path)
    assert wrong.returncode == 2
    assert "错误：参数 --role：无效的选项 'boss'" in wrong.stderr and not ENGLISH_LOG_LINE.search(wrong.stderr)
    unknown = run(APP, "--no-such-option", home=tmp_path)
    assert unknown.returncode == 2 and "无法识别的参数：--no-such-option" in unknown.stderr
    assert "显示版本号并退出" in run(APP, "--help", home=tmp_path).stdout


def test_first_start_prints_no_english_log_lines(tmp_path):
    """The app's first start on a new data directory (alembic creates the database and logs a dozen
    INFO lines, the log file is opened, the font chosen): the terminal shows none of it."""
    env_home = tmp_path / "home"
    started = subprocess.run([*APP], text=True, capture_output=True, timeout=120, cwd=ROOT,
                             env=dict(os.environ, TAIZHANG_HOME=str(env_home), TAIZHANG_SELF_TEST="1",
                                      QT_QPA_PLATFORM="offscreen",
                                      PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring"))
    assert "TAIZHANG_SELF_TEST dialog" in started.stdout, started.stdout + started.stderr
    assert not ENGLISH_LOG_LINE.search(started.stderr), started.stderr
    assert "alembic" not in started.stderr
    # the lines are not lost: they are in the log file, for the administrator
    assert "alembic" in (env_home / "logs" / "taizhang.log").read_text(encoding="utf-8")


def every_parser(parser):
    yield parser
    for action in parser._actions:
        for sub in (getattr(action, "choices", None) or {}).values() if hasattr(action, "_name_parser_map") else ():
            yield from every_parser(sub)


def test_every_usage_line_names_its_values_in_chinese():
    """``--period 月份``, ``文件``: no argument of either command line shows its English name (PERIOD, file)."""
    from county_server.cli import build_parser as server_parser
    from desktop.cli import build_parser as app_parser

    chinese = re.compile(r"[\u4e00-\u9fff]")
    parsers = [p for build in (app_parser, server_parser) for p in every_parser(build())]
    assert len(parsers) > 40  # every subcommand, admin's nested ones too
    english = [(p.prog, a.dest, a.metavar) for p in parsers for a in p._actions
               if a.nargs != 0 and a.choices is None and not chinese.search(str(a.metavar))]
    assert not english, english
    for p in parsers:
        assert not re.search(r"\b[A-Z][A-Z_]{2,}\b", p.format_usage()), p.format_usage()
