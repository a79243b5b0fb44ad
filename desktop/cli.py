"""``taizhang``: the village/township side.  No subcommand opens the desktop app.

Headless subcommands come from Qt-free modules (each has ``register(sub)``);
Qt is imported only when the app itself is launched.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import sys

from desktop.logging_setup import setup_console_logging, setup_logging, teardown_logging
from storage.argparse_zh import ChineseArgumentParser
from storage.cli import run_command
from storage.logsafe import install_pii_masking

COMMAND_MODULES = ["storage.cli", "storage.backup", "sync.cli", "sync.package_cli", "exchange.cli", "reports.cli", "reports.fill.cli"]


def build_parser() -> argparse.ArgumentParser:
    parser = ChineseArgumentParser(
        prog="taizhang", description="社区服务台账：村(社区)、乡镇的离线台账程序。不带子命令时打开桌面程序。")
    from storage import __version__

    parser.add_argument("--version", action="version", version=f"社区服务台账 {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="子命令")
    p = sub.add_parser("gui", help="打开桌面程序（默认）")
    p.set_defaults(func=_gui)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def _gui(args) -> int:
    from desktop import self_test
    from desktop.ui.app import run_app

    if self_test.requested():  # TAIZHANG_SELF_TEST=1: report the first window shown, then close
        self_test.install()
    return run_app()


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_console_logging()  # the terminal shows errors only, in Chinese; the rest goes to the log file
    install_pii_masking()  # every log line and uncaught traceback of this process is masked
    func = getattr(args, "func", _gui)
    with _log_file(func is not _gui):  # the app sets up its own log file
        return run_command(func, args, logger="taizhang", unexpected="程序出错，请把这段信息发给县民政局信息管理员")


@contextlib.contextmanager
def _log_file(wanted: bool):
    """A subcommand's full records go to <数据目录>/logs/taizhang.log (the terminal leaves them out); a
    subcommand called in-process leaves the caller's logging as it was."""
    if not wanted:
        yield
        return
    root_level = logging.getLogger().level
    try:
        setup_logging()
    except OSError as exc:  # an unwritable data directory: the subcommand itself says so in Chinese
        logging.getLogger("taizhang").debug("no log file: %s", exc)
    try:
        yield
    finally:
        teardown_logging()
        logging.getLogger().setLevel(root_level)


if __name__ == "__main__":
    sys.exit(main())
