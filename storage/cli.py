"""Core subcommands of ``taizhang`` (no Qt): demo data, information about the data directory."""

from __future__ import annotations

import argparse
import sys

from storage import local
from storage.db import default_db_path, open_database


class UserError(RuntimeError):
    """An error the user can fix; its message is Chinese and is printed without a traceback."""


def run_command(func, args, *, logger: str, unexpected: str) -> int:
    """Run a subcommand for either CLI: exit 0 on success; on failure a Chinese message and exit 1.

    Errors that already carry a Chinese message for the user are printed as they are; anything else
    is logged with its traceback and reported as ``unexpected`` (what to do next).
    """
    from storage.db import DatabaseError
    from storage.logsafe import mask_pii
    from storage.repository import WriteRefused
    from storage.validation import ValidationError

    try:
        return int(func(args) or 0)
    except KeyboardInterrupt:
        print("已取消。", file=sys.stderr)
        return 130
    except (UserError, DatabaseError, WriteRefused, ValidationError) as exc:
        print(mask_pii(f"错误：{exc}"), file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - every failure becomes a Chinese message and exit 1
        import logging

        from sqlalchemy.exc import OperationalError

        if isinstance(exc, OperationalError):  # the commonest fault: PostgreSQL not running, a wrong --db
            # one Chinese line on the terminal (storage.console_log adds where the database's own text is)
            logging.getLogger(logger).error(
                "数据库无法使用（连接不上、被占用或无法打开），命令没有执行。请确认数据库服务正在运行，"
                "--db（或 TAIZHANG_DB_URL）中的地址、端口和用户正确", exc_info=True)
            return 1
        logging.getLogger(logger).exception("unexpected error")
        # The database's own error text may quote a value (PostgreSQL's "Key (…)=(…)"): masked too.
        print(mask_pii(f"{unexpected}（{type(exc).__name__}: {exc}）"), file=sys.stderr)
        return 1


def open_repository(actor: str | None = None):
    """The local repository for the current data directory (creating or upgrading the DB)."""
    from storage.repository import Repository

    engine = open_database()
    repo = Repository(engine, actor=actor or "本机用户")
    repo.device_id = local.device_id(repo)
    user = repo.get_setting("user")
    if user and actor is None:
        repo.actor = user
    if actor is None and not local.is_demo(repo):
        from storage import operators

        operators.start_of_day(repo)  # the one member of staff, or TAIZHANG_OPERATOR
    return repo


def _demo(args) -> int:
    from storage.demo import fill_demo

    repo = open_repository()
    ident = local.identity(repo)
    if ident and not ident.demo:
        raise UserError(f"当前数据目录已是“{ident.org_name}”的正式台账，不能写入演示数据。"
                        "请设置环境变量 TAIZHANG_HOME 指向另一个目录后再运行。")
    if ident and ident.demo and repo.count("org_year", org_code=ident.org_code):
        raise UserError(f"当前数据目录（{default_db_path().parent}）已有演示数据，不再重复生成。"
                        "如要重新生成，请先删除该目录，或把环境变量 TAIZHANG_HOME 指向一个新目录。")
    written = fill_demo(repo, records=args.records, seed=args.seed,
                        progress=lambda n: print(f"\r已写入 {n} 条", end="", file=sys.stderr))
    print(file=sys.stderr)
    print(f"演示村已生成：{written} 条记录，数据库 {default_db_path()}")
    return 0


def _info(args) -> int:
    from storage.db import current_revision, head_revision

    repo = open_repository()
    ident = local.identity(repo)
    print(f"数据库: {default_db_path()}")
    print(f"数据库版本: {current_revision(repo.engine)} (程序支持 {head_revision()})")
    print(f"本机单位: {ident.org_name + ' ' + ident.org_code if ident else '尚未设置'}")
    print(f"演示数据: {'是' if ident and ident.demo else '否'}")
    print(f"未上传变更: {repo.unsent_count()}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="生成演示村数据（培训、截图、性能测试用，永不同步）")
    p.add_argument("--records", type=int, default=1000, help="服务记录条数（另含设施、人员、志愿者等）")
    p.add_argument("--seed", type=int, default=2024, help="随机种子（相同种子生成相同数据）")
    p.set_defaults(func=_demo)
    p = sub.add_parser("info", help="显示数据目录、数据库版本和未上传变更数")
    p.set_defaults(func=_info)
