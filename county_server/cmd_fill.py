"""``taizhang-server fill``: fill a report template over the county database; ``fill publish`` puts a
template in the county's catalogue (reaches townships and villages at their next sync)."""

from __future__ import annotations

import argparse


def _open(args):
    from storage.db import open_server_database
    from storage.repository import Repository

    engine = open_server_database(args.db)
    return engine, Repository(engine, actor="县级服务器")


def _fill(args) -> int:
    from reports.fill.cli import run_fill

    if args.template in ("publish", "withdraw"):  # taizhang-server fill publish 模板.xlsx
        return _publish(args)
    engine, repo = _open(args)
    try:
        return run_fill(engine, repo, args, None)
    finally:
        engine.dispose()


def _publish(args) -> int:
    from reports.fill.library import publish, withdraw
    from reports.fill.template import TemplateError
    from storage.cli import UserError

    if not args.target:
        raise UserError(f"请给出模板，例如：taizhang-server fill {args.template} 模板.xlsx")
    engine, repo = _open(args)
    try:
        if args.template == "withdraw":
            if not withdraw(repo, args.target):
                raise UserError(f"县级目录中没有名为“{args.target}”的模板")
            print(f"已撤下模板“{args.target}”，各乡镇、村(社区)下次同步后不再显示")
            return 0
        try:
            template = publish(repo, args.target)
        except TemplateError as exc:
            raise UserError(str(exc)) from None
        print(f"已发布《{template.name}》（{template.period_label}），各乡镇、村(社区)下次同步后即可使用")
        return 0
    finally:
        engine.dispose()


def register(sub: argparse._SubParsersAction) -> None:
    from reports.fill.cli import add_fill_arguments

    p = sub.add_parser("fill", help="按部门报表模板，从县级数据库生成报表；fill publish 发布模板（一表通）",
                       description="示例：taizhang-server fill 城乡社区服务设施情况统计表 --org 220112002000 "
                                   "--period 2024-Q3 -o 设施.xlsx；taizhang-server fill publish 模板.xlsx（发布到县级目录，"
                                   "乡镇、村下次同步后可用）；taizhang-server fill withdraw 模板名称（撤下）")
    add_fill_arguments(p, server=True)
    p.add_argument("target", nargs="?", help="publish/withdraw 时：模板 .xlsx 文件或模板名称")
    p.set_defaults(func=_fill)
