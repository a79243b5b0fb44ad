"""argparse in Simplified Chinese: ``用法：``, ``选项``, ``显示本帮助并退出`` and Chinese error messages.

argparse looks every text it prints up through gettext (``argparse._`` / ``argparse.ngettext``).
:class:`ChineseArgumentParser` answers those look-ups from :data:`MESSAGES` while it builds itself,
parses, prints help or reports an error; subcommand parsers are made of the same class.  A message
missing from the table (a newer Python's wording) stays English rather than failing.
"""

from __future__ import annotations

import argparse
import contextlib
import threading

MESSAGES = {
    "usage: ": "用法：",
    "options": "选项",
    "positional arguments": "位置参数",
    "show this help message and exit": "显示本帮助并退出",
    "show program's version number and exit": "显示版本号并退出",
    "%(prog)s: error: %(message)s\n": "%(prog)s：错误：%(message)s\n（加 -h 查看用法）\n",
    "the following arguments are required: %s": "缺少必填参数：%s",
    "unrecognized arguments: %s": "无法识别的参数：%s",
    "argument %(argument_name)s: %(message)s": "参数 %(argument_name)s：%(message)s",
    "invalid choice: %(value)r (choose from %(choices)s)": "无效的选项 %(value)r（可选：%(choices)s）",
    "invalid %(type)s value: %(value)r": "%(value)r 不是有效的值（应为 %(type)s）",
    "expected one argument": "需要一个值",
    "expected at most one argument": "最多只能有一个值",
    "expected at least one argument": "至少需要一个值",
    "expected %s argument": "需要 %s 个值",
    "expected %s arguments": "需要 %s 个值",
    "not allowed with argument %s": "不能与参数 %s 同时使用",
    "one of the arguments %s is required": "参数 %s 必须给出其中之一",
    "ambiguous option: %(option)s could match %(matches)s": "选项 %(option)s 不明确，可能是：%(matches)s",
    "ignored explicit argument %r": "多余的值 %r 已忽略",
}

# What the usage line shows for an argument's value when its definition names none (argparse would
# show the English dest: ``--period PERIOD``, ``file``); any other takes 值.
METAVARS = {
    "file": "文件", "files": "文件", "output": "输出位置", "out": "输出位置", "receipt": "回执文件",
    "receipt_key": "密钥文件", "ca_file": "证书文件", "ssl_certfile": "证书文件", "ssl_keyfile": "私钥文件",
    "columns": "列设置文件", "report_dir": "文件夹", "template": "模板", "target": "模板",
    "period": "月份", "year": "年份", "months": "月数", "org": "区划代码", "scope": "区划代码", "county": "区划代码",
    "name": "用户名", "user": "用户名", "role": "角色", "roles": "角色", "actor": "操作人", "filler": "填报人",
    "server": "服务器地址", "db": "数据库地址", "host": "地址", "port": "端口", "address": "地址",
    "id": "编号", "device_id": "设备编号", "records": "条数", "limit": "条数", "seed": "种子", "workers": "进程数",
    "timeout": "秒数", "retries": "次数", "backoff": "秒数", "purpose": "用途", "profile": "方案",
    "holidays": "日期", "workdays": "日期", "width": "宽度", "height": "高度",
}

_lock = threading.RLock()


def _gettext(message: str) -> str:
    return MESSAGES.get(message, message)


def _ngettext(singular: str, plural: str, n: int) -> str:
    return _gettext(singular if n == 1 else plural)


@contextlib.contextmanager
def chinese():
    """argparse's message look-ups answer in Chinese inside this block."""
    with _lock:
        saved = argparse._, argparse.ngettext
        argparse._, argparse.ngettext = _gettext, _ngettext
        try:
            yield
        finally:
            argparse._, argparse.ngettext = saved


class ChineseArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage line, group titles, help and error messages are in Chinese."""

    def __init__(self, *args, **kwargs):
        with chinese():
            super().__init__(*args, **kwargs)

    def add_argument(self, *args, **kwargs):
        if kwargs.get("action") == "version" and "help" not in kwargs:
            kwargs["help"] = MESSAGES["show program's version number and exit"]
        with chinese():
            action = super().add_argument(*args, **kwargs)
        if action.metavar is None and action.nargs != 0 and action.choices is None:
            action.metavar = METAVARS.get(action.dest, "值")
        return action

    def add_subparsers(self, **kwargs):
        with chinese():
            return super().add_subparsers(**kwargs)

    def parse_args(self, args=None, namespace=None):
        with chinese():
            return super().parse_args(args, namespace)

    def parse_known_args(self, args=None, namespace=None):
        with chinese():
            return super().parse_known_args(args, namespace)

    def format_usage(self):
        with chinese():
            return super().format_usage()

    def format_help(self):
        with chinese():
            return super().format_help()

    def error(self, message):
        with chinese():
            super().error(message)


__all__ = ["ChineseArgumentParser", "MESSAGES", "METAVARS", "chinese"]
