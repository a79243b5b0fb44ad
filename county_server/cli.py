"""``taizhang-server``: the county server and its admin commands.

``--db URL`` (or ``TAIZHANG_DB_URL``) selects the database for every
subcommand: SQLite by default (a file in the data directory), PostgreSQL with
a ``postgresql://`` URL.  Subcommands come from modules with ``register(sub)``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from county_server import serverlog
from storage.argparse_zh import ChineseArgumentParser
from storage.cli import run_command
from storage.logsafe import install_pii_masking

COMMAND_MODULES: list[str] = ["county_server.cmd_serve", "county_server.cmd_admin", "county_server.cmd_packages", "county_server.cmd_import", "county_server.cmd_report", "county_server.cmd_calendar", "county_server.cmd_fill"]


def default_db_url() -> str:
    from storage.db import data_dir

    return f"sqlite:///{data_dir() / 'county.sqlite3'}"


def build_parser() -> argparse.ArgumentParser:
    from storage import __version__

    parser = ChineseArgumentParser(prog="taizhang-server", description="社区服务台账县级服务器")
    parser.add_argument("--version", action="version", version=f"社区服务台账服务器 {__version__}")
    parser.add_argument("--db", default=os.environ.get("TAIZHANG_DB_URL"),
                        help="数据库地址：sqlite:///路径 或 postgresql://用户@主机/库（默认：数据目录中的 county.sqlite3；"
                             "也可用环境变量 TAIZHANG_DB_URL）")
    parser.add_argument("--receipt-key", default=None, metavar="密钥文件",
                        help="回执签名密钥文件（仅服务器系统用户可读，首次使用时自动生成；默认：数据目录中的 "
                             "receipt-signing-key.pem；也可用环境变量 TAIZHANG_RECEIPT_KEY）。多个服务器进程须用同一文件")
    sub = parser.add_subparsers(dest="command", metavar="子命令", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.db = args.db or default_db_url()
    root_level = logging.getLogger().level
    # the terminal: Chinese lines (warnings up, or serve --log-level); <数据目录>/logs/county-server.log: everything
    serverlog.setup(getattr(args, "log_level", "warning"), rotate=args.command == "serve" and args.workers == 1)
    install_pii_masking()  # every log line and uncaught traceback of this process is masked
    try:
        return run_command(args.func, args, logger="taizhang-server",
                           unexpected="服务器出错，详细信息已写入日志，请联系县民政局信息管理员")
    finally:
        serverlog.teardown()  # (a command called in-process leaves the caller's logging as it was)
        logging.getLogger().setLevel(root_level)


if __name__ == "__main__":
    sys.exit(main())
