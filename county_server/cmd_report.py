"""``taizhang-server report``: the same 达标 report over the county database, same engine."""

from __future__ import annotations

import argparse


def _report(args) -> int:
    from reports.cli import run_report
    from storage.db import open_server_database
    from storage.repository import Repository

    engine = open_server_database(args.db)
    try:
        return run_report(engine, Repository(engine, actor="县级服务器"), args, None)
    finally:
        engine.dispose()


def register(sub: argparse._SubParsersAction) -> None:
    from reports.cli import add_report_arguments

    p = sub.add_parser("report", help="按县级数据库生成年度指标达标报告（Excel 或 PDF，按 -o 的扩展名）",
                       description="示例：taizhang-server report --year 2024 --profile 正宁县 --org 220112000000 -o 达标报告.xlsx")
    add_report_arguments(p, org_required=True)
    p.set_defaults(func=_report)
